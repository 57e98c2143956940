// Package procalive tells whether a process that wrote a journal entry or
// took a lease still runs on this machine, so no one undoes a live run's
// faults or takes its leases.
package procalive
