package experiments

import (
	"fmt"
	"net"
	"time"
)

// Generators says how to send the load from several load generators.
type Generators struct {
	// Engine starts the workers: "local" (processes of this binary on this
	// machine), "ecs" (ECS tasks, configured by ECS) or "kubernetes" (an
	// Indexed Job, see Kubernetes).
	Engine string `mapstructure:"engine" json:"engine"`
	// Count is the number of workers; each sends 1/Count of the plan.
	Count int `mapstructure:"count" json:"count"`
	// OnWorkerLoss is "fail" (default: abort the run, rolling every fault
	// back) or "continue" (go on; the lost worker's remaining share counts
	// as not sent). The report names the lost worker either way.
	OnWorkerLoss string `mapstructure:"on_worker_loss" json:"on_worker_loss,omitempty"`
	// JoinTimeout bounds the wait for every worker at the start barrier
	// (default 60s; 3m for engine ecs on AWS); SilenceTimeout is how long a worker may send nothing
	// before it is lost (default 5s).
	JoinTimeout    time.Duration `mapstructure:"join_timeout" json:"join_timeout,omitempty"`
	SilenceTimeout time.Duration `mapstructure:"silence_timeout" json:"silence_timeout,omitempty"`
	// Listen is the address the coordinator listens on for its workers
	// (default 127.0.0.1:0 for the local engine); Advertise the URL the
	// workers are given to reach it (default http://LISTEN).
	Listen    string `mapstructure:"listen" json:"listen,omitempty"`
	Advertise string `mapstructure:"advertise" json:"advertise,omitempty"`
	// ECS configures engine ecs (generators_ecs.go).
	ECS *ECSGenerators `mapstructure:"ecs" json:"ecs,omitempty"`
	// Kubernetes configures engine kubernetes (kubernetes.go).
	Kubernetes *KubernetesGenerators `mapstructure:"kubernetes" json:"kubernetes,omitempty"`
}

// Limits of load.generators.
const (
	MaxGenerators          = 256
	MaxGeneratorsTimeout   = 10 * time.Minute
	generatorsEnginesNotes = "local, ecs or kubernetes"
)

func (x *Experiment) validateGenerators(v *validator) {
	g := x.Load.Generators
	if g == nil {
		return
	}
	const p = "load.generators"
	switch g.Engine {
	case "local", "ecs", "kubernetes":
	case "":
		v.add(p+".engine", "is required: "+generatorsEnginesNotes)
	default:
		v.add(p+".engine", fmt.Sprintf("%q is not an engine; want %s", g.Engine, generatorsEnginesNotes))
	}
	if g.Count < 1 || g.Count > MaxGenerators {
		v.add(p+".count", fmt.Sprintf("must be 1 to %d, got %d", MaxGenerators, g.Count))
	}
	switch g.OnWorkerLoss {
	case "", "fail", "continue":
	default:
		v.add(p+".on_worker_loss", fmt.Sprintf("%q: want fail or continue", g.OnWorkerLoss))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"join_timeout", g.JoinTimeout}, {"silence_timeout", g.SilenceTimeout}} {
		if d.v < 0 || d.v > MaxGeneratorsTimeout {
			v.add(p+"."+d.name, fmt.Sprintf("%s: must be 0 (default) to %s", d.v, MaxGeneratorsTimeout))
		}
	}
	if g.Listen != "" {
		if _, _, err := net.SplitHostPort(g.Listen); err != nil {
			v.add(p+".listen", fmt.Sprintf("%q is not host:port", g.Listen))
		}
	}
	x.validateECSGenerators(v)
	validateKubernetes(v, g)
}
