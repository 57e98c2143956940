package experiments

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// FaultKind is what validation knows of one fault kind. Package faults
// registers one per kind (experiments must not import faults); validation
// messages that list kinds are built from what is registered.
type FaultKind struct {
	Name string
	// Fields are the kind's own keys at the fault's top level, beyond the
	// envelope's (name, kind, at, after, delay, duration, targets); they
	// arrive raw in Fault.Params. Any other key is refused as unknown.
	Fields []string
	// Validate checks the fault's kind-specific settings. add takes a
	// field path relative to the fault ("duration", "targets.az").
	Validate func(x *Experiment, f *Fault, add func(field, msg string))
	// Guards checks the fault against the experiment's blast-radius guards
	// (run after every fault's own validation).
	Guards func(g Guards, f *Fault, add func(field, msg string))
}

var faultKinds = kindSet[FaultKind]{what: "fault"}

// RegisterFaultKind makes a fault kind known to validation. Registering a
// name twice panics (at init, where kinds register).
func RegisterFaultKind(k FaultKind) { faultKinds.add(k.Name, k) }

// LookupFaultKind returns the registered kind called name.
func LookupFaultKind(name string) (FaultKind, bool) { return faultKinds.lookup(name) }

// FaultKindNames lists the registered fault kinds, sorted.
func FaultKindNames() []string {
	var names []string
	for _, k := range faultKinds.all() {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	return names
}

// DecodeFaultParams decodes a fault's own keys (Fault.Params) into the
// kind's typed spec out (mapstructure tags) as the loader decodes the
// file: the same type messages, with paths relative to the fault. Keys out
// does not have are refused.
func DecodeFaultParams(params map[string]any, out any) []Problem {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		ErrorUnused: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			stringToNumberHook,
			numberHook,
		),
		Result: out,
	})
	if err != nil {
		return []Problem{{Message: err.Error()}}
	}
	if err := d.Decode(params); err != nil {
		return decodeProblems(err)
	}
	return nil
}

// validateFaultKind checks f's kind and hands its own settings to the kind.
func (x *Experiment) validateFaultKind(v *validator, p string, f *Fault) {
	if f.Kind == "" {
		v.add(p+".kind", fmt.Sprintf("is required (%s)", strings.Join(FaultKindNames(), ", ")))
		return
	}
	k, ok := LookupFaultKind(f.Kind)
	if !ok {
		known := strings.Join(FaultKindNames(), ", ")
		if known == "" {
			known = "no fault kind is registered: the program must link package faults"
		}
		v.add(p+".kind", fmt.Sprintf("unknown kind %q (%s)", f.Kind, known))
		return
	}
	if k.Validate != nil {
		k.Validate(x, f, func(field, msg string) { v.add(p+"."+field, msg) })
	}
}

// faultKindFields returns the extra top-level keys the kind named in a raw
// fault accepts (for the unknown-key check).
func faultKindFields(raw map[string]any) []string {
	name, _ := raw["kind"].(string)
	if k, ok := LookupFaultKind(name); ok {
		return k.Fields
	}
	return nil
}
