package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Input limits. An experiment is a few kilobytes of YAML; these bounds keep
// a hostile or mistaken file from costing minutes or gigabytes, and keep
// every name safe to print, to put in XML and to send in a header.
const (
	// MaxFileBytes bounds an experiment file.
	MaxFileBytes = 1 << 20
	// MaxMappingKeys bounds the keys of any one YAML mapping.
	MaxMappingKeys = 1000
	// MaxNameLen bounds names (experiment, faults, probes), in characters.
	MaxNameLen = 100
	// MaxTextBytes bounds free text (description) and any other string but
	// a request body.
	MaxTextBytes = 4096
	// MinRate is the smallest non-zero rate, in requests per second.
	MinRate = 0.01
	// MinTimeout is the shortest request or probe timeout.
	MinTimeout = time.Millisecond
)

// parseDocument reads data as exactly one YAML document and checks its
// shape in one linear pass: every mapping has at most MaxMappingKeys keys,
// each defined once. (The YAML library's own duplicate check, run when a
// mapping is decoded, compares every key with every other one: 200,000 keys
// take minutes; here a set does it.)
func parseDocument(data []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []Problem{{Message: "the file is empty"}}
		}
		return nil, []Problem{{Message: "not valid YAML: " + cleanYAMLError(err)}}
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{{Message: "not valid YAML: " + cleanYAMLError(err)}}
	default:
		return nil, []Problem{{Message: fmt.Sprintf("holds more than one YAML document (a second one starts at line %d); put one experiment per file", second.Line)}}
	}
	var ps []Problem
	checkNode(&doc, "", &ps)
	return &doc, ps
}

func checkNode(n *yaml.Node, path string, ps *[]Problem) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkNode(c, path, ps)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			checkNode(c, fmt.Sprintf("%s[%d]", path, i), ps)
		}
	case yaml.MappingNode:
		if k := len(n.Content) / 2; k > MaxMappingKeys {
			*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf("has %d keys; the limit is %d per mapping", k, MaxMappingKeys)})
			return
		}
		// Viper ignores the case of keys ("Load" is "load"), so two keys
		// that differ only in case are one key defined twice; the keys of
		// gates.faults are fault names, kept exactly, so case counts there.
		exact := strings.EqualFold(path, "gates.faults")
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf("line %d: a key must be a plain string", k.Line)})
				continue
			}
			p := join(path, k.Value)
			id := k.Value
			if !exact {
				id = strings.ToLower(id)
			}
			if first, dup := seen[id]; dup {
				*ps = append(*ps, Problem{Path: p, Message: fmt.Sprintf("is defined twice (lines %d and %d)", first, k.Line)})
				continue
			}
			seen[id] = k.Line
			checkNode(v, p, ps)
		}
	}
}

// takeFaultGates removes gates.faults from the document and returns it
// decoded with its keys exactly as written. Viper lowercases keys and
// splits them on dots, so a fault named "AZ-Outage" or "az.outage" could
// not be named there otherwise.
func takeFaultGates(doc *yaml.Node) (map[string][]string, []Problem) {
	gates := mappingValue(doc, "gates")
	if gates == nil || gates.Kind != yaml.MappingNode {
		return nil, nil
	}
	var node *yaml.Node
	for i := 0; i+1 < len(gates.Content); i += 2 {
		if strings.EqualFold(gates.Content[i].Value, "faults") {
			node = gates.Content[i+1]
			gates.Content = append(gates.Content[:i:i], gates.Content[i+2:]...)
			break
		}
	}
	if node == nil {
		return nil, nil
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil, nil
	}
	if node.Kind != yaml.MappingNode {
		return nil, []Problem{{Path: "gates.faults", Message: "expected a mapping of fault name to gates"}}
	}
	out := make(map[string][]string, len(node.Content)/2)
	var ps []Problem
	for i := 0; i+1 < len(node.Content); i += 2 {
		name, list := node.Content[i].Value, node.Content[i+1]
		p := "gates.faults." + name
		if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
			out[name] = nil
			continue
		}
		if list.Kind != yaml.SequenceNode {
			ps = append(ps, Problem{Path: p, Message: "expected a list of gates"})
			continue
		}
		gs := []string{}
		for j, g := range list.Content {
			if g.Kind != yaml.ScalarNode {
				ps = append(ps, Problem{Path: fmt.Sprintf("%s[%d]", p, j), Message: "expected a string"})
				continue
			}
			gs = append(gs, g.Value)
		}
		out[name] = gs
	}
	return out, ps
}

// mappingValue returns the value of key (matched as viper does, ignoring
// case) in the document's top-level mapping.
func mappingValue(doc *yaml.Node, key string) *yaml.Node {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if strings.EqualFold(root.Content[i].Value, key) {
			return root.Content[i+1]
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// numberHook refuses what mapstructure would otherwise take silently: NaN
// and infinities, fractions in integer fields (2.7 would become 2) and
// integers out of range.
func numberHook(from, to reflect.Type, data any) (any, error) {
	if to == durationType {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Float64:
		if f, ok := data.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nil, fmt.Errorf("%s is not a finite number", yamlFloat(f))
		}
	case reflect.Pointer:
		if to.Elem().Kind() == reflect.Int64 {
			return numberHook(from, to.Elem(), data)
		}
	case reflect.Int, reflect.Int64, reflect.Uint64:
		f, ok := data.(float64)
		if !ok {
			return data, nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s is not a finite number", yamlFloat(f))
		}
		if f != math.Trunc(f) {
			return nil, fmt.Errorf("%s is not a whole number", strconv.FormatFloat(f, 'g', -1, 64))
		}
		if f < -(1<<53) || f > 1<<53 || (to.Kind() == reflect.Uint64 && f < 0) {
			return nil, fmt.Errorf("%g is out of range", f)
		}
		if to.Kind() == reflect.Uint64 {
			return uint64(f), nil
		}
		return int64(f), nil
	}
	return data, nil
}

func yamlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
