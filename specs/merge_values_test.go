package specs

import (
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
)

// A fleet's team routes are route values: a team route selects its team
// and holds one severity route per severity to the team's receivers; the
// route tests derived from the values agree with Alertmanager's
// dispatcher on the rendered tree.
func TestFleetTeamRoutesAreValues(t *testing.T) {
	c, _ := loadFleet(t, "dbmonctl.yaml")
	p := Build(c)
	teams := fleetTeams(c)
	if len(teams) == 0 {
		t.Fatal("the fleet fixture has no team with receivers of its own")
	}
	if len(p.Routes) != len(teams)+len(Severities) {
		t.Fatalf("%d routes, want one per team (%d) and one per severity", len(p.Routes), len(teams))
	}
	for i, team := range teams {
		r := p.Routes[i]
		if r.Receiver != teamPrefix(team)+"-default" || len(r.Routes) != len(Severities) || r.Matchers[0] != eq(LabelTeam, team) {
			t.Errorf("route %d: %+v, want team %s with its severity routes", i, r, team)
		}
		got := routeOf(p.Routes, map[string]string{LabelTeam: team, LabelSeverity: SeverityWarning})
		if len(got) != 1 || got[0].Receiver != teamPrefix(team)+"-"+SeverityWarning || got[0].Timing != c.Alertmanager.Warning {
			t.Errorf("a warning of team %s takes %+v", team, got)
		}
	}
	data, err := alertmanager.Render(p.Routing)
	if err != nil {
		t.Fatal(err)
	}
	if res := alertmanager.RunRouteTests(data, p.RouteTests); res.Failed > 0 {
		t.Errorf("the dispatcher disagrees with the route values: %v", res.Failures)
	}
}

// Server-pack panels are panel values: their descriptions are About plus
// the alerts derived from the pack's, and About names no alert.
func TestServerPackPanelsAreValues(t *testing.T) {
	c := Default()
	c.ServerPacks = []string{PackPostgreSQL, PackMySQL}
	p := Build(c)
	byID := map[uint32]Panel{}
	for _, pn := range p.Panels {
		byID[pn.ID] = pn
	}
	desc := map[uint32]string{}
	for _, pn := range p.Dashboard.Panels {
		desc[pn.ID] = pn.Description
	}
	for _, a := range p.Alerts {
		pn, ok := byID[uint32(a.Panel)]
		if !ok {
			t.Errorf("%s links to panel %d, which the pack has not", a.Name, a.Panel)
			continue
		}
		if strings.Contains(pn.About, a.Name) {
			t.Errorf("panel %d's About names %s by hand", pn.ID, a.Name)
		}
		if !strings.Contains(desc[pn.ID], a.Name+" ("+a.Severity) {
			t.Errorf("panel %d's description does not name %s: %s", pn.ID, a.Name, desc[pn.ID])
		}
	}
	if d := desc[PanelMySQLLockTime]; !strings.Contains(d, AlertMySQLRowLockWaits) {
		t.Errorf("the mean row lock wait panel does not name the row lock alert it helps read: %s", d)
	}
}
