// Package compare sets two run records side by side — each fault's recovery
// (matched by fault name) and each phase's figures (matched by phase name),
// with the absolute and relative change — and renders the comparison as a
// table or Markdown. Judging regression gates lives in package analysis
// (Judge here delegates to it), so the runner need not link the renderers.
// It reads only records, so any two saved runs can be compared.
package compare
