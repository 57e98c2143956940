// Package testutil holds the small helpers the project's tests share.
package testutil
