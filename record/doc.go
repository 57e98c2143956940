// Package record defines the run record: the versioned JSON document a run
// writes and every report renders. Times are offsets in seconds from the
// start of the load unless a field says otherwise.
package record
