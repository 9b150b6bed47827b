package specs

import (
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// rulePos returns the group and rule index of alert in p.
func rulePos(t *testing.T, p *Pack, alert string) (int, int) {
	t.Helper()
	for gi, g := range p.RuleGroups {
		for ri, r := range g.Rules {
			if r.Alert == alert {
				return gi, ri
			}
		}
	}
	t.Fatalf("no rule %s", alert)
	return 0, 0
}

func findingsOf(errs []error, id string) []*diag.Error {
	var out []*diag.Error
	for _, e := range errs {
		if d := diag.As(e); d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

func TestAlertPanelFindings(t *testing.T) {
	setLink := func(alert, link string) func(*testing.T, *Pack) {
		return func(t *testing.T, p *Pack) {
			gi, ri := rulePos(t, p, alert)
			p.RuleGroups[gi].Rules[ri].Annotations[AnnotationDashboardURL] = link
		}
	}
	c := Default()
	tests := []struct {
		name   string
		change func(*testing.T, *Pack)
		want   []string // substrings of the alert-panel findings, in order
	}{
		{"the default spec links every alert to a panel of its signal", func(*testing.T, *Pack) {}, nil},
		{"a link to a panel that does not plot the alert's metric is reported", setLink(AlertQueryErrorRateHigh, c.DashboardURL(PanelQueryRate)),
			[]string{`alert QueryErrorRateHigh opens panel 1 "Query Rate by Type", which does not plot db_query_errors_total (the alert's expression uses db_queries_total, db_query_errors_total)`}},
		{"a link to the dashboard without a panel is reported", setLink(AlertConnectionPoolWaits, c.DashboardURL(0)),
			[]string{`alert ConnectionPoolWaits: dashboard_url "http://localhost:3000/d/dbmon-queries" opens no panel (no viewPanel=<id>); link the panel that plots go_sql_wait_duration_seconds_total`}},
		{"a link to a panel the dashboard lacks is reported", setLink(AlertConnectionPoolSaturated, c.DashboardURL(42)),
			[]string{"alert ConnectionPoolSaturated links panel 42, which the dashboard does not have"}},
		{"a link to another dashboard is reported", setLink(AlertQueryLatencyP99Warning, "http://localhost:3000/d/other?viewPanel=2"),
			[]string{`alert QueryLatencyP99Warning: dashboard_url "http://localhost:3000/d/other?viewPanel=2" does not open the dashboard http://localhost:3000/d/dbmon-queries`}},
		{"Grafana 11's panel-<id> form and a slug are understood", setLink(AlertQueryLatencyP99Warning, c.DashboardURL(0)+"/database-queries?viewPanel=panel-2"), nil},
		{"a panel that stops plotting the signal is reported for each alert it shows", func(t *testing.T, p *Pack) {
			for i := range p.Dashboard.Panels {
				if p.Dashboard.Panels[i].ID == PanelPool {
					p.Dashboard.Panels[i].Queries = p.Dashboard.Panels[i].Queries[:2] // in use and idle, no max open
				}
			}
		}, []string{`alert ConnectionPoolSaturated opens panel 9 "Connection Pool", which does not plot go_sql_max_open_connections`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Build(Default())
			tt.change(t, p)
			got := findingsOf(p.crossCheck(), CheckAlertPanel)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d %s findings, want %d:\n%v", len(got), CheckAlertPanel, len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].Message, w) || !strings.HasSuffix(got[i].Path, ".annotations."+AnnotationDashboardURL) {
					t.Errorf("finding %d = %s: %s\nwant a dashboard_url path and …%s…", i, got[i].Path, got[i].Message, w)
				}
			}
		})
	}
}

// TestAlertPanelsForEveryConfig: whatever the selector, identity labels
// and thresholds, every alert links a panel that plots its metrics.
func TestAlertPanelsForEveryConfig(t *testing.T) {
	for _, c := range []Config{Default(), fastConfig(), selectorConfig(), rbModified()} {
		p := Build(c)
		if errs := AlertPanelFindings(c, p.RuleGroups, p.Dashboard); len(errs) > 0 {
			t.Errorf("findings:\n%s", diag.List(errs))
		}
	}
}

// TestRunbookLinksTheAlertPanel: the runbook's dashboard link is the
// alert's dashboard_url, so both open the panel the check proves.
func TestRunbookLinksTheAlertPanel(t *testing.T) {
	c := Default()
	books, err := Runbooks(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range RuleGroups(c) {
		for _, r := range g.Rules {
			link := r.Annotations[AnnotationDashboardURL]
			var row string
			for _, l := range strings.Split(string(books[r.Alert]), "\n") {
				if strings.HasPrefix(l, "| Dashboard | ") {
					row = l
				}
			}
			if !strings.HasSuffix(row, "]("+link+") |") {
				t.Errorf("%s: the runbook's dashboard row %q does not link the alert's dashboard_url %s", r.Alert, row, link)
			}
		}
	}
}

func TestExprMetrics(t *testing.T) {
	got, err := exprMetrics(`sum(rate(db_slow_queries_total{job="a"}[5m])) / sum(rate({__name__="db_queries_total"}[5m])) and absent(db_slow_queries_total)`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "db_queries_total,db_slow_queries_total" {
		t.Errorf("metrics = %v, want db_queries_total, db_slow_queries_total", got)
	}
	if _, err := exprMetrics("sum(("); err == nil {
		t.Error("a parse error is not reported")
	}
}
