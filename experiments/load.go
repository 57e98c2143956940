package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/gameday-dev/gameday/internal/inputfile"
)

// EnvPrefix is the prefix of environment overrides: GAMEDAY_LOAD_RATE=50
// overrides load.rate.
const EnvPrefix = "GAMEDAY"

// Overridable lists the keys that GAMEDAY_* environment variables and
// --set KEY=VALUE flags may override.
var Overridable = []string{
	"name", "target.kind", "target.sandbox.profile", "target.sandbox.config", "target.sandbox.db_kind",
	"target.aws.region", "target.aws.endpoint_url", "target.aws.profile", "target.aws.resolver",
	"load.url", "load.rate", "load.duration", "load.timeout", "load.workers", "load.max_workers",
	"load.max_connections", "load.keepalive", "load.max_conn_age", "load.dns_ttl", "load.az_header",
	"steady_state.window", "steady_state.stable_for", "steady_state.baseline", "steady_state.verify",
}

// LoadFile reads, merges and validates an experiment file. Precedence, lowest
// first: built-in defaults, the file, GAMEDAY_* environment variables, then
// overrides (from --set flags). The error, if any, is an *Error naming the
// file and every bad field at once.
func LoadFile(path string, overrides map[string]string) (*Experiment, *Compiled, error) {
	data, err := inputfile.Read(path, MaxFileBytes)
	if err != nil {
		var tl *inputfile.TooLargeError
		if errors.As(err, &tl) {
			return nil, nil, &Error{File: path, Problems: []Problem{{Message: fmt.Sprintf("larger than the %s limit for an experiment file", inputfile.Size(MaxFileBytes))}}}
		}
		var nr *inputfile.NotRegularError
		if errors.As(err, &nr) {
			return nil, nil, &Error{File: path, Problems: []Problem{{Message: strings.TrimPrefix(err.Error(), path+": ")}}}
		}
		return nil, nil, &Error{File: path, Problems: []Problem{{Message: err.Error()}}}
	}
	return Parse(path, data, overrides, os.LookupEnv)
}

// Parse is LoadFile on bytes already read; lookupEnv supplies the environment
// (os.LookupEnv in production, a map in tests).
func Parse(path string, data []byte, overrides map[string]string, lookupEnv func(string) (string, bool)) (*Experiment, *Compiled, error) {
	fail := func(ps ...Problem) (*Experiment, *Compiled, error) {
		return nil, nil, &Error{File: path, Problems: ps}
	}
	if len(data) > MaxFileBytes {
		return fail(Problem{Message: fmt.Sprintf("larger than the %s limit for an experiment file", inputfile.Size(MaxFileBytes))})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(Problem{Message: "the file is empty"})
	}
	// One linear pass over the document first: one document only, bounded
	// mappings, no key twice. Only then does viper (whose YAML decoding is
	// quadratic in a mapping's keys) see it.
	doc, ps := parseDocument(data)
	if len(ps) > 0 {
		return fail(ps...)
	}
	faultGates, ps := takeFaultGates(doc)
	if len(ps) > 0 {
		return fail(ps...)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	var settings map[string]any
	if err := doc.Decode(&settings); err != nil {
		return fail(Problem{Message: "not valid YAML: " + cleanYAMLError(err)})
	}
	if settings == nil {
		return fail(Problem{Message: "the file is empty"})
	}
	if err := v.MergeConfigMap(settings); err != nil {
		return fail(Problem{Message: "not valid YAML: " + cleanYAMLError(err)})
	}

	// Unknown keys are errors, reported with their full path.
	if ps := unknownKeys(v.AllSettings(), reflect.TypeOf(Experiment{}), ""); len(ps) > 0 {
		return fail(ps...)
	}

	applyDefaults(v)
	// sources says where each overridden value came from, so that a problem
	// with it names the variable or flag rather than the file.
	sources := map[string]string{}
	for _, key := range Overridable {
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if val, ok := lookupEnv(env); ok {
			v.Set(key, val)
			sources[key] = env + "=" + quoteIfNeeded(val)
		}
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(Overridable, k) {
			ps = append(ps, Problem{Path: k, Message: "cannot be overridden with --set (overridable: " + strings.Join(Overridable, ", ") + ")"})
			continue
		}
		v.Set(k, overrides[k])
		sources[k] = "--set " + k + "=" + quoteIfNeeded(overrides[k])
	}
	if len(ps) > 0 {
		return fail(ps...)
	}

	var x Experiment
	err := v.Unmarshal(&x, func(c *mapstructure.DecoderConfig) {
		c.WeaklyTypedInput = false
		c.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			stringToNumberHook,
			numberHook,
			peakHook,
			stopConditionHook,
		)
	})
	if err != nil {
		return nil, nil, attribute(&Error{File: path, Problems: decodeProblems(err)}, sources)
	}
	x.Gates.Faults = faultGates
	x.File = path
	c, err := x.Validate()
	fit := x.fitProblems(func(key string) bool { return v.InConfig(key) || sources[key] != "" })
	if err != nil || len(fit) > 0 {
		xe := &Error{File: path}
		if err != nil && !errors.As(err, &xe) {
			return nil, nil, err
		}
		xe.Problems = append(xe.Problems, fit...)
		return nil, nil, attribute(xe, sources)
	}
	return &x, c, nil
}

