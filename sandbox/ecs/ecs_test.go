package ecs

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The Fargate sizes of the ECS developer guide ("Task CPU and memory").
func TestFargateSizes(t *testing.T) {
	for _, c := range []struct {
		cpu, mem string
		ok       bool
	}{
		{"256", "512", true}, {"256", "2048", true}, {"256", "3072", false}, {".25 vCPU", "0.5 GB", true},
		{"512", "1024", true}, {"512", "4096", true}, {"512", "5120", false},
		{"1024", "2048", true}, {"1 vCPU", "8 GB", true}, {"1024", "1024", false},
		{"2048", "16384", true}, {"4096", "30720", true}, {"4096", "31744", false},
		{"8192", "16384", true}, {"8192", "17408", false}, {"16384", "122880", true}, {"16384", "40960", true}, {"16384", "36864", false},
		{"300", "512", false}, {"x", "512", false},
	} {
		cu, ok1 := cpuUnits(c.cpu)
		mm, ok2 := memMiB(c.mem)
		if got := ok1 && ok2 && fargateMemoryOK(cu, mm); got != c.ok {
			t.Errorf("cpu %s memory %s: Fargate size %v, want %v", c.cpu, c.mem, got, c.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Cluster: "a b"}, "ecs.cluster"},
		{Config{StepDelay: 2 * time.Minute}, "ecs.step_delay"},
		{Config{StopTimeout: 3 * time.Minute}, "ecs.stop_timeout"},
		{Config{MaxTasks: 5000}, "ecs.max_tasks"},
		{Config{MaxStopped: -1}, "ecs.max_stopped"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	if err := Defaults("aws").Validate(); err != nil {
		t.Errorf("aws defaults: %v", err)
	}
	if d := Defaults("aws"); d.StopTimeout != 30*time.Second {
		t.Errorf("aws stop timeout %s, want ECS's 30s", d.StopTimeout)
	}
}

// Label addresses stay inside the subnet and off the addresses AWS
// reserves (the first four and the last).
func TestLabelIP(t *testing.T) {
	s := &Service{}
	p := netip.MustParsePrefix("10.0.3.0/28")
	seen := map[string]bool{}
	for range 40 {
		ip := netip.MustParseAddr(s.labelIP(p.String()))
		if !p.Contains(ip) || ip.As4()[3] < 4 || ip.As4()[3] == 15 {
			t.Fatalf("label %s outside the usable part of %s", ip, p)
		}
		seen[ip.String()] = true
	}
	if len(seen) != 11 {
		t.Errorf("%d distinct labels in a /28, want 11", len(seen))
	}
}
