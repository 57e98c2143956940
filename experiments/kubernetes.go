package experiments

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// KubernetesGenerators is load.generators.kubernetes: where and how the
// kubernetes engine runs the workers (an Indexed Job applied with kubectl;
// see docs/load-generators.md).
type KubernetesGenerators struct {
	// Kubeconfig, Context and Namespace select the cluster as kubectl's
	// flags of the same names do ("" for kubectl's defaults).
	Kubeconfig string `mapstructure:"kubeconfig" json:"kubeconfig,omitempty"`
	Context    string `mapstructure:"context" json:"context,omitempty"`
	Namespace  string `mapstructure:"namespace" json:"namespace,omitempty"`
	// Image is the worker image (built from the repository's Dockerfile).
	Image string `mapstructure:"image" json:"image"`
	// CPU and Memory are each worker's requests and limits (Kubernetes
	// quantities; defaults 1 and 512Mi).
	CPU    string `mapstructure:"cpu" json:"cpu,omitempty"`
	Memory string `mapstructure:"memory" json:"memory,omitempty"`
	// ServiceAccount runs the worker pods (its token is not mounted).
	ServiceAccount string `mapstructure:"service_account" json:"service_account,omitempty"`
	// TTLAfterFinished is the Job's ttlSecondsAfterFinished (default 5m),
	// a backstop: gameday deletes the Job itself on every exit path.
	TTLAfterFinished time.Duration `mapstructure:"ttl_after_finished" json:"ttl_after_finished,omitempty"`
	// Kubectl is the kubectl command (default "kubectl" on PATH).
	Kubectl string `mapstructure:"kubectl" json:"kubectl,omitempty"`
}

// Limits of load.generators.kubernetes.
const (
	MaxKubernetesTTL = 24 * time.Hour
	maxKubeString    = 253
)

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Sub   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// A Kubernetes resource quantity (k8s.io/apimachinery resource.Quantity):
	// a decimal number and a binary, decimal or exponent suffix.
	kubeQuantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][0-9]+)?$`)
	imageRef     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$`)
)

// validateKubernetes checks load.generators.kubernetes for engine
// kubernetes (g.Kubernetes set with another engine is an error too).
func validateKubernetes(v *validator, g *Generators) {
	const p = "load.generators.kubernetes"
	k := g.Kubernetes
	if g.Engine != "kubernetes" {
		if k != nil {
			v.add(p, fmt.Sprintf("is for engine kubernetes, not %q", g.Engine))
		}
		return
	}
	if k == nil {
		v.add(p, "is required for engine kubernetes (at least its image)")
		return
	}
	if g.Advertise == "" {
		v.add("load.generators.advertise", "is required for engine kubernetes: the URL the worker pods reach the coordinator at (e.g. http://gameday-coordinator.NAMESPACE.svc:7070)")
	}
	switch {
	case k.Image == "":
		v.add(p+".image", "is required: the worker image (see the Dockerfile)")
	case len(k.Image) > maxKubeString || !imageRef.MatchString(k.Image):
		v.add(p+".image", fmt.Sprintf("%q is not an image reference", trunc(k.Image)))
	}
	if k.Namespace != "" && (len(k.Namespace) > 63 || !dns1123Label.MatchString(k.Namespace)) {
		v.add(p+".namespace", fmt.Sprintf("%q is not a namespace name (RFC 1123 label, at most 63)", trunc(k.Namespace)))
	}
	if k.ServiceAccount != "" && (len(k.ServiceAccount) > maxKubeString || !dns1123Sub.MatchString(k.ServiceAccount)) {
		v.add(p+".service_account", fmt.Sprintf("%q is not a service account name", trunc(k.ServiceAccount)))
	}
	for _, f := range []struct{ name, v string }{{"context", k.Context}, {"kubeconfig", k.Kubeconfig}, {"kubectl", k.Kubectl}} {
		if len(f.v) > 4096 || strings.ContainsAny(f.v, "\x00\n") {
			v.add(p+"."+f.name, "must be one line of at most 4096 bytes")
		}
	}
	for _, f := range []struct{ name, v string }{{"cpu", k.CPU}, {"memory", k.Memory}} {
		if f.v != "" && (len(f.v) > 32 || !kubeQuantity.MatchString(f.v)) {
			v.add(p+"."+f.name, fmt.Sprintf("%q is not a Kubernetes quantity (e.g. 500m, 2, 512Mi)", trunc(f.v)))
		}
	}
	if k.TTLAfterFinished < 0 || k.TTLAfterFinished > MaxKubernetesTTL {
		v.add(p+".ttl_after_finished", fmt.Sprintf("%s: must be 0 (default 5m) to %s", k.TTLAfterFinished, MaxKubernetesTTL))
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