// attribute names, on each problem with an overridden field, the
// environment variable or --set flag its value came from.
func attribute(e *Error, sources map[string]string) *Error {
	for i, p := range e.Problems {
		if src, ok := sources[p.Path]; ok {
			e.Problems[i].Source = src
		}
	}
	return e
}

func quoteIfNeeded(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " \t") {
		return s
	}
	return q
}

func applyDefaults(v *viper.Viper) {
	v.SetDefault("target.kind", "sandbox")
	v.SetDefault("load.timeout", "2s")
	v.SetDefault("load.workers", 8)
	v.SetDefault("load.max_workers", 512)
	v.SetDefault("load.max_connections", 512)
	v.SetDefault("load.dns_ttl", "5s")
	v.SetDefault("steady_state.window", "1s")
	v.SetDefault("steady_state.stable_for", 3)
	v.SetDefault("steady_state.baseline", "10s")
	v.SetDefault("steady_state.verify", "10s")
	v.SetDefault("guards.max_instance_share", 0.5)
	v.SetDefault("guards.max_blackhole_duration", "10m")
}

// stringToNumberHook lets environment and --set strings ("50") fill numeric
// and boolean fields, while YAML scalars of the wrong type still fail.
func stringToNumberHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || from.Kind() != reflect.String {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Float64:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	case reflect.Int, reflect.Int64:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil // numberHook says what is wrong with it
		}
	case reflect.Uint64:
		if i, err := strconv.ParseUint(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	case reflect.Bool:
		if b, err := strconv.ParseBool(s); err == nil {
			return b, nil
		}
	case reflect.Pointer:
		if to.Elem().Kind() == reflect.Bool {
			if b, err := strconv.ParseBool(s); err == nil {
				return &b, nil
			}
		}
	}
	return data, nil
}

// unknownKeys walks the raw settings against the struct's mapstructure tags.
func unknownKeys(raw any, t reflect.Type, path string) []Problem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var ps []Problem
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil // a type problem; the decoder reports it
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
		}
		if t == reflect.TypeOf(Fault{}) {
			for _, k := range faultKindFields(m) {
				fields[k] = reflect.TypeOf((*any)(nil)).Elem()
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				ps = append(ps, Problem{Path: join(path, k), Message: "unknown key" + suggest(k, fields)})
				continue
			}
			ps = append(ps, unknownKeys(m[k], ft, join(path, k))...)
		}
	case reflect.Slice:
		l, ok := raw.([]any)
		if !ok {
			return nil
		}
		for i, e := range l {
			ps = append(ps, unknownKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		for k, e := range m {
			ps = append(ps, unknownKeys(e, t.Elem(), join(path, k))...)
		}
	}
	return ps
}

func suggest(k string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editDistance(k, f); d < bestD {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// decodeProblems turns mapstructure's joined errors into field problems.
func decodeProblems(err error) []Problem {
	var ps []Problem
	var walk func(error)
	walk = func(e error) {
		var de *mapstructure.DecodeError
		if errors.As(e, &de) {
			ps = append(ps, Problem{Path: mapstructurePath(de.Name()), Message: typeMessage(de.Unwrap())})
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
			return
		}
		ps = append(ps, Problem{Message: e.Error()})
	}
	walk(err)
	if len(ps) == 0 {
		ps = append(ps, Problem{Message: err.Error()})
	}
	return ps
}

func typeMessage(err error) string {
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot read %v as %s", pe.Value, kindName(pe.Expected.Type()))
	}
	var ue *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ue) {
		return fmt.Sprintf("expected %s, got %v", kindName(ue.Expected.Type()), describe(ue.Value))
	}
	msg := err.Error()
	if strings.Contains(msg, "time: ") {
		return "not a duration like 30s or 500ms: " + msg
	}
	return msg
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float64, reflect.Int, reflect.Int64, reflect.Uint64:
		if t.String() == "time.Duration" {
			return "a duration like 30s"
		}
		return "a number"
	case reflect.Bool, reflect.Pointer:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", v)
	}
	return fmt.Sprintf("%v", v)
}

// mapstructurePath turns "faults[0].targets.count" style names (with
// mapstructure's own formatting quirks) into our field paths.
func mapstructurePath(name string) string { return strings.TrimPrefix(name, ".") }

func cleanYAMLError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		msg = msg[i:]
	}
	return msg
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func sortStrings(s []string) { sort.Strings(s) }
