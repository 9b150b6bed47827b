package specs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

func loadFleet(t *testing.T, name string) (Config, Source) {
	t.Helper()
	c, src, err := LoadFile("testdata/fleet/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return c, src
}

func TestFleetPackIsCleanAndItsTestsPass(t *testing.T) {
	c, src := loadFleet(t, "dbmonctl.yaml")
	p, errs := Check(c, src)
	for _, e := range errs {
		if !diag.IsWarning(e) {
			t.Errorf("finding: %v", e)
		}
	}
	if p == nil {
		t.Fatal("no pack")
	}
	if got := len(p.RuleGroups); got != 4 {
		t.Errorf("want a recording group per service and one alert group, got %d groups", got)
	}
	if got, want := len(p.RuleGroups[3].Rules), len(p.Alerts); got != want {
		t.Errorf("alert group has %d rules, want one per alert (%d), whatever the number of services", got, want)
	}
	s := RunTests(context.Background(), p)
	if s.Failed > 0 || s.Passed == 0 {
		t.Errorf("passed %d, failed %d:\n%s", s.Passed, s.Failed, strings.Join(s.Failures, "\n"))
	}
	// The team's block is merged over the alertmanager receivers.
	if got := c.Teams["payments"].Slack.WarningChannel; got != "#database-alerts" {
		t.Errorf("payments inherits the warning channel: got %q", got)
	}
	if got := c.Teams["payments"].Slack.CriticalChannel; got != "#payments-alerts" {
		t.Errorf("payments critical channel = %q", got)
	}
}

// histogram is a query duration histogram of job where every query takes
// between the bucket bounds below and at le, at 1000 queries per scrape.
func fleetHistogram(job string, buckets []float64, le float64, n int) []rules.Series {
	var out []rules.Series
	for _, b := range append(append([]float64(nil), buckets...), 0) {
		text, v := leText(b), 0.0
		if b == 0 {
			text = "+Inf"
		}
		if b == 0 || b >= le {
			v = 1000
		}
		out = append(out, rules.Series{
			Series: fmt.Sprintf(`db_query_duration_seconds_bucket{job=%q,query_type="SELECT",le=%q}`, job, text),
			Values: fmt.Sprintf("0+%vx%d", v, n),
		})
	}
	out = append(out,
		rules.Series{Series: fmt.Sprintf(`db_query_duration_seconds_count{job=%q,query_type="SELECT"}`, job), Values: fmt.Sprintf("0+1000x%d", n)},
		rules.Series{Series: fmt.Sprintf(`db_queries_total{job=%q,query_type="SELECT"}`, job), Values: fmt.Sprintf("0+1000x%d", n)},
	)
	return out
}

func TestFleetServicesAreIsolated(t *testing.T) {
	c, _ := loadFleet(t, "dbmonctl.yaml")
	p := Build(c)
	// orders (critical at 2.5s) and billing (default 1s) both run every
	// query between 1s and 2.5s; search reports nothing.
	var in []rules.Series
	in = append(in, fleetHistogram("orders-api", c.Thresholds.Buckets, 2.5, 80)...)
	in = append(in, fleetHistogram("billing", c.Thresholds.Buckets, 2.5, 80)...)
	at := 15 * time.Minute
	got := func(name string) []string {
		r := rules.Run(context.Background(), p.RuleGroups, 30*time.Second, []rules.TestCase{{
			Name: "isolation", Interval: 15 * time.Second, InputSeries: in,
			AlertTests: []rules.AlertTest{{EvalTime: at, Alertname: name}},
		}})
		var services []string
		for _, f := range r.Failures {
			for _, s := range []string{"orders", "billing", "search"} {
				if strings.Contains(f.Message, `service="`+s+`"`) {
					services = append(services, s)
				}
			}
		}
		return services
	}
	if s := got(AlertQueryLatencyP99Critical); strings.Join(s, ",") != "billing" {
		t.Errorf("QueryLatencyP99Critical fired for %v, want billing only (orders' own threshold is 2.5s)", s)
	}
	if s := got(AlertQueryMetricsAbsent); strings.Join(s, ",") != "search" {
		t.Errorf("QueryMetricsAbsent fired for %v, want search only", s)
	}
}

func TestFleetFindings(t *testing.T) {
	c, src := loadFleet(t, "bad.yaml")
	_, errs := Check(c, src)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	if strings.Contains(all, "receivers[") {
		t.Errorf("a team's finding echoes in the receivers built from it:\n%s", all)
	}
	for _, want := range []string{
		`testdata/fleet/bad.yaml:7:11: services[1].name: duplicate service name "orders"`,
		`testdata/fleet/bad.yaml:8:15: services[1].selector: {job=~"orders.*"} can match series of services[0] "orders"`,
		`testdata/fleet/bad.yaml:9:11: services[1].team: team "growth" has no receivers`,
		`testdata/fleet/bad.yaml:13:11: teams.orders: team "orders" has no receivers`,
		`testdata/fleet/bad.yaml:6:43: services[0].thresholds.latency_p99.critical.threshold: 300ms is not a bucket bound`,
		`testdata/fleet/bad.yaml:6:43: services[0].thresholds.latency_p99.warning.threshold: 0.5 must be below services[0].thresholds.latency_p99.critical.threshold (0.3)`,
		`testdata/fleet/bad.yaml:11:52: services[1].thresholds.latency_p99.warning.for: only the threshold of a level can differ per service`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q in:\n%s", want, all)
		}
	}
}

func TestFleetRejectsExtensionFamilies(t *testing.T) {
	c, src := loadFleet(t, "dbmonctl.yaml")
	_, errs := Check(c, src, WithFamilies(errorsFamily))
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Error(), "not supported in a fleet yet")
	}
	if !found {
		t.Errorf("no finding for WithFamilies in a fleet: %v", errs)
	}
}

// A fleet runbook tells each service's condition, with its own thresholds,
// and where its team is notified.
func TestFleetRunbookHasEveryServiceThresholdAndTeam(t *testing.T) {
	c, src := loadFleet(t, "dbmonctl.yaml")
	p, errs := Check(c, src)
	if p == nil {
		t.Fatal(errs)
	}
	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	rb := string(files["runbooks/"+AlertQueryLatencyP99Critical+".md"])
	for _, row := range []string{
		"| `orders` | orders | `job=\"orders-api\"` | p99 of `db_query_duration_seconds` over 5m is above 2.5s, for 5m | PagerDuty, Slack `#orders-alerts`, email `orders-oncall@example.com` |",
		"| `billing` | payments | `job=\"billing\"` | p99 of `db_query_duration_seconds` over 5m is above 1s, for 5m | PagerDuty, Slack `#payments-alerts`,",
		"| `search` | database | `job=\"search\"` | p99 of `db_query_duration_seconds` over 5m is above 1s, for 5m | PagerDuty, Slack `#database-alerts`,",
	} {
		if !strings.Contains(rb, row) {
			t.Errorf("the runbook lacks the row %q:\n%s", row, rb)
		}
	}
}
