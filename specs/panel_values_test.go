package specs

import (
	"strings"
	"testing"
)

// A panel's description names the alerts it shows from the pack, never by
// hand: its About names none, and every alert is named by the panel its
// dashboard link opens.
func TestPanelDescriptionsNameThePacksAlerts(t *testing.T) {
	p := Build(Default())
	for _, panel := range p.Panels {
		for _, a := range p.Alerts {
			if strings.Contains(panel.About, a.Name) {
				t.Errorf("panel %q names %s by hand: %q", panel.Title, a.Name, panel.About)
			}
		}
		if panel.Description != "" {
			t.Errorf("panel %q sets Description, which the pack writes", panel.Title)
		}
	}
	for _, a := range p.Alerts {
		d := panelByID(t, p.Dashboard, uint32(a.Panel)).Description
		if !strings.Contains(d, a.Name+" ("+a.Severity+", for "+a.For.String()+"): "+a.Runbook.Summary) {
			t.Errorf("%s: the panel its link opens does not name it: %q", a.Name, d)
		}
	}
}

// Replacing a family changes the descriptions of the panels that show it.
func TestPanelDescriptionsFollowAReplacedFamily(t *testing.T) {
	pool := func(e *Env) Family {
		a := Alert{
			Name: "PoolExhausted", Severity: SeverityCritical, Family: FamilyConnectionPool, For: Duration(60e9), Panel: PanelPool,
			Expr: "vector(1)", Humanize: "humanize",
			Text:    func(string, func(string) string) (string, string) { return "s", "d" },
			Runbook: Runbook{Summary: "Every connection of the pool is in use."},
		}
		return Family{Name: FamilyConnectionPool, Alerts: []Alert{a}}
	}
	p := Build(Default(), WithFamilies(pool))
	d := panelByID(t, p.Dashboard, PanelPool).Description
	if !strings.Contains(d, "Alerts: PoolExhausted (critical, for 1m): Every connection of the pool is in use.") {
		t.Errorf("the pool panel does not name the family's new alert: %q", d)
	}
	for _, gone := range []string{AlertConnectionPoolSaturated, AlertConnectionPoolWaits} {
		if strings.Contains(d, gone) {
			t.Errorf("the pool panel still names %s, which the pack no longer has: %q", gone, d)
		}
	}
	if d := panelByID(t, p.Dashboard, PanelPoolWaits).Description; strings.Contains(d, "Alerts:") {
		t.Errorf("no alert links the pool-wait panel any more, yet it names one: %q", d)
	}
}

// An alert without Text is a finding of the alert-set check, not a panic
// while the pack is built.
func TestAlertWithoutTextIsAFinding(t *testing.T) {
	quiet := func(e *Env) Family {
		a := Alert{
			Name: "PoolQuiet", Severity: SeverityWarning, Family: "quiet", For: Duration(60e9), Panel: PanelPool,
			Expr: "vector(1)", Humanize: "humanize",
			Runbook: Runbook{Summary: "s", Fires: "f", Checks: []string{"c"}},
		}
		return Family{Name: "quiet", Alerts: []Alert{a}}
	}
	_, errs := Check(Default(), Source{}, WithFamilies(quiet))
	found := false
	for _, err := range errs {
		if strings.Contains(err.Error(), "alert PoolQuiet has no summary and description") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no finding for an alert without Text; findings: %v", errs)
	}
}
