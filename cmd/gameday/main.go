package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gameday-dev/gameday/internal/exitcode"
)

func main() {
	stopProfile := startCPUProfile()
	ctx, cancel := context.WithCancel(context.Background())
	s := new(session)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		words, graceful := firstSignal(s.commandName(), sig)
		fmt.Fprintf(os.Stderr, "\ngameday: %s\n", words)
		if !graceful {
			os.Exit(exitcode.Interrupted)
		}
		cancel()
		<-sigs
		words, code := secondSignal(s.commandName(), s.activeJournal())
		fmt.Fprintf(os.Stderr, "gameday: second signal: %s\n", words)
		os.Exit(code)
	}()
	code := s.main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	stopProfile()
	os.Exit(code)
}
