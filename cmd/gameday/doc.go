// Command gameday runs resilience experiments against AWS web stacks and
// against its embedded sandbox region. See the README for the commands and
// exit codes.
package main
