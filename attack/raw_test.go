package attack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestRawWriterRoundTripsThroughVegetaDecoders(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
		}
		io.WriteString(w, "hello")
	})
	refused := "http://" + closedPort(t) + "/"
	cfg := Config{
		Requests: []Request{{URL: s.URL + "/"}, {URL: s.URL + "/fail"}, {URL: refused}},
		Stages:   constant(300*time.Millisecond, 30),
		Timeout:  time.Second,
	}
	for _, format := range []string{"gob", "json", "csv"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			write, err := NewRawWriter(&buf, format)
			if err != nil {
				t.Fatal(err)
			}
			_, hits := run(t, context.Background(), cfg, 3*time.Second)
			for _, h := range hits {
				if err := write(h.Raw); err != nil {
					t.Fatal(err)
				}
			}
			dec := map[string]func(io.Reader) vegeta.Decoder{
				"gob": vegeta.NewDecoder, "json": vegeta.NewJSONDecoder, "csv": vegeta.NewCSVDecoder,
			}[format](&buf)
			var n, withNode, refusedWithNode int
			for {
				var r vegeta.Result
				if err := dec.Decode(&r); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("decode result %d: %v", n, err)
				}
				if !r.Equal(*hits[n].Raw) {
					t.Fatalf("result %d differs after decoding:\n%+v\n%+v", n, r, *hits[n].Raw)
				}
				if r.Headers.Get(NodeHeader) == "127.0.0.1" {
					withNode++
				}
				if bytes.HasPrefix([]byte(r.URL), []byte(refused)) && bytes.Contains([]byte(r.Error), []byte(nodeErrPrefix+"127.0.0.1: ")) {
					refusedWithNode++
				}
				n++
			}
			if n != len(hits) || withNode != 2*n/3 || refusedWithNode != n/3 {
				t.Fatalf("decoded %d of %d; %d with node header, %d refused with node prefix", n, len(hits), withNode, refusedWithNode)
			}
		})
	}
	if _, err := NewRawWriter(io.Discard, "xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
