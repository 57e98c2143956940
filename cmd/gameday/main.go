// Command gameday runs resilience experiments against AWS web stacks and
// against its embedded sandbox region. See the README for the commands and
// exit codes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		name, _ := command.Load().(string)
		words, graceful := firstSignal(name, s)
		fmt.Fprintf(os.Stderr, "\ngameday: %s\n", words)
		if !graceful {
			os.Exit(exitInterrupted)
		}
		cancel()
		<-sigs
		hint := "gameday rollback"
		if j, ok := activeJournal.Load().(string); ok && j != "" {
			hint += " --journal " + j
		}
		fmt.Fprintf(os.Stderr, "gameday: second signal: exiting without finishing rollback; run `%s` to finish it\n", hint)
		os.Exit(exitRollback)
	}()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
