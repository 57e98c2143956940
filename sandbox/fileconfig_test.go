package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-dev/gameday/internal/inputfile"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := LoadConfig(write("ok.yaml", "api_port: 4566\nfault_seed: 7\n"))
	if err != nil || cfg.APIPort != 4566 || cfg.FaultSeed != 7 {
		t.Fatalf("valid config: %+v, %v", cfg, err)
	}
	if _, err := LoadConfig(write("typo.yaml", "api_prot: 4566\n")); err == nil || !strings.Contains(err.Error(), "api_prot") {
		t.Errorf("unknown key: %v, want it named", err)
	}
	// Bounded: a device or an oversized file is refused before it is read.
	if _, err := LoadConfig("/dev/zero"); !errors.As(err, new(*inputfile.NotRegularError)) {
		t.Errorf("/dev/zero: %v, want a not-a-regular-file error", err)
	}
	big := write("big.yaml", "# "+strings.Repeat("x", MaxConfigBytes)+"\n")
	if _, err := LoadConfig(big); !errors.As(err, new(*inputfile.TooLargeError)) {
		t.Errorf("oversized config: %v, want a too-large error", err)
	}
}
