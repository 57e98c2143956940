package runner

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewRunID returns NAME-TIME-RANDOM: runs of one experiment started in the
// same second still get ids of their own (journal entries and resource
// tags carry it).
func NewRunID(name string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return name + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
