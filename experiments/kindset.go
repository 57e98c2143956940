package experiments

import (
	"fmt"
	"sync"
)

// kindSet is a registry of kinds by name that packages fill at init (fault
// kinds from package faults, probe kinds from package probes, which
// experiments cannot import). A name registered twice panics.
type kindSet[K any] struct {
	what   string // "fault", "probe": for the panics
	mu     sync.RWMutex
	byName map[string]K
}

func (s *kindSet[K]) add(name string, k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		panic("experiments: " + s.what + " kind without a name")
	}
	if _, dup := s.byName[name]; dup {
		panic(fmt.Sprintf("experiments: %s kind %q registered twice", s.what, name))
	}
	if s.byName == nil {
		s.byName = map[string]K{}
	}
	s.byName[name] = k
}

func (s *kindSet[K]) lookup(name string) (K, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byName[name]
	return k, ok
}

// all returns every registered kind, in no particular order.
func (s *kindSet[K]) all() []K {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]K, 0, len(s.byName))
	for _, k := range s.byName {
		out = append(out, k)
	}
	return out
}
