package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// LaunchFailureRequest arms a launch failure through the control endpoint
// (POST /_sandbox/launch-failures): the group's launches in AZs fail with
// InsufficientInstanceCapacity for Duration (a Go duration string, at most
// sim.MaxLaunchFailure). It is the sandbox's stand-in for AWS FIS's
// aws:ec2:asg-insufficient-instance-capacity-error, which no plain AWS API
// offers.
type LaunchFailureRequest struct {
	// ID names the failure ("" lets the sandbox pick one), so that a client
	// can disarm exactly its own even after a crash lost the answer.
	ID       string   `json:"id,omitempty"`
	Group    string   `json:"group"`
	AZs      []string `json:"azs"`
	Duration string   `json:"duration"`
	// Percent of the launches that fail, 1..100 (0: 100), as FIS's
	// percentage parameter.
	Percent int `json:"percent,omitempty"`
}

// serveLaunchFailures: GET lists the armed launch failures, POST arms one
// (a LaunchFailureRequest; answers the armed sim.LaunchFailure with its
// id), DELETE ?id=ID disarms one (404 when it is not armed: expired or
// unknown), DELETE without id disarms them all.
func (s *Sandbox) serveLaunchFailures(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.Method {
	case http.MethodGet:
		reply(http.StatusOK, s.region.LaunchFailures())
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req LaunchFailureRequest
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "want a JSON object {group, azs, duration}: "+err.Error(), http.StatusBadRequest)
			return
		}
		d, err := time.ParseDuration(req.Duration)
		if err != nil {
			http.Error(w, "duration: "+err.Error(), http.StatusBadRequest)
			return
		}
		lf, err := s.region.AddLaunchFailure(req.ID, req.Group, req.AZs, d, req.Percent)
		var ae *sim.APIError
		if errors.As(err, &ae) {
			http.Error(w, ae.Message, ae.Status)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		reply(http.StatusCreated, lf)
	case http.MethodDelete:
		id := r.URL.Query().Get("id")
		if id == "" {
			for _, lf := range s.region.LaunchFailures() {
				s.region.RemoveLaunchFailure(lf.ID)
			}
			reply(http.StatusOK, s.region.LaunchFailures())
			return
		}
		if !s.region.RemoveLaunchFailure(id) {
			http.Error(w, "launch failure "+id+" is not armed (expired or unknown)", http.StatusNotFound)
			return
		}
		reply(http.StatusOK, s.region.LaunchFailures())
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
