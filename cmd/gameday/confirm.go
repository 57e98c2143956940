package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gameday-dev/gameday/internal/exitcode"
	"github.com/gameday-dev/gameday/runner"
)

// The terminal the confirmation is read from; tests replace them.
var (
	stdin           io.Reader = os.Stdin
	stdinIsTerminal           = func() bool { return isTerminal(os.Stdin) }
)

// confirm asks before faults are injected into a real account: it lists
// the resolved targets (the same text `gameday plan` prints) and wants
// "yes". --yes skips it; without a terminal to ask on, it refuses. The
// sandbox needs no confirmation.
func confirm(p *runner.Prepared, yes, listed bool, stderr io.Writer) error {
	if yes || p.Experiment.Target.Kind != "aws" || len(p.Faults) == 0 {
		return nil
	}
	if !listed {
		fmt.Fprint(stderr, p.PlanText())
	}
	where := fmt.Sprintf("AWS account %s, region %s", p.Account, p.Region)
	if !stdinIsTerminal() {
		return exitcode.With(exitcode.BadInput, fmt.Errorf("refusing to inject %d fault(s) into %s without confirmation: run it on a terminal, or pass --yes after checking `gameday plan`", len(p.Faults), where))
	}
	fmt.Fprintf(stderr, "\nInject the faults above into %s? Type yes to go on: ", where)
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return exitcode.With(exitcode.BadInput, fmt.Errorf("read confirmation: %w", err))
	}
	if strings.TrimSpace(line) != "yes" {
		return exitcode.With(exitcode.BadInput, errors.New("not confirmed; nothing was injected"))
	}
	return nil
}
