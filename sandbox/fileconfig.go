package sandbox

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"

	"github.com/gameday-dev/gameday/internal/inputfile"
)

// MaxConfigBytes bounds a sandbox config file (it holds timings, sizes and
// API faults: a few kilobytes).
const MaxConfigBytes = 1 << 20

// LoadConfig reads a sandbox config file (YAML: region timings, group size,
// ports, api_faults). Unknown keys are errors. Only a regular file of at
// most MaxConfigBytes is read (never a FIFO or a device).
func LoadConfig(path string) (Config, error) {
	var cfg Config
	b, err := inputfile.Read(path, MaxConfigBytes)
	if err != nil {
		return cfg, fmt.Errorf("sandbox config: %w", err)
	}
	v := viper.New()
	typ := strings.TrimPrefix(filepath.Ext(path), ".")
	if typ == "" || typ == "yml" {
		typ = "yaml"
	}
	v.SetConfigType(typ)
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := v.UnmarshalExact(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
