package reports

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gameday-dev/gameday/experiments"
)

var durationType = reflect.TypeOf(time.Duration(0))

// specText renders the experiment as run (record.Spec) as YAML in the
// experiment file's own keys and order, durations written as durations, and
// unset fields left out, so it reads like (and loads as) an experiment file.
// A spec that is not an experiment is shown as indented JSON.
func specText(spec any) string {
	if spec == nil {
		return ""
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return ""
	}
	var x experiments.Experiment
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&x); err == nil {
		if n := yamlNode(reflect.ValueOf(x)); n != nil {
			var out bytes.Buffer
			enc := yaml.NewEncoder(&out)
			enc.SetIndent(2)
			if err := enc.Encode(n); err == nil && enc.Close() == nil {
				return out.String()
			}
		}
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// yamlNode builds a YAML node from a value using its mapstructure tags (the
// experiment file's keys); zero values give nil and are left out.
func yamlNode(v reflect.Value) *yaml.Node {
	if sc, ok := v.Interface().(experiments.StopCondition); ok && sc.Alarm == "" {
		return str(sc.Expr) // an expression is written as the plain string it was
	}
	if v.Type() == durationType {
		if v.Int() == 0 {
			return nil
		}
		return str(time.Duration(v.Int()).String())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return yamlNode(v.Elem())
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			key := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]
			if key == "" || key == "-" || !t.Field(i).IsExported() {
				continue
			}
			if n := yamlNode(v.Field(i)); n != nil {
				m.Content = append(m.Content, str(key), n)
			}
		}
		if len(m.Content) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		s := &yaml.Node{Kind: yaml.SequenceNode}
		flow := true
		for i := 0; i < v.Len(); i++ {
			n := yamlNode(v.Index(i))
			if n == nil {
				n = str("")
			}
			if n.Kind != yaml.ScalarNode {
				flow = false
			}
			s.Content = append(s.Content, n)
		}
		if flow && v.Type().Elem().Kind() != reflect.String {
			s.Style = yaml.FlowStyle
		}
		return s
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			n := yamlNode(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
			if n == nil {
				n = str("")
			}
			m.Content = append(m.Content, str(k), n)
		}
		return m
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		return str(v.String())
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return scalar("true")
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Int() == 0 {
			return nil
		}
		return scalar(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		if v.Uint() == 0 {
			return nil
		}
		return scalar(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float64, reflect.Float32:
		if v.Float() == 0 {
			return nil
		}
		return scalar(strconv.FormatFloat(v.Float(), 'f', -1, 64))
	}
	return nil
}

// scalar is a plain scalar (numbers, booleans).
func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

// str is a string scalar: YAML quotes it when it would read as another type.
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
