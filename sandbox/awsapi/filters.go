package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// fieldSet names the filterable attributes of a resource type.
type fieldSet[T any] map[string]func(T) []string

// applyFilters keeps the items matching every filter: a filter matches when
// one of the item's values for that name matches one of the filter's values.
// Tag filters (tag:KEY, tag-key, tag-value) are handled for every type that
// has tags. Unknown filter names are an error, as on AWS.
func applyFilters[T any](service string, items []T, fs []filter, fields fieldSet[T], tags func(T) []sim.Tag) ([]T, error) {
	for _, f := range fs {
		if _, ok := fields[f.Name]; ok {
			continue
		}
		if tags != nil && (strings.HasPrefix(f.Name, "tag:") || f.Name == "tag-key" || f.Name == "tag-value") {
			continue
		}
		return nil, errBadFilter(service, f.Name)
	}
	if len(fs) == 0 {
		return items, nil
	}
	out := items[:0:0]
	for _, it := range items {
		ok := true
		for _, f := range fs {
			var vals []string
			if get, found := fields[f.Name]; found {
				vals = get(it)
			} else {
				vals = tagValues(tags(it), f.Name)
			}
			if !anyMatch(f.Values, vals) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

func anyMatch(patterns, vals []string) bool {
	for _, v := range vals {
		if matchAny(patterns, v) {
			return true
		}
	}
	return false
}

func tagValues(ts []sim.Tag, name string) []string {
	var out []string
	for _, t := range ts {
		switch {
		case name == "tag-key":
			out = append(out, t.Key)
		case name == "tag-value":
			out = append(out, t.Value)
		case name == "tag:"+t.Key:
			out = append(out, t.Value)
		}
	}
	return out
}

func errBadFilter(service, name string) error {
	switch service {
	case ServiceEC2:
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("The filter '%s' is invalid", name), Status: http.StatusBadRequest}
	case ServiceRDS:
		return &sim.APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Unrecognized filter name: %s", name), Status: http.StatusBadRequest}
	default:
		return &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("Filter name '%s' is invalid", name), Status: http.StatusBadRequest}
	}
}

func one(s string) []string { return []string{s} }

func boolStr(b bool) []string {
	if b {
		return one("true")
	}
	return one("false")
}

// sortTags returns the tags sorted by key.
func sortTags(ts []sim.Tag) []sim.Tag {
	out := append([]sim.Tag(nil), ts...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// selectByID keeps the items whose id is in ids (all when ids is empty) and
// returns the ids that matched nothing.
func selectByID[T any](items []T, ids []string, id func(T) string) ([]T, []string) {
	if len(ids) == 0 {
		return items, nil
	}
	want := map[string]bool{}
	for _, s := range ids {
		want[s] = true
	}
	var out []T
	found := map[string]bool{}
	for _, it := range items {
		if want[id(it)] {
			out = append(out, it)
			found[id(it)] = true
		}
	}
	var missing []string
	for _, s := range ids {
		if !found[s] {
			missing = append(missing, s)
		}
	}
	return out, missing
}

func quoteJoin(ids []string) string {
	q := make([]string, len(ids))
	for i, s := range ids {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}
