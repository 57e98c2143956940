package experiments

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ProbeKind is what validation knows of one probe kind. Package probes
// registers one per kind (experiments must not import probes); the message
// for an unknown kind lists what is registered.
type ProbeKind struct {
	Name  string
	Order int // place in lists; lower first, then by name
	// Fields are the kind's own keys beyond the envelope's (name, kind,
	// interval, timeout), e.g. "url" for http. A key of another kind set
	// on a probe of this one is refused, naming the field.
	Fields []string
	// Validate checks the probe's kind-specific fields at load time; add
	// takes a field path relative to the probe ("url"). Optional.
	Validate func(pr *Probe, add func(field, msg string))
}

var probeKinds = kindSet[ProbeKind]{what: "probe"}

// RegisterProbeKind makes a probe kind known to validation. Registering a
// name twice panics (at init, where kinds register).
func RegisterProbeKind(k ProbeKind) { probeKinds.add(k.Name, k) }

// ProbeKindNames lists the registered probe kinds, by Order then name.
func ProbeKindNames() []string {
	ks := probeKinds.all()
	slices.SortFunc(ks, func(a, b ProbeKind) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.Name, b.Name))
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

// probeOwnKeys are the keys of Probe that belong to some kind, not to the
// envelope: each with whether a probe sets it.
var probeOwnKeys = []struct {
	key string
	set func(*Probe) bool
}{
	{"url", func(p *Probe) bool { return p.URL != "" }},
}

// checkProbeKeys refuses a kind-owned key that pr's kind does not declare.
func checkProbeKeys(k ProbeKind, pr *Probe, add func(field, msg string)) {
	for _, o := range probeOwnKeys {
		if o.set(pr) && !slices.Contains(k.Fields, o.key) {
			owners := []string{}
			for _, other := range probeKinds.all() {
				if slices.Contains(other.Fields, o.key) {
					owners = append(owners, other.Name)
				}
			}
			slices.Sort(owners)
			add(o.key, fmt.Sprintf("is not a key of probe kind %s (it belongs to %s)", pr.Kind, strings.Join(owners, ", ")))
		}
	}
}

func lookupProbeKind(name string) (ProbeKind, bool) { return probeKinds.lookup(name) }

// unknownProbeKind is the message for a kind nobody registered.
func unknownProbeKind(kind string) string {
	names := ProbeKindNames()
	if len(names) == 0 {
		return fmt.Sprintf("unknown kind %q (no probe kind is registered: link package probes)", kind)
	}
	return fmt.Sprintf("unknown kind %q (%s)", kind, strings.Join(names, ", "))
}
