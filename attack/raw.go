package attack

import (
	"fmt"
	"io"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// NewRawWriter returns a function writing vegeta results to w in vegeta's own
// encoding — "gob" (vegeta's default), "json" or "csv" — so that `vegeta
// report`, `vegeta plot` and `vegeta encode` read the file. Results carry the
// node in their X-Gameday-Node response header (gob, json) and error texts
// start with "gameday-node=IP: " when the node is known.
func NewRawWriter(w io.Writer, format string) (func(*vegeta.Result) error, error) {
	switch format {
	case "gob", "":
		return vegeta.NewEncoder(w), nil
	case "json":
		return vegeta.NewJSONEncoder(w), nil
	case "csv":
		return vegeta.NewCSVEncoder(w), nil
	}
	return nil, fmt.Errorf("raw results format %q: want gob, json or csv", format)
}
