package specs

import (
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

func TestFleetDashboardReadsTheRecordsByService(t *testing.T) {
	c, _ := loadFleet(t, "dbmonctl.yaml")
	d := DashboardDefinition(c)
	var names []string
	for _, v := range d.Variables {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, ","); got != "datasource,service,job,query_type" {
		t.Fatalf("variables %s, want datasource,service,job,query_type", got)
	}
	svc := d.Variables[1]
	if svc.Kind != dashboard.VariableQuery || !svc.Multi || !svc.IncludeAll || svc.AllValue != ".*" ||
		svc.Query != "label_values(service:db_queries_total:rate5m, service)" {
		t.Errorf("service variable: %+v", svc)
	}
	if got := d.Variables[2].Query; got != `label_values(service:db_queries_total:rate5m{service=~"$service"}, job)` {
		t.Errorf("job variable reads %s", got)
	}
	for _, p := range d.Panels {
		for _, q := range p.Queries {
			ms, err := exprMetrics(promcheck.SubstituteGrafanaVars(q.Expr, dashboard.SubstituteWindow))
			if err != nil {
				t.Fatalf("panel %q: %v", p.Title, err)
			}
			if !strings.Contains(q.Expr, `service=~"$service"`) {
				t.Errorf("panel %q does not filter by $service: %s", p.Title, q.Expr)
			}
			// exprMetrics maps records to their raw metric: the raw
			// name must not occur as a selector of its own.
			for _, m := range ms {
				if strings.Contains(q.Expr, " "+m+"{") || strings.Contains(q.Expr, "("+m+"{") {
					t.Errorf("panel %q reads raw %s, which has no service label: %s", p.Title, m, q.Expr)
				}
			}
		}
	}
	// The pack's cross-checks (promcheck over the records, the alerts'
	// panels) hold for the fleet.
	p := Build(c)
	if errs := p.crossCheck(); len(errs) > 0 {
		t.Errorf("cross-check: %v", errs)
	}
	if errs := AlertPanelFindings(c, p.RuleGroups, d); len(errs) > 0 {
		t.Errorf("alert panels: %v", errs)
	}
	if errs := ValidateDashboard(c); len(errs) > 0 {
		t.Errorf("dashboard: %v", errs)
	}
}

func TestSingleServiceDashboardHasNoServiceVariable(t *testing.T) {
	for _, v := range DashboardDefinition(Default()).Variables {
		if v.Name == VarService {
			t.Fatal("a single service's dashboard has a service variable")
		}
	}
}
