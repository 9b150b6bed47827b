package specs

import (
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

func TestExtraDashboardsValidate(t *testing.T) {
	for _, c := range []Config{Default(), bothPacks()} {
		p, errs := Check(c, Source{})
		if len(diag.Errors(errs)) != 0 {
			t.Fatalf("server_packs %v: %v", c.ServerPacks, diag.Errors(errs))
		}
		uids := map[string]bool{}
		for _, d := range p.Dashboards() {
			uids[d.UID] = true
		}
		if len(uids) != 3 {
			t.Fatalf("want three dashboards with distinct UIDs, got %v", uids)
		}
		files, err := p.Files()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{FileOverview, FileAlertHistory} {
			if len(files[f]) == 0 {
				t.Errorf("%s is not generated", f)
			}
		}
		// one overview row per switched-on pack
		if got, want := len(p.Overview.Panels), 1+len(c.ServerPacks); got != want {
			t.Errorf("overview has %d panels, want %d", got, want)
		}
	}
}

func TestDashboardLinkFindings(t *testing.T) {
	p := Build(bothPacks())
	if errs := DashboardLinkFindings(p.Dashboards()); len(errs) != 0 {
		t.Fatalf("the pack's links: %v", errs)
	}
	links := 0
	for _, d := range p.Dashboards() {
		for _, pn := range d.Panels {
			for _, o := range pn.Overrides {
				links += len(o.Links)
			}
		}
	}
	if links < 4 {
		t.Fatalf("only %d data links; want the applications, both servers and the history", links)
	}
	for _, tc := range []struct {
		name, url, want string
	}{
		{"another dashboard", "/d/nope?${__url_time_range}", `opens dashboard "nope", which the pack does not generate`},
		{"a missing panel", "/d/dbmon-queries?viewPanel=999", `opens panel 999, which dashboard "dbmon-queries" does not have`},
		{"not a dashboard", "https://example.com/x", "does not open a dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := Build(bothPacks()).Dashboards()
			ds[1].Panels[0].Overrides[0].Links = []dashboard.Link{{Title: "x", URL: tc.url}}
			errs := DashboardLinkFindings(ds)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) || diag.As(errs[0]).ID != CheckDashboardLink {
				t.Fatalf("want one %s finding %q, got %v", CheckDashboardLink, tc.want, errs)
			}
		})
	}
}

func TestAlertHistoryQueriesKnowOnlyAlertSeries(t *testing.T) {
	p := Build(Default())
	known := p.alertSeriesKnown()
	for _, pn := range p.AlertHistory.Panels {
		for _, q := range pn.Queries {
			if !strings.Contains(q.Expr, metricAlerts) {
				t.Errorf("panel %q query %s does not read ALERTS", pn.Title, q.Expr)
			}
		}
	}
	// the ALERTS series exist for the history only, not for the other
	// dashboards or the rules
	if _, problems := KnownSeries(Default()).Check(`ALERTS{alertstate="firing"}`); len(problems) == 0 {
		t.Error("ALERTS is known outside the alert history")
	}
	if _, problems := known.Check(`ALERTS{alertstate="firing", nosuchlabel="x"}`); len(problems) == 0 {
		t.Error("a label the alerts do not carry passes")
	}
	// every alert of the pack is in the history's selector
	expr := p.AlertHistory.Panels[0].Queries[0].Expr
	for _, a := range p.Alerts {
		if !strings.Contains(expr, a.Name) {
			t.Errorf("the history does not select %s", a.Name)
		}
	}
}

// Each generated dashboard links, in its header, to the other two; a
// header link to a dashboard the pack does not generate is a finding.
func TestDashboardsLinkEachOther(t *testing.T) {
	p := Build(Default())
	ds := p.Dashboards()
	for _, d := range ds {
		var got []string
		for _, l := range d.Links {
			got = append(got, l.URL)
		}
		var want []string
		for _, o := range ds {
			if o.UID != d.UID {
				want = append(want, "/d/"+o.UID)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s links to %v, want %v", d.UID, got, want)
		}
	}
	if errs := DashboardLinkFindings(ds); len(errs) != 0 {
		t.Fatalf("the generated links have findings: %v", errs)
	}
	ds[0].Links = append(ds[0].Links, dashboard.DashboardLink{Title: "gone", URL: "/d/nope"})
	errs := DashboardLinkFindings(ds)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `opens dashboard "nope", which the pack does not generate`) || !strings.Contains(errs[0].Error(), `links[2] "gone"`) {
		t.Fatalf("a header link to a missing dashboard: %v", errs)
	}
}
