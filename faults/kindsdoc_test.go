package faults_test

import (
	"flag"
	"os"
	"testing"

	"github.com/gameday-dev/gameday/faults"
)

var update = flag.Bool("update", false, "rewrite docs/fault-kinds.md from the registry")

// docs/fault-kinds.md is the registry's own description of every kind.
func TestKindsDoc(t *testing.T) {
	const path = "../docs/fault-kinds.md"
	want := faults.KindsMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is not what the registry says; run: go test ./faults/ -run TestKindsDoc -update", path)
	}
	for _, k := range faults.Kinds() {
		if kk, _ := faults.Lookup(k); kk.Doc == "" {
			t.Errorf("kind %s registers no Doc", k)
		}
	}
}
