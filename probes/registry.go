package probes

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

// Kind is one probe kind. Each kind lives in its own file and registers
// itself from init; New, Healthy, Kinds and the docs all come from here,
// never from a list of names.
type Kind struct {
	// Name is the kind as experiments name it (probes[].kind).
	Name string
	// Doc says in one line what the kind observes, its series and when
	// it counts as healthy (for docs and --help texts).
	Doc string
	// Order places the kind in lists (error messages, docs); lower first.
	Order int
	// Fields are the kind's own keys beyond name, kind, interval and
	// timeout (e.g. "url"); validation refuses another kind's keys.
	Fields []string
	// DefaultTimeout bounds one observation when the spec gives none;
	// zero means DefaultAPITimeout.
	DefaultTimeout time.Duration
	// Check is the kind's part of `gameday validate` (load time, exit 2,
	// field paths relative to the probe); Register hands it to package
	// experiments. Optional.
	Check func(pr *experiments.Probe, add func(field, msg string))
	// Defaults fills what the spec leaves out from the environment (e.g.
	// the http kind's url is the load's URL), before Validate. Optional.
	Defaults func(spec *experiments.Probe, env Env)
	// Validate checks the spec's kind-specific fields, each error naming
	// its field (e.g. "kind http: url is required"). Optional.
	Validate func(spec experiments.Probe) []error
	// New builds the probe from a spec that passed Validate. b carries the
	// name and the timeout (the kind's default filled in).
	New func(env Env, b base, spec experiments.Probe) (Probe, error)
	// Healthy is the kind's probes' Healthy method, which reads no probe
	// state, e.g. (*asgProbe)(nil).Healthy; probes.Healthy dispatches to it.
	Healthy func(last, baseline map[string]float64) bool
}

// Env is what a probe may observe: the AWS clients and resolved topology of
// the target, and the HTTP client for GETs.
type Env struct {
	Clients    *awsclients.Clients
	Topology   *topology.Topology
	HTTPClient *http.Client // nil means http.DefaultClient
	// LoadURL is where the experiment's load goes (a kind may default to it).
	LoadURL string
	// MetricMinute is how long a CloudWatch minute lasts in wall time
	// (environment.Environment.MetricMinute); zero means a real minute.
	MetricMinute time.Duration
}

var (
	regMu    sync.RWMutex
	registry = map[string]Kind{}
)

// Register adds a probe kind. It panics if the kind has no name or New,
// or if its name is taken: two kinds with one name is a programming error
// found at init.
func Register(k Kind) {
	if k.Name == "" || k.New == nil || k.Healthy == nil {
		panic(fmt.Sprintf("probes: Register(%q): a kind needs a name, New and Healthy", k.Name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[k.Name]; dup {
		panic(fmt.Sprintf("probes: kind %q registered twice", k.Name))
	}
	registry[k.Name] = k
	experiments.RegisterProbeKind(experiments.ProbeKind{Name: k.Name, Order: k.Order, Fields: k.Fields, Validate: k.Check})
}

// Lookup returns the kind registered under name.
func Lookup(name string) (Kind, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	k, ok := registry[name]
	return k, ok
}

// Kinds returns every registered kind, by Order then name.
func Kinds() []Kind {
	regMu.RLock()
	ks := make([]Kind, 0, len(registry))
	for _, k := range registry {
		ks = append(ks, k)
	}
	regMu.RUnlock()
	slices.SortFunc(ks, func(a, b Kind) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.Name, b.Name))
	})
	return ks
}

// KindNames returns the names of every registered kind, in Kinds' order.
func KindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// Validate checks a probe spec against its kind: the kind must be
// registered, and the kind's own fields must be right.
func Validate(spec experiments.Probe) []error {
	k, ok := Lookup(spec.Kind)
	if !ok {
		return []error{fmt.Errorf("unknown kind %q (%s)", spec.Kind, strings.Join(KindNames(), ", "))}
	}
	if k.Validate == nil {
		return nil
	}
	return k.Validate(spec)
}

// needAWS refuses to build an AWS probe without clients and a topology.
func (e Env) needAWS(name, kind string) error {
	c := e.Clients
	if err := need(name, kind, "AWS clients", c != nil && c.ELB != nil && c.ASG != nil && c.RDS != nil && c.EC2 != nil); err != nil {
		return err
	}
	return need(name, kind, "a resolved topology", e.Topology != nil)
}

func (e Env) sortedAZs() []string {
	azs := slices.Clone(e.Topology.AZs)
	slices.Sort(azs)
	return azs
}

func need(name, kind, what string, ok bool) error {
	if !ok {
		return fmt.Errorf("probe %q: kind %s needs %s in the target", name, kind, what)
	}
	return nil
}
