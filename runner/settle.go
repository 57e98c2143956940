package runner

import "time"

// settleGrace is added to the request timeout before a window is taken as
// final online. The load generator bounds every hit's delivery by its due
// time + timeout (a request still running then is cancelled, a hit not
// started by then is delivered as not sent); the grace covers the few
// milliseconds between the deadline firing and the result reaching the
// timeline.
const settleGrace = 100 * time.Millisecond

// settleAfter is how long after a window's end it is final.
func settleAfter(timeout time.Duration) time.Duration { return timeout + settleGrace }
