package record

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Run records written before Recovery and Status had their own types read
// back unchanged and write back byte for byte: the file format did not move.
func TestReadWriteCurrentFormat(t *testing.T) {
	for _, name := range []string{"v1-never-recovered.json", "v1-passed.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "run.json")
			if err := Write(out, r); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, want) {
				t.Errorf("%s does not write back as it was read", name)
			}
		})
	}
}

// "Never recovered" is Recovered false, not a -1 duration, once read.
func TestNeverRecoveredIsNotMinusOne(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "v1-never-recovered.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusAborted {
		t.Errorf("status %q, want %q", r.Status, StatusAborted)
	}
	never := 0
	for _, f := range r.Faults {
		rc := f.Recovery
		if rc.TimeToRecover < 0 || rc.ImpactDuration < 0 {
			t.Errorf("%s: time to recover %v, impact %v: a negative duration in memory", f.Name, rc.TimeToRecover, rc.ImpactDuration)
		}
		if rc.Never() {
			never++
		}
	}
	if never == 0 {
		t.Fatal("the fixture has no fault that never recovered")
	}
}
