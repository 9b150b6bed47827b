package specs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The shared passages of common.md.tmpl; every other define is a section
// of a template set.
var rbShared = []string{"notified", "guard.traffic", "guard.baseline", "check.explain", "sql.running", "sql.held", "shell.slow-log"}

func TestRunbookTemplatesParseAndEverySetIsComplete(t *testing.T) {
	tpl, err := rbTemplates()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range rbSections {
		known[s.name] = true
	}
	sets := map[string]map[string]bool{}
	for _, d := range tpl.Templates() {
		name := d.Name()
		if strings.HasSuffix(name, ".md.tmpl") || name == "runbooks" || slices.Contains(rbShared, name) {
			continue
		}
		set, section, ok := strings.Cut(name, ".")
		if !ok || !known[section] {
			t.Errorf("template %q is neither a shared passage nor <set>.<section> with a section of %v", name, rbSections)
			continue
		}
		if sets[set] == nil {
			sets[set] = map[string]bool{}
		}
		sets[set][section] = true
	}
	for _, name := range rbShared {
		if tpl.Lookup(name) == nil {
			t.Errorf("shared passage %q is not defined", name)
		}
	}
	if tpl.Lookup(rbSkeleton) == nil {
		t.Errorf("no %s", rbSkeleton)
	}
	for set, have := range sets {
		for _, s := range rbSections {
			if s.required && !have[s.name] {
				t.Errorf("template set %s has no %s section", set, s.name)
			}
		}
	}
	// Every set is the prose of an alert of the default pack, and the
	// other way round: a set no alert uses is dead text.
	if len(sets) != 9 {
		t.Errorf("%d template sets, want the 9 runbook texts of the 12 default alerts: %v", len(sets), sets)
	}
}

func TestRunbookTemplatesExecuteForEveryAlert(t *testing.T) {
	bare := Default()
	bare.Service.Selector = ""
	bare.Prometheus.Targets = nil
	for name, c := range map[string]Config{"default": Default(), "modified": rbModified(), "no selector, no targets": bare} {
		t.Run(name, func(t *testing.T) {
			p := Build(c)
			if len(p.runbookErrs) > 0 {
				t.Fatalf("prose templates failed: %v", errors.Join(p.runbookErrs...))
			}
			books, err := p.Runbooks()
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Alerts {
				if len(books[a.Name]) == 0 {
					t.Errorf("%s: no runbook", a.Name)
				}
				for _, s := range []string{a.Runbook.Summary, a.Runbook.Fires, a.Runbook.Impact} {
					if s == "" || strings.Contains(s, "<no value>") {
						t.Errorf("%s: a section is empty or names a missing value: %q", a.Name, s)
					}
				}
			}
		})
	}
}

func TestRunbookProseRejectsUnknownNames(t *testing.T) {
	p := Build(Default())
	r := rbNewContext(p.Config, p.Panels)
	v := rbProse{Alert: p.Alerts[0], r: r}
	tests := []struct {
		name string
		err  error
	}{
		{"an alert that is not in the pack", func() error { _, err := rbAlert("SlowQueryRateCritcal"); return err }()},
		{"a metric that is not in the contract", func() error { _, err := rbMetric("db_query_total"); return err }()},
		{"a label that is not in the contract", func() error { _, err := rbLabel("querytype"); return err }()},
		{"a panel the dashboard does not have", func() error { _, err := v.Panel("Slow Queries"); return err }()},
		{"a severity that does not exist", func() error { _, err := v.Is("crtical"); return err }()},
		{"a list item wrapped onto a second line", func() error { _, err := rbList("- one\n  two"); return err }()},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	for _, ok := range []func() error{
		func() error { _, err := rbAlert(AlertQueryMetricsAbsent); return err },
		func() error { _, err := rbMetric("db_query_duration_seconds"); return err },
		func() error { _, err := rbMetric("db_query_duration_seconds_bucket"); return err },
		func() error { _, err := rbLabel("db_name"); return err },
		func() error { _, err := v.Panel("Connection Pool Waits"); return err },
	} {
		if err := ok(); err != nil {
			t.Errorf("a known name is rejected: %v", err)
		}
	}
}

// A family whose runbook prose fails to execute is a runbook finding of
// Check, and the pack refuses to render its runbooks rather than write a
// runbook without the failed sections.
func TestRunbookProseErrorsAreFindings(t *testing.T) {
	broken := func(e *Env) Family {
		a := Alert{
			Name: "BrokenProse", Severity: SeverityWarning, Family: "broken", Panel: PanelQueryRate,
			Expr: "vector(1)", Humanize: "humanize",
			Text: func(string, func(string) string) (string, string) { return "s", "d" },
		}
		a.Runbook = e.rb.text("no_such_set", a, Level{})
		a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return nil })
		return Family{Name: "broken", Alerts: []Alert{a}}
	}
	p, errs := Check(Default(), Source{}, WithFamilies(broken))
	found := false
	for _, err := range diag.Errors(errs) {
		var d *diag.Error
		if errors.As(err, &d) && d.ID == CheckRunbook && strings.Contains(err.Error(), "no_such_set.summary is not defined") {
			found = true
		}
	}
	if !found {
		t.Errorf("no runbook finding for the missing template set: %v", errs)
	}
	if _, err := p.Files(); err == nil {
		t.Error("Files rendered a pack whose runbook prose failed")
	}
}
