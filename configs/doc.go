// Package configs holds target profiles as YAML: sandbox timing overrides and
// an example experiment for a real AWS account. It has no Go code beyond this
// comment; the files are read by `gameday run` and `gameday sandbox`.
package configs
