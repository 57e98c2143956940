package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

type own struct{}

func (own) Error() string { return "own" }
func (own) ExitCode() int { return BadInput }

func TestOf(t *testing.T) {
	base := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		code int
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"plain", base, 0, false},
		{"with", With(Rollback, base), Rollback, true},
		{"wrapped", fmt.Errorf("ctx: %w", With(Error, base)), Error, true},
		{"outermost wins", With(Rollback, fmt.Errorf("x: %w", With(BadInput, base))), Rollback, true},
		{"own coder", fmt.Errorf("x: %w", own{}), BadInput, true},
	} {
		code, ok := Of(tc.err)
		if code != tc.code || ok != tc.ok {
			t.Errorf("%s: Of = %d, %v; want %d, %v", tc.name, code, ok, tc.code, tc.ok)
		}
	}
	if With(BadInput, nil) != nil {
		t.Error("With(code, nil) is not nil")
	}
	e := With(Rollback, base)
	if !errors.Is(e, base) || e.Error() != "boom" {
		t.Errorf("With hides its error: %v", e)
	}
}
