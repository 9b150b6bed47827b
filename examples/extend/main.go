// Command extend is a monitoring pack built in Go: dbmonctl's default pack
// plus a 13th alert, TransactionRollbackRateHigh, and the dashboard panel
// that plots it. The alert is one value in one family; the pack gives it
// its rule, its promtool and in-process tests, its runbook, its routing
// and inhibition tests and every cross-check.
//
//	go run ./examples/extend -out generated-extended
//
// It writes the same files as `dbmonctl generate`, or prints the findings
// and exits 2 when the pack does not pass the checks.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
	"github.com/dbmonctl/dbmonctl/specs"
)

// The extension's names.
const (
	AlertRollbacks  = "TransactionRollbackRateHigh"
	FamilyRollbacks = "transaction_rollbacks"
	PanelRollbacks  = 11
)

// rollbackLevel is the alert's threshold: more than 10 % of transactions
// rolled back, for 10 minutes.
var rollbackLevel = specs.Level{Threshold: 0.1, For: specs.Duration(600e9)}

// Rollbacks is the family of the extension: the share of transactions that
// end in a rollback.
func Rollbacks(e *specs.Env) specs.Family {
	q := e.Query
	l := rollbackLevel
	count := middleware.MetricTxDuration + "_count"
	outcome := func(o middleware.TxOutcome) string { return fmt.Sprintf("%s=%q", middleware.LabelOutcome, o) }
	a := specs.Alert{
		Name:     AlertRollbacks,
		Severity: specs.SeverityWarning,
		Family:   FamilyRollbacks,
		Expr:     q.GuardedRatio(q.Select(count, outcome(middleware.TxRollback)), q.Select(count), nil, ">", l.Threshold),
		For:      l.For,
		Panel:    PanelRollbacks,
		Humanize: "humanizePercentage",
		Text: func(v string, label func(string) string) (string, string) {
			return fmt.Sprintf("Transactions roll back above %s for %s", specs.FormatPercent(l.Threshold), q.Who(label)),
				fmt.Sprintf("%s of the transactions of %s ended in a rollback (warning above %s for %s, with %s).",
					v, q.Who(label), specs.FormatPercent(l.Threshold), l.For, q.Traffic())
		},
		Runbook: specs.Runbook{
			Summary: fmt.Sprintf("More than %s of the application's transactions end in a rollback.", specs.FormatPercent(l.Threshold)),
			Fires:   fmt.Sprintf("rolled-back transactions are more than %s of all transactions, for %s", specs.FormatPercent(l.Threshold), l.For),
			Meaning: []string{"The application gives up on its own work: a constraint, a deadlock or a serialization failure, or code that rolls back on a business error."},
			Impact:  "Users' writes fail or are retried; retries add load.",
			Causes:  []string{"Deadlocks or serialization failures under contention.", "A deploy that rolls back on a new error path."},
			Checks:  []string{"Read the application's error logs around the rollbacks.", "Compare with deploys and with the error-rate alert."},
			PromQL: []specs.RunbookQuery{{
				Comment: "share of transactions rolled back, 0–1",
				Expr:    q.SumRate(q.Select(count, outcome(middleware.TxRollback))) + " / " + q.SumRate(q.Select(count)),
			}},
			Mitigate: []string{"Retry deadlocked transactions with backoff; take locks in a consistent order."},
			Related:  []string{specs.AlertQueryErrorRateHigh},
		},
	}
	a.Cases = e.Tests(func(k *specs.TestKit) []rules.TestCase {
		fire := k.Fire(l)
		n := k.Steps(fire)
		series := func(share float64) []rules.Series {
			return []rules.Series{
				k.Series(count, map[string]string{middleware.LabelOutcome: string(middleware.TxCommit)}, specs.Counter(k.PerStep()*(1-share), n)),
				k.Series(count, map[string]string{middleware.LabelOutcome: string(middleware.TxRollback)}, specs.Counter(k.PerStep()*share, n)),
			}
		}
		return []rules.TestCase{
			k.Case(a.Name, "20% rollbacks fire after 10m, not one evaluation earlier", series(0.2),
				specs.AlertCheck(a.Name, fire-k.Eval()), specs.AlertCheck(a.Name, fire, k.Expect(a, 0.2, nil))),
			k.Case(a.Name, "9% rollbacks, just under 10%, do not fire", series(0.09), specs.AlertCheck(a.Name, fire)),
		}
	})
	return specs.Family{Name: FamilyRollbacks, Alerts: []specs.Alert{a}}
}

// RollbackPanel plots the rollback share the alert watches. Its
// description names the alert without being told: the pack adds the
// alerts whose dashboard link opens the panel.
func RollbackPanel(c specs.Config) []specs.Panel {
	var m []string
	for _, l := range c.Service.IdentityLabels {
		m = append(m, fmt.Sprintf(`%s=~"$%s"`, l, l))
	}
	sel := func(extra ...string) string {
		all := append(append([]string(nil), m...), extra...)
		s := ""
		for i, x := range all {
			if i > 0 {
				s += ", "
			}
			s += x
		}
		return middleware.MetricTxDuration + "_count{" + s + "}"
	}
	rollback := fmt.Sprintf("%s=%q", middleware.LabelOutcome, middleware.TxRollback)
	return []specs.Panel{{About: "Share of transactions that ended in a rollback; the red line is the alert's threshold.", Panel: dashboard.Panel{
		ID:    PanelRollbacks,
		Title: "Transaction Rollbacks",
		Kind:  dashboard.KindTimeseries,
		Grid:  dashboard.GridPos{X: 0, Y: 33, W: 24, H: 8},
		Unit:  "percentunit",
		Min:   dashboard.Float(0),
		Thresholds: []dashboard.Step{
			{Value: nil, Color: "green"},
			{Value: dashboard.Float(rollbackLevel.Threshold), Color: "red"},
		},
		ThresholdLines: true,
		Queries: []dashboard.Query{{
			RefID:        "A",
			Expr:         fmt.Sprintf("sum(rate(%s[$__rate_interval])) / (sum(rate(%s[$__rate_interval])) > 0)", sel(rollback), sel()),
			LegendFormat: "rolled back",
		}},
	}}}
}

// Options are the extension's additions to the default pack.
func Options() []specs.Option {
	return []specs.Option{specs.WithFamilies(Rollbacks), specs.WithPanels(RollbackPanel)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "generated-extended", "directory to write the pack to")
	test := fs.Bool("test", false, "run the pack's tests in process instead of writing it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p, errs := specs.Check(specs.Default(), specs.Source{}, Options()...)
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if p == nil || len(diag.Errors(errs)) > 0 {
		return 2
	}
	if *test {
		sum := specs.RunTests(context.Background(), p)
		for _, f := range sum.Failures {
			fmt.Fprintf(stdout, "FAILED: %s\n", f)
		}
		fmt.Fprintf(stdout, "%d passed, %d failed\n", sum.Passed, sum.Failed)
		if sum.Failed > 0 {
			return 1
		}
		return 0
	}
	files, err := p.Files()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(*out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "wrote %d files to %s\n", len(files), *out)
	return 0
}
