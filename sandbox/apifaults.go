package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gameday-dev/gameday/sandbox/awsapi"
)

// serveAPIFaults lets another process arm control-plane faults:
// GET lists the armed faults, POST adds one (a JSON object) or several (a
// JSON array), DELETE disarms them all.
func (s *Sandbox) serveAPIFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var list []awsapi.ErrorRule
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
			var one awsapi.ErrorRule
			err = json.Unmarshal(t, &one)
			list = []awsapi.ErrorRule{one}
		} else {
			err = json.Unmarshal(body, &list)
		}
		if err != nil {
			http.Error(w, "want a JSON fault object or array: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.apiErrors.Add(list...)
	case http.MethodDelete:
		s.apiErrors.Clear()
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.apiErrors.Active())
}
