package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/specs"
)

func newTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test",
		Short: "Run the alert rule unit tests and the routing and inhibition tests in process",
		Long: `test runs every typed test of the spec in process, with no external binary:

  - the alert rule unit tests, on the real Prometheus rule engine (the same
    cases generate writes to prometheus/alerts_test.yml for promtool);
  - the routing tests (alert labels → the exact ordered receivers), with
    Alertmanager's own route matching, as amtool config routes test does;
  - the inhibition tests (which firing alerts mute which), with
    Alertmanager's own matchers.

It prints failures in expected/got form and a summary line, and exits 1
when any test fails.`,
		Example: `  dbmonctl test
  dbmonctl test --config dbmonctl.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTest(a, cmd)
		},
	}
}

func runTest(a *app, cmd *cobra.Command) error {
	p, err := a.loadPack()
	if err != nil {
		return err
	}
	sum := specs.RunTests(cmd.Context(), p)
	for _, f := range sum.Failures {
		fmt.Fprintf(a.stdout, "FAILED: %s\n\n", f)
	}
	for _, s := range sum.Suites {
		fmt.Fprintf(a.stdout, "%-12s %d passed, %d failed\n", s.Name, s.Passed, s.Failed)
	}
	fmt.Fprintf(a.stdout, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	if sum.Failed > 0 {
		return withCode(ExitFailure, errSilent)
	}
	return nil
}
