package specs

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
)

// The routes are values: the tree renders them in order, the route tests
// expect what they select (checked here against Alertmanager's own
// dispatcher), and a runbook quotes the timing of the route its alert
// takes.
func TestRouteValuesDriveTheTreeTheTestsAndTheRunbooks(t *testing.T) {
	c := Default()
	p := Build(c)
	if len(p.Routes) != len(Severities) {
		t.Fatalf("%d routes, want one per severity", len(p.Routes))
	}
	for i, s := range Severities {
		r := p.Routes[i]
		if r.Receiver != SeverityReceivers[s] || !slices.Equal(r.Matchers, []string{eq(LabelSeverity, s)}) {
			t.Errorf("route %d: %+v, want severity %s to %s", i, r, s, SeverityReceivers[s])
		}
	}

	// A route in front that copies the pool alerts to the info receiver
	// and continues: the tree has it, and the pool alerts' tests expect
	// both receivers, which the dispatcher confirms.
	copyPool := Route{Matchers: []string{eq(LabelFamily, FamilyConnectionPool)}, Receiver: ReceiverInfo, Timing: c.Alertmanager.Info, Continue: true}
	routes := append([]Route{copyPool}, p.Routes...)
	model := routing(c, routes, p.Alerts)
	if got := model.Route.Routes[0]; !got.Continue || got.Receiver != ReceiverInfo || len(model.Route.Routes) != len(routes) {
		t.Fatalf("the tree does not render the routes: first child %+v of %d", got, len(model.Route.Routes))
	}
	ids := sampleLabels(c)
	tests := routeTests(c, routes, p.alertLabels(ids), ids)
	both := 0
	for _, tt := range tests {
		if tt.Labels[LabelFamily] == FamilyConnectionPool {
			if !slices.Equal(tt.Receivers, []string{ReceiverInfo, ReceiverWarning}) {
				t.Errorf("%s: expects %v, want the copy and the warning receiver", tt.Name, tt.Receivers)
			}
			both++
		}
	}
	if both != 2 {
		t.Errorf("%d route tests of pool alerts, want 2", both)
	}
	data, err := alertmanager.Render(model)
	if err != nil {
		t.Fatal(err)
	}
	if res := alertmanager.RunRouteTests(data, tests); res.Failed > 0 {
		t.Errorf("the dispatcher disagrees with the route values: %v", res.Failures)
	}

	// The runbook's timing is the route's.
	c.Alertmanager.Warning.RepeatInterval = Duration(7 * time.Hour)
	books, err := Runbooks(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(books[AlertConnectionPoolWaits]), "then repeats every 7h while it fires") {
		t.Errorf("the warning runbook does not quote its route's repeat interval:\n%s", books[AlertConnectionPoolWaits])
	}
}

func TestRouteOfFollowsContinue(t *testing.T) {
	a := Route{Matchers: []string{`team="db"`}, Receiver: "a", Continue: true}
	b := Route{Matchers: []string{`severity=~"critical|warning"`}, Receiver: "b"}
	c := Route{Matchers: []string{`severity="critical"`}, Receiver: "c"}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"a continuing route and the first match after it", map[string]string{"team": "db", "severity": "critical"}, []string{"a", "b"}},
		{"the first match stops the walk", map[string]string{"severity": "critical"}, []string{"b"}},
		{"no match leaves it to the root", map[string]string{"severity": "info"}, nil},
		{"a continuing route alone", map[string]string{"team": "db"}, []string{"a"}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range routeOf([]Route{a, b, c}, tt.labels) {
			got = append(got, r.Receiver)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
