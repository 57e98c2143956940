// Package experiments owns the experiment model: the YAML schema, loading it
// through viper (file, GAMEDAY_* environment, --set overrides), validation
// that names every bad field by its path, and the expression language used by
// steady-state thresholds, stop conditions and gates ("p99 < 300ms",
// "success_ratio < 0.5 for 30s"). The ready-made experiments for the sandbox
// live beside this file as YAML.
package experiments
