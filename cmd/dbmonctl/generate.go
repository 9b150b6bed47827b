package main

import (
	"fmt"
	"github.com/dbmonctl/dbmonctl/specs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/outdir"
	"github.com/dbmonctl/dbmonctl/internal/target"
)

// defaultOut is generate's output directory when --out is not given.
const defaultOut = "generated"

type generateOptions struct {
	out     string
	check   bool
	prune   bool
	schema  string
	targets []string
	target  target.Options
	// namespaceSet, labelsSet and secretNameSet say which placement flags
	// were given: the others come from the config's prometheus_operator.
	namespaceSet, labelsSet, secretNameSet bool
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
when any file on disk differs or is stale — the drift check for CI.

--target picks the rule engines (repeatable; default prometheus, the
prometheus/ and alertmanager/ files above):

  prometheus-operator  prometheus-operator/prometheusrule.yaml (PrometheusRule)
                       prometheus-operator/alertmanagerconfig.yaml (AlertmanagerConfig)
                       in --namespace, labelled with every --rule-label; each
                       alert carries namespace=<--namespace>, which the
                       operator's OnNamespace matcher strategy routes on; the
                       receivers' secrets are keys of the Secret --secret-name
  vmalert              vmalert/alerts.yml, vmalert/alerts_test.yml (run by
                       vmalert-tool unittest as is), alertmanager/
  thanos-ruler         thanos-ruler/alerts.yml (partial_response_strategy:
                       abort), alertmanager/`,
		Example: `  dbmonctl generate
  dbmonctl generate --config dbmonctl.yaml --out deploy/monitoring
  dbmonctl generate --check   # in CI: fail when generated/ is stale
  dbmonctl generate --target prometheus-operator --namespace db --rule-label release=prometheus
  dbmonctl generate --target prometheus --target vmalert`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.namespaceSet = cmd.Flags().Changed("namespace")
			o.labelsSet = cmd.Flags().Changed("rule-label")
			o.secretNameSet = cmd.Flags().Changed("secret-name")
			return runGenerate(a, o)
		},
	}
	cmd.Flags().StringVar(&o.out, "out", defaultOut, "output directory")
	cmd.Flags().BoolVar(&o.check, "check", false, "write nothing; exit 1 with a diff when files on disk differ")
	cmd.Flags().BoolVar(&o.prune, "prune", false, "remove files under --out that the spec no longer produces")
	cmd.Flags().StringVar(&o.schema, "schema", schemaV1, "dashboard schema: v1, or v2 to also write "+fileDashboardV2+" (a dashboard.grafana.app/v2 resource)")
	cmd.Flags().StringArrayVar(&o.targets, "target", []string{target.Prometheus}, "rule engine to write files for, repeatable: "+strings.Join(target.Names(), ", "))
	cmd.Flags().StringVar(&o.target.Namespace, "namespace", "", "prometheus-operator: namespace of the resources, and of every alert's namespace label (default: the config's prometheus_operator.namespace)")
	cmd.Flags().StringToStringVar(&o.target.Labels, "rule-label", nil, "prometheus-operator: key=value label of the resources, repeatable (what the ruleSelector selects, e.g. release=prometheus; default: prometheus_operator.labels)")
	cmd.Flags().StringVar(&o.target.SecretName, "secret-name", "", "prometheus-operator: the Secret holding the receivers' secrets, one key per secret file (default: prometheus_operator.secret_name)")
	return cmd
}

func runGenerate(a *app, o generateOptions) error {
	if o.check && o.prune {
		return usageError("--check and --prune are exclusive: --check writes nothing")
	}
	if err := target.Check(o.targets, o.target); err != nil {
		return usageError("%v", err)
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
	// The config places the operator's resources; the flags override it.
	po := p.Config.PrometheusOperator
	if !o.namespaceSet {
		o.target.Namespace = po.Namespace
	}
	if !o.labelsSet {
		o.target.Labels = po.Labels
	}
	if !o.secretNameSet {
		o.target.SecretName = po.SecretName
	}
	if err := target.Check(o.targets, o.target); err != nil {
		return usageError("%v", err)
	}
	o.target.EvaluationInterval = p.Config.Alerting.EvaluationInterval.Std()
	o.target.ScrapeInterval = p.Config.Prometheus.ScrapeInterval.Std()
	o.target.Header = specs.GeneratedHeader
	if files, err = target.Apply(files, o.targets, o.target); err != nil {
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
