package main

import "github.com/olekukonko/tablewriter/pkg/twwidth"

// tablewriter's width cache: its package initialisation allocates an LRU of
// 8,192 entries (0.66 MB), live for the whole process, which the garbage
// collector's headroom (GOGC=100) doubles: about 1.5 MiB of every process's
// peak RSS, a load run's included. gameday prints a few small tables per
// command, whose widths cost nothing to measure afresh. See
// TestStartupHeap.
func init() { twwidth.SetCacheCapacity(0) }
