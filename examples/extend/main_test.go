package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
	"github.com/dbmonctl/dbmonctl/specs"
)

func TestTheExtraAlertGetsEveryArtifactAndPassesEveryCheck(t *testing.T) {
	p, errs := specs.Check(specs.Default(), specs.Source{}, Options()...)
	if errs := diag.Errors(errs); len(errs) > 0 || p == nil {
		t.Fatalf("findings: %v", errs)
	}
	if len(p.Alerts) != 13 {
		t.Fatalf("%d alerts, want the default 12 and %s", len(p.Alerts), AlertRollbacks)
	}

	var rule *rules.Rule
	for i, r := range p.RuleGroups[0].Rules {
		if r.Alert == AlertRollbacks {
			rule = &p.RuleGroups[0].Rules[i]
		}
	}
	if rule == nil || !strings.Contains(rule.Expr, `outcome="rollback"`) || rule.Labels[specs.LabelFamily] != FamilyRollbacks {
		t.Fatalf("rule of %s: %+v", AlertRollbacks, rule)
	}

	// Its cases run, with every other case, on the real rule engine.
	fires, quiet := 0, 0
	for _, tc := range p.RuleTests {
		for _, at := range tc.AlertTests {
			if at.Alertname != AlertRollbacks {
				continue
			}
			if len(at.ExpAlerts) > 0 {
				fires++
			} else {
				quiet++
			}
		}
	}
	if fires == 0 || quiet == 0 {
		t.Errorf("%s has %d firing and %d quiet checks, want both", AlertRollbacks, fires, quiet)
	}
	sum := specs.RunTests(context.Background(), p)
	if sum.Failed > 0 {
		t.Fatalf("tests failed: %v", sum.Failures)
	}

	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	// The runbook template executes for every alert, the default ones and
	// the extension's, whose content is written in Go.
	for _, a := range p.Alerts {
		if len(files["runbooks/"+a.Name+".md"]) == 0 {
			t.Errorf("no runbook for %s", a.Name)
		}
	}
	book := string(files["runbooks/"+AlertRollbacks+".md"])
	for _, want := range []string{"# " + AlertRollbacks, "more than 10%", "Transaction Rollbacks", "While QueryMetricsAbsent fires"} {
		if !strings.Contains(book, want) {
			t.Errorf("runbook lacks %q:\n%s", want, book)
		}
	}
	if !bytes.Contains(files["grafana/dashboard.json"], []byte(`"title": "Transaction Rollbacks"`)) {
		t.Error("dashboard has no rollback panel")
	}
	for _, panel := range p.Dashboard.Panels {
		if panel.ID == PanelRollbacks && !strings.Contains(panel.Description, AlertRollbacks+" (warning, for 10m): More than 10%") {
			t.Errorf("the rollback panel's description does not name the alert that links to it: %q", panel.Description)
		}
	}

	routed, muted := false, false
	for _, rt := range p.RouteTests {
		routed = routed || (rt.Labels["alertname"] == AlertRollbacks && rt.Receivers[0] == specs.ReceiverWarning)
	}
	for _, it := range p.InhibitionTests {
		for _, m := range it.Muted {
			muted = muted || m["alertname"] == AlertRollbacks
		}
	}
	if !routed || !muted {
		t.Errorf("route test for %s: %v; inhibition test muting it: %v", AlertRollbacks, routed, muted)
	}
}

// broken changes the extension's family.
func broken(change func(a *specs.Alert)) specs.FamilyFunc {
	return func(e *specs.Env) specs.Family {
		f := Rollbacks(e)
		change(&f.Alerts[0])
		return f
	}
}

func TestABrokenExtensionIsRejectedWithAFinding(t *testing.T) {
	for _, tt := range []struct {
		name   string
		family specs.FamilyFunc
		check  string
	}{
		{"no case where it must not fire", broken(func(a *specs.Alert) {
			var keep []rules.TestCase
			for _, tc := range a.Cases {
				var firing []rules.AlertTest
				for _, at := range tc.AlertTests {
					if len(at.ExpAlerts) > 0 {
						firing = append(firing, at)
					}
				}
				if len(firing) > 0 {
					tc.AlertTests = firing
					keep = append(keep, tc)
				}
			}
			a.Cases = keep
		}), specs.CheckAlertTests},
		{"an unknown metric", broken(func(a *specs.Alert) {
			a.Expr = strings.ReplaceAll(a.Expr, middleware.MetricTxDuration, "db_transactions_rolled_back")
		}), specs.CheckPromQL},
		{"no runbook", broken(func(a *specs.Alert) { a.Runbook = specs.Runbook{} }), specs.CheckRunbook},
		{"a name the pack already has", broken(func(a *specs.Alert) { a.Name = specs.AlertQueryErrorRateHigh }), specs.CheckAlertSet},
		{"a panel the dashboard does not have", broken(func(a *specs.Alert) { a.Panel = 99 }), specs.CheckAlertPanel},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := specs.Check(specs.Default(), specs.Source{}, specs.WithFamilies(tt.family), specs.WithPanels(RollbackPanel))
			found := false
			for _, e := range diag.Errors(errs) {
				found = found || diag.As(e).ID == tt.check
			}
			if !found {
				t.Errorf("no %s finding among %v", tt.check, errs)
			}
		})
	}
}

func TestRunWritesThePack(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"-out", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "wrote 21 files") {
		t.Errorf("stdout %q", out.String())
	}
}
