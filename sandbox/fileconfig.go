package sandbox

import (
	"fmt"

	"github.com/spf13/viper"
)

// LoadConfig reads a sandbox config file (YAML: region timings, group size,
// ports, api_faults). Unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := v.UnmarshalExact(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
