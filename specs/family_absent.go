package specs

import (
	"fmt"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The dead man's switch: every other alert is silent when the metrics are
// missing, so their absence must page. absent() carries the selector's
// equality matchers as labels.
func absentFamily(e *Env) Family {
	t := e.Config.Thresholds
	sel := e.Query.sel(middleware.MetricQueriesTotal)
	a := Alert{
		Name: AlertQueryMetricsAbsent, Severity: SeverityCritical, Family: FamilyQueryMetrics, For: t.MetricsAbsent.For, Panel: PanelQueryRate,
		Absent:   true,
		Expr:     fmt.Sprintf("absent(%s)", sel),
		Humanize: "humanize",
		Text: func(string, func(string) string) (string, string) {
			return "Database query metrics are absent",
				fmt.Sprintf("No %s series has been scraped for %s: the application is down, not scraped, or no longer instrumented, and no other database query alert can fire meanwhile.",
					sel, t.MetricsAbsent.For)
		},
	}
	a.Runbook = e.rb.metricsAbsent(a, t.MetricsAbsent)
	if e.Query.fleet {
		// Per service: the recording group of each service records its
		// own absent(), labelled with its service and team, so one dead
		// service fires while the others report.
		a.Expr = absentRecord()
		a.Text = func(_ string, lb func(string) string) (string, string) {
			return "Database query metrics of service " + lb(LabelService) + " are absent",
				fmt.Sprintf("No %s series of service %s has been scraped for %s: the service is down, not scraped, or no longer instrumented, and none of its other database query alerts can fire meanwhile.",
					middleware.MetricQueriesTotal, lb(LabelService), t.MetricsAbsent.For)
		}
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.absentCases(a) })
	return Family{Name: FamilyQueryMetrics, Alerts: []Alert{a}}
}

func (r *rbContext) metricsAbsent(a Alert, l Level) Runbook {
	b := r.text("query_metrics", a, l)
	b.PromQL = []RunbookQuery{
		{"the alert's expression: 1 when no series exists", "absent(" + r.q.Select(middleware.MetricQueriesTotal) + ")"},
		{"scrape health per instance (1 up, 0 down)", r.up()},
		{"instances that still report query metrics", fmt.Sprintf("count by (%s) (%s)", r.group("instance"), r.q.Select(middleware.MetricQueriesTotal))},
	}
	b.Guide = []GuideLink{rbLinkFind}
	b.Related = []string{AlertQueryTrafficDrop, AlertSlowQueryRateCritical, AlertQueryLatencyP99Critical}
	return b
}

// absentCases tests the dead man's switch. It is active from the first
// evaluation when the counter never appears.
func (b *TestKit) absentCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.MetricsAbsent
	name := a.Name
	fire := b.evalCeil(l.For.Std())
	n := b.steps(fire)
	// absent() labels its result with the selector's equality matchers.
	want := b.expect(a, 1, nil)
	for k := range b.identity {
		delete(want.Labels, k)
	}
	// absent() gives its result the labels of the selector's equality matchers.
	for k, v := range selectorEqualities(b.c.Service.Selector) {
		want.Labels[k] = v
	}
	// In a fleet every other service has no series in these cases, so
	// its own absence alert fires too, from the first evaluation plus for.
	others := func(t time.Duration) []rules.Alert { return nil }
	if b.c.Fleet() {
		for _, k := range []string{LabelService, LabelTeam} {
			want.Labels[k] = b.identity[k]
		}
		others = func(t time.Duration) []rules.Alert { return b.othersAbsent(a, t, fire) }
	}
	with := func(t time.Duration, alerts ...rules.Alert) rules.AlertTest {
		return alertCheck(name, t, append(alerts, others(t)...)...)
	}
	qt := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	pool := b.in(middleware.MetricPoolMaxOpen, map[string]string{middleware.LabelDBName: testDBName}, gaugeValues(poolMaxOpen, n))
	// A counter that stops at lastSample is absent once the lookback no
	// longer reaches that sample, and the alert fires `for` later. The
	// engines disagree on the sample exactly lookbackDelta old: Prometheus
	// 2.x still sees it, 3.x does not (its lookback is left-open). So the
	// alert fires at two edges, one evaluation apart wherever
	// lastSample+lookbackDelta is an evaluation time:
	//
	//   - fire3 = evalCeil(lastSample+lookbackDelta) + for on 3.x (and in
	//     rules.Run, which links the 3.x engine): 15m for the default;
	//   - fire2 = evalCeil(lastSample+lookbackDelta+1ns) + for on 2.x:
	//     15m30s for the default.
	//
	// The case asserts at the evaluation before fire3, where neither has
	// fired, and at fire2, where both have; the evaluations between are
	// where they differ, and no assertion sits there.
	lastSample := b.window / b.step * b.step
	fire3 := b.evalCeil(lastSample+lookbackDelta) + b.evalCeil(l.For.Std())
	fire2 := b.evalCeil(lastSample+lookbackDelta+1) + b.evalCeil(l.For.Std())
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("a target with pool metrics but no query counter fires after %s, not one evaluation earlier", l.For),
			[]rules.Series{pool}, with(fire-b.eval), with(fire, want)),
		b.tc(name, "a reporting query counter does not fire",
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{b.perStep, n}))}, with(fire)),
		b.tc(name, "zero traffic is not absence: an idle but reporting counter does not fire",
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{0, n}))}, with(fire)),
		b.tc(name, fmt.Sprintf("a counter that stops reporting fires once the %s lookback and %s have passed, on Prometheus 2 and 3", promDuration(lookbackDelta), l.For),
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{b.perStep, int(lastSample / b.step)}))},
			with(fire3-b.eval), with(fire2, want)),
	}
}
