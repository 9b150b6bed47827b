// Command dbmonctl compiles the dbmonctl monitoring pack (Grafana dashboard,
// Prometheus rules and tests, Alertmanager routing) from typed definitions,
// validates and tests it, and pushes the dashboard to Grafana.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
