package experiments

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// validateBounds checks what the per-section checks leave open: every
// string is printable and bounded (names go into headers, terminals, XML
// and folder names), every number finite, and the values whose absurd
// settings would pass the type check but not make sense for a run.
func (x *Experiment) validateBounds(v *validator) {
	checkStrings(v, reflect.ValueOf(x).Elem(), "")
	checkFinite(v, reflect.ValueOf(x).Elem(), "")

	l := x.Load
	for i, r := range l.Requests {
		for k, val := range r.Headers {
			p := fmt.Sprintf("load.requests[%d].headers.%s", i, k)
			if !httpguts.ValidHeaderFieldName(k) {
				v.add(p, fmt.Sprintf("%q is not a valid HTTP header name", k))
			}
			if !httpguts.ValidHeaderFieldValue(val) {
				v.add(p, fmt.Sprintf("%q is not a valid HTTP header value (control characters such as CR or LF are not allowed)", val))
			}
		}
	}
	minRate := func(path string, r float64) {
		if r > 0 && r < MinRate {
			v.add(path, fmt.Sprintf("%g rps is below the %g rps minimum", r, MinRate))
		}
	}
	minRate("load.rate", l.Rate)
	for i, st := range l.Stages {
		p := fmt.Sprintf("load.stages[%d]", i)
		minRate(p+".rate", st.Rate)
		minRate(p+".from", st.From)
		minRate(p+".to", st.To)
	}
	if l.Timeout > 0 && l.Timeout < MinTimeout {
		v.add("load.timeout", fmt.Sprintf("%s is below the %s minimum", l.Timeout, MinTimeout))
	} else if l.Timeout > MaxDuration {
		v.add("load.timeout", fmt.Sprintf("%s is longer than the %s limit", l.Timeout, MaxDuration))
	}
	if l.MaxConnections > MaxMaxWorkers {
		v.add("load.max_connections", fmt.Sprintf("%d is above the %d limit", l.MaxConnections, MaxMaxWorkers))
	}
	for i, pr := range x.Probes {
		if pr.Timeout > 0 && pr.Timeout < MinTimeout {
			v.add(fmt.Sprintf("probes[%d].timeout", i), fmt.Sprintf("%s is below the %s minimum", pr.Timeout, MinTimeout))
		}
		if pr.Interval > MaxDuration || pr.Timeout > MaxDuration {
			v.add(fmt.Sprintf("probes[%d]", i), fmt.Sprintf("interval and timeout must not exceed %s", MaxDuration))
		}
	}
	for i, f := range x.Faults {
		if f.Delay > MaxDuration {
			v.add(fmt.Sprintf("faults[%d].delay", i), fmt.Sprintf("%s is longer than the %s limit", f.Delay, MaxDuration))
		}
	}
}

// nameFields are the strings that name something: short, one line, printable.
var nameFields = map[string]bool{"name": true, "faults[].name": true, "probes[].name": true, "gates.faults{}": true}

// walk calls leaf for every string and float64 in val (through pointers,
// struct fields with a mapstructure tag, slices and maps), with its field
// path; a map's string keys are reported at path+"{}".
func walk(val reflect.Value, path string, leaf func(path string, val reflect.Value)) {
	switch val.Kind() {
	case reflect.String, reflect.Float64:
		leaf(path, val)
	case reflect.Pointer:
		if !val.IsNil() {
			walk(val.Elem(), path, leaf)
		}
	case reflect.Struct:
		t := val.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			walk(val.Field(i), join(path, tag), leaf)
		}
	case reflect.Slice:
		for i := 0; i < val.Len(); i++ {
			walk(val.Index(i), fmt.Sprintf("%s[%d]", path, i), leaf)
		}
	case reflect.Map:
		iter := val.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				leaf(path+"{}", k)
			}
			walk(iter.Value(), join(path, k.String()), leaf)
		}
	}
}

// checkStrings checks every string in the experiment (map keys too).
func checkStrings(v *validator, val reflect.Value, path string) {
	walk(val, path, func(p string, x reflect.Value) {
		if x.Kind() == reflect.String {
			checkString(v, p, x.String())
		}
	})
}

func checkString(v *validator, path, s string) {
	shape := shapeOf(path)
	if strings.HasPrefix(shape, "load.requests[].headers") {
		return // names and values are checked as HTTP header fields
	}
	report := path
	if strings.HasSuffix(path, "{}") {
		report = strings.TrimSuffix(path, "{}") + "." + s
	}
	if !utf8.ValidString(s) {
		v.add(report, "is not valid UTF-8")
		return
	}
	body := shape == "load.requests[].body"
	multiline := body || shape == "description"
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			msg := fmt.Sprintf("contains the control character %U", r)
			if nameFields[shape] {
				msg += "; names must be printable"
			}
			v.add(report, msg)
			return
		}
	}
	switch {
	case nameFields[shape]:
		if n := utf8.RuneCountInString(s); n > MaxNameLen {
			v.add(report, fmt.Sprintf("is %d characters long; the limit is %d", n, MaxNameLen))
		}
	case !body && len(s) > MaxTextBytes:
		v.add(report, fmt.Sprintf("is %d bytes long; the limit is %d", len(s), MaxTextBytes))
	}
}

// shapeOf turns "faults[2].name" into "faults[].name".
func shapeOf(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
			b.WriteRune(r)
		case r == ']':
			skip = false
			b.WriteRune(r)
		case !skip:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "gates.faults.") && !strings.HasSuffix(out, "{}") {
		return "gates.faults.*"
	}
	return out
}

// checkFinite refuses NaN and infinities in every float field, whatever
// set them (the decode hook catches them at the source; this is the net).
func checkFinite(v *validator, val reflect.Value, path string) {
	walk(val, path, func(p string, x reflect.Value) {
		if x.Kind() != reflect.Float64 {
			return
		}
		if f := x.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			v.add(p, fmt.Sprintf("%s is not a finite number", yamlFloat(f)))
		}
	})
}

// fitProblems refuses steady-state settings that cannot fit in the load:
// more stable windows than the load has, a verification or baseline phase
// longer than the load. Only values the experiment states (in the file,
// GAMEDAY_* or --set) are judged; a short load keeps working with the
// defaults, as it always has.
func (x *Experiment) fitProblems(stated func(key string) bool) []Problem {
	v := &validator{}
	d, s := x.Load.Duration, x.SteadyState
	if d <= 0 || d > MaxDuration {
		return nil // load.duration has its own problem
	}
	if stated("steady_state.stable_for") && s.Window >= MinWindow && s.StableFor > 0 && int64(s.StableFor) > int64(d/s.Window) {
		v.add("steady_state.stable_for", fmt.Sprintf("%d windows of %s do not fit in load.duration (%s)", s.StableFor, s.Window, d))
	}
	if stated("steady_state.verify") && s.Verify > d {
		v.add("steady_state.verify", fmt.Sprintf("%s is longer than load.duration (%s)", s.Verify, d))
	}
	if stated("steady_state.baseline") && s.Baseline > d {
		v.add("steady_state.baseline", fmt.Sprintf("%s is longer than load.duration (%s)", s.Baseline, d))
	}
	return v.ps
}
