package awsapi

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	smithytime "github.com/aws/smithy-go/time"
)

// params wraps the decoded query/form parameters of one request.
type params struct{ v url.Values }

func (p params) get(key string) string { return p.v.Get(key) }

func (p params) has(key string) bool { _, ok := p.v[key]; return ok }

// list returns the values of a query list, e.g. prefix "InstanceId" finds
// InstanceId.1, InstanceId.2, ... in index order. Empty values are skipped.
func (p params) list(prefix string) []string {
	var out []string
	for _, sub := range p.indexes(prefix) {
		if s := p.v.Get(sub); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// indexes returns the element prefixes "prefix.N" (sorted by N) that occur
// in the request, whether the element is a scalar or a structure.
func (p params) indexes(prefix string) []string {
	pre := prefix + "."
	seen := map[int]bool{}
	for k := range p.v {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		seen[n] = true
	}
	ns := make([]int, 0, len(seen))
	for n := range seen {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = pre + strconv.Itoa(n)
	}
	return out
}

func (p params) boolean(key string) (val, ok bool) {
	s := p.v.Get(key)
	if s == "" {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

func (p params) int32(key string) (int32, bool, error) {
	s := p.v.Get(key)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, true, err
	}
	return int32(n), true, nil
}

func (p params) time(key string) (time.Time, bool, error) {
	s := p.v.Get(key)
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := smithytime.ParseDateTime(s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t2, true, nil
		}
		return time.Time{}, true, err
	}
	return t, true, nil
}

// filter is one Name/Values filter of a describe call.
type filter struct {
	Name   string
	Values []string
}

// filters decodes a filter list. prefix is the list element prefix
// ("Filter" for EC2, "Filters.member" for Auto Scaling, "Filters.Filter" for
// RDS) and valuesList the element prefix of the values inside one filter
// ("Value", "Values.member", "Values.Value").
func (p params) filters(prefix, valuesList string) []filter {
	var out []filter
	for _, f := range p.indexes(prefix) {
		out = append(out, filter{Name: p.v.Get(f + ".Name"), Values: p.list(f + "." + valuesList)})
	}
	return out
}

// tags decodes a tag list such as "Tag" (Tag.N.Key / Tag.N.Value).
func (p params) tags(prefix string) []tagKV {
	var out []tagKV
	for _, t := range p.indexes(prefix) {
		out = append(out, tagKV{Key: p.v.Get(t + ".Key"), Value: p.v.Get(t + ".Value")})
	}
	return out
}

type tagKV struct{ Key, Value string }

// match reports whether s matches one of the patterns; EC2 filter values
// allow * and ? wildcards.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches s against p where * matches any run and ? one character.
func wildcard(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	pr, sr := []rune(p), []rune(s)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(pr):
			r = j == len(sr)
		case pr[i] == '*':
			r = match(i+1, j) || (j < len(sr) && match(i, j+1))
		case j < len(sr) && (pr[i] == '?' || pr[i] == sr[j]):
			r = match(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return match(0, 0)
}
