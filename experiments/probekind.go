package experiments

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ProbeKind is what validation knows of one probe kind. Package probes
// registers one per kind (experiments must not import probes); the message
// for an unknown kind lists what is registered.
type ProbeKind struct {
	Name  string
	Order int // place in lists; lower first, then by name
	// Validate checks the probe's kind-specific fields at load time; add
	// takes a field path relative to the probe ("url"). Optional.
	Validate func(pr *Probe, add func(field, msg string))
}

var probeKinds struct {
	sync.RWMutex
	byName map[string]ProbeKind
}

// RegisterProbeKind makes a probe kind known to validation. Registering a
// name twice panics (at init, where kinds register).
func RegisterProbeKind(k ProbeKind) {
	probeKinds.Lock()
	defer probeKinds.Unlock()
	if k.Name == "" {
		panic("experiments: probe kind without a name")
	}
	if _, dup := probeKinds.byName[k.Name]; dup {
		panic(fmt.Sprintf("experiments: probe kind %q registered twice", k.Name))
	}
	if probeKinds.byName == nil {
		probeKinds.byName = map[string]ProbeKind{}
	}
	probeKinds.byName[k.Name] = k
}

// ProbeKindNames lists the registered probe kinds, by Order then name.
func ProbeKindNames() []string {
	probeKinds.RLock()
	ks := make([]ProbeKind, 0, len(probeKinds.byName))
	for _, k := range probeKinds.byName {
		ks = append(ks, k)
	}
	probeKinds.RUnlock()
	slices.SortFunc(ks, func(a, b ProbeKind) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.Name, b.Name))
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

func lookupProbeKind(name string) (ProbeKind, bool) {
	probeKinds.RLock()
	defer probeKinds.RUnlock()
	k, ok := probeKinds.byName[name]
	return k, ok
}

// unknownProbeKind is the message for a kind nobody registered.
func unknownProbeKind(kind string) string {
	names := ProbeKindNames()
	if len(names) == 0 {
		return fmt.Sprintf("unknown kind %q (no probe kind is registered: link package probes)", kind)
	}
	return fmt.Sprintf("unknown kind %q (%s)", kind, strings.Join(names, ", "))
}
