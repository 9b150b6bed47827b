package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/outdir"
)

// defaultOut is generate's output directory when --out is not given.
const defaultOut = "generated"

type generateOptions struct {
	out    string
	check  bool
	prune  bool
	schema string
}

func newGenerateCmd(a *app) *cobra.Command {
	var o generateOptions
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the dashboard, alert rules and tests, Alertmanager and Prometheus config, runbooks",
		Long: `generate renders the monitoring pack of the spec (the embedded default, or it
overlaid with --config) into --out:

  grafana/dashboard.json          the 7-panel dashboard (Grafana v1 JSON)
  grafana/provisioning.yaml       a file-provisioning provider for that JSON
  prometheus/alerts.yml           the 12 alert rules
  prometheus/alerts_test.yml      their unit tests (promtool test rules)
  prometheus/prometheus.yml       scrape config, rule_files and alerting
  alertmanager/alertmanager.yml   the routing tree, receivers, inhibitions
  runbooks/<Alert>.md             one runbook per alert

The spec is validated first; with findings nothing is written (exit 3).
Output is byte-for-byte deterministic and every file is written atomically.
Files under --out that the spec no longer produces are reported as stale and
kept unless --prune is given.

With --check nothing is written: generate exits 1 and prints a unified diff
when any file on disk differs or is stale — the drift check for CI.`,
		Example: `  dbmonctl generate
  dbmonctl generate --config dbmonctl.yaml --out deploy/monitoring
  dbmonctl generate --check   # in CI: fail when generated/ is stale`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerate(a, o)
		},
	}
	cmd.Flags().StringVar(&o.out, "out", defaultOut, "output directory")
	cmd.Flags().BoolVar(&o.check, "check", false, "write nothing; exit 1 with a diff when files on disk differ")
	cmd.Flags().BoolVar(&o.prune, "prune", false, "remove files under --out that the spec no longer produces")
	cmd.Flags().StringVar(&o.schema, "schema", schemaV1, "dashboard schema: v1, or v2 to also write "+fileDashboardV2+" (a dashboard.grafana.app/v2 resource)")
	return cmd
}

func runGenerate(a *app, o generateOptions) error {
	if o.check && o.prune {
		return usageError("--check and --prune are exclusive: --check writes nothing")
	}
	p, err := a.loadPack()
	if err != nil {
		return err
	}
	files, err := p.Files()
	if err != nil {
		return err
	}
	if err := addSchemaFiles(files, p, o.schema); err != nil {
		return err
	}
	changes, err := outdir.Plan(o.out, files)
	if err != nil {
		return err
	}
	var outFlags []string
	if o.out != defaultOut {
		outFlags = []string{"--out", o.out}
	}
	if o.check {
		return reportDrift(a, o, changes, len(files), outFlags)
	}
	var pending, stale int
	for _, c := range changes {
		switch {
		case c.State == outdir.Stale && !o.prune:
			stale++
			a.log.Warn("stale file: the spec no longer produces it (remove it, or rerun with --prune)", "file", filepath.Join(o.out, c.Path))
		case c.State != outdir.Unchanged:
			pending++
		}
	}
	// Report only what happened: a line per file once it is in place, and
	// on failure what was and was not done.
	done, err := outdir.Apply(o.out, changes, o.prune)
	for _, c := range done {
		verb := c.State.String()
		if c.State == outdir.Stale {
			verb = "removed"
		}
		fmt.Fprintf(a.stdout, "%s %s\n", verb, filepath.Join(o.out, c.Path))
	}
	if err != nil {
		if len(done) == 0 {
			return fmt.Errorf("nothing was written to %s: %w", o.out, err)
		}
		return fmt.Errorf("%d of %d change(s) under %s were made (listed above), the rest were not: %w; fix the cause and run %s", len(done), pending, o.out, err, a.hint("generate", outFlags...))
	}
	if pending == 0 {
		fmt.Fprintf(a.stdout, "%s is up to date (%d files)\n", o.out, len(files))
	}
	return nil
}

// reportDrift prints the diff of every file that differs and fails when
// any does: generate --check, the CI drift check.
func reportDrift(a *app, o generateOptions, changes []outdir.Change, nfiles int, outFlags []string) error {
	drift := 0
	for _, c := range changes {
		if c.State != outdir.Unchanged {
			drift++
			fmt.Fprint(a.stdout, outdir.Diff(c))
		}
	}
	if drift > 0 {
		return fmt.Errorf("%d file(s) under %s differ from the spec; run %s", drift, o.out, a.hint("generate", outFlags...))
	}
	fmt.Fprintf(a.stdout, "%s is up to date (%d files)\n", o.out, nfiles)
	return nil
}
