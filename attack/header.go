package attack

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// headerText makes user text (the attack's name) safe as a header value:
// printable ASCII stays as it is, '%' and every other byte (control
// characters, non-ASCII UTF-8) become %XX. decodeHeaderText reverses it.
func headerText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func decodeHeaderText(s string) (string, error) { return url.PathUnescape(s) }

// headerProblems lists the header fields of target i that net/http would
// refuse to send (which would fail every request of the attack).
func headerProblems(i int, h http.Header) []error {
	var errs []error
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			errs = append(errs, fmt.Errorf("requests[%d].header[%q]: not a valid header name", i, k))
			continue
		}
		for _, v := range h[k] {
			if !httpguts.ValidHeaderFieldValue(v) {
				errs = append(errs, fmt.Errorf("requests[%d].header[%q]: %q is not a valid header value (no CR, LF or other control characters)", i, k, v))
			}
		}
	}
	return errs
}
