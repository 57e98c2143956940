// Package inputfile reads files given on the command line (experiments, run
// records, journals) safely: only regular files, never more than a stated
// number of bytes, and without blocking on a FIFO or a device.
package inputfile
