package timeline

import (
	"errors"
	"fmt"
)

// Merge adds every request counted in o into c. Merging is exact: counts,
// bytes, per-AZ counts and the three histograms end up equal to what
// counting both streams of requests into one Counts would have produced, so
// windows summarised on several load generators merge into the window one
// generator sending every request would have filled.
func (c *Counts) Merge(o *Counts) { c.merge(o) }

// Check reports whether c is internally consistent, as Counts built by Add
// and Merge always are: for Counts read from elsewhere (a worker's window
// summary) before they are merged. Requests is every class but aborted,
// Successes is class ok, the latency histograms hold one observation per
// request (per success), and per-AZ counts add up, under at most MaxAZs
// names (plus AZOther) of at most MaxAZName bytes.
func (c *Counts) Check() error {
	var nonAborted uint64
	for i, v := range c.Classes {
		if Classes[i] != ClassAborted {
			nonAborted += v
		}
	}
	var errs []error
	if c.Requests != nonAborted {
		errs = append(errs, fmt.Errorf("requests %d, classes other than aborted sum to %d", c.Requests, nonAborted))
	}
	if c.Successes != c.Classes.Get(ClassOK) {
		errs = append(errs, fmt.Errorf("successes %d, class ok %d", c.Successes, c.Classes.Get(ClassOK)))
	}
	if c.Latency.Count() != c.Requests {
		errs = append(errs, fmt.Errorf("latency histogram holds %d, requests %d", c.Latency.Count(), c.Requests))
	}
	if c.OKLatency.Count() != c.Successes || c.OKService.Count() != c.Successes {
		errs = append(errs, fmt.Errorf("ok histograms hold %d and %d, successes %d", c.OKLatency.Count(), c.OKService.Count(), c.Successes))
	}
	for name, m := range map[string]map[string]*AZCounts{"az": c.AZ, "target_az": c.TargetAZ} {
		if len(m) > MaxAZs+1 {
			errs = append(errs, fmt.Errorf("%s: %d names, more than %d", name, len(m), MaxAZs+1))
			continue
		}
		var n uint64
		for az, a := range m {
			if len(az) > MaxAZName {
				errs = append(errs, fmt.Errorf("%s: a name of %d bytes, longer than %d", name, len(az), MaxAZName))
				continue
			}
			if a == nil || a.Requests != a.Successes+a.Errors {
				errs = append(errs, fmt.Errorf("%s[%q]: requests ≠ successes + errors", name, az))
				continue
			}
			n += a.Requests
		}
		if n > c.Requests {
			errs = append(errs, fmt.Errorf("%s: %d requests, more than the window's %d", name, n, c.Requests))
		}
	}
	return errors.Join(errs...)
}

// MergeWindow adds c, a window summary counted elsewhere over the same
// window grid (same Start and Width), into window i. It refuses an index
// outside the timeline and inconsistent counts, and then changes nothing.
func (t *Timeline) MergeWindow(i int, c *Counts) error {
	if i < 0 || i >= MaxWindows {
		return fmt.Errorf("timeline: window %d outside 0..%d", i, MaxWindows-1)
	}
	if c == nil {
		return nil
	}
	if err := c.Check(); err != nil {
		return fmt.Errorf("timeline: window %d: %w", i, err)
	}
	t.window(i).merge(c)
	return nil
}

// AddOutside counts n results that fell outside the timeline elsewhere.
func (t *Timeline) AddOutside(n uint64) { t.outside += n }
