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
		Runbook: e.rb.metricsAbsent(),
	}
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

func (r rbContext) metricsAbsent() Runbook {
	t := r.c.Thresholds
	target := "localhost:8080"
	if len(r.c.Prometheus.Targets) > 0 {
		target = r.c.Prometheus.Targets[0]
	}
	return Runbook{
		Summary: "Prometheus has no database query metrics for this service: every other query alert is blind.",
		Fires:   fmt.Sprintf("no %s series for %s", rbCode(r.series(middleware.MetricQueriesTotal)), t.MetricsAbsent.For),
		Meaning: []string{
			fmt.Sprintf("Dead man's switch. %s has been absent for %s. Every query alert reads it, so while it is missing none of them can fire: the service is unobserved, not healthy.",
				rbCode(middleware.MetricQueriesTotal), t.MetricsAbsent.For),
			"Either the application is down, Prometheus cannot scrape it, or the middleware is no longer installed.",
		},
		Impact: "Database health is unknown. While this fires, Alertmanager mutes the alerts that depend on these metrics, so this is the one to act on.",
		Causes: []string{
			"The application is down or has no running instance.",
			fmt.Sprintf("Prometheus cannot scrape it: target down, wrong port or path (%s), network policy, a service-discovery or relabelling change, or a renamed %s label the selector no longer matches.",
				rbCode(r.c.Prometheus.MetricsPath), rbCode("job")),
			fmt.Sprintf("The middleware was uninstalled (%s, %s) or registers on a different Prometheus registry (%s) than the one served on %s.",
				rbCode("Uninstall()"), rbCode("WithInstalled(false)"), rbCode("WithRegisterer"), rbCode(r.c.Prometheus.MetricsPath)),
			"The service was decommissioned or renamed and the pack still selects it.",
		},
		Checks: []string{
			fmt.Sprintf("%s (PromQL below): 0 means the scrape fails, no series means Prometheus has no such target.", rbCode(r.up())),
			"Prometheus' Targets page (`/targets`) shows the last scrape error of each target.",
			"Fetch the endpoint yourself (commands below). The process answers but has no `db_queries_total`: the middleware is not installed on the registry that endpoint serves.",
			"Check deploys and crash loops of the application.",
		},
		PromQL: []RunbookQuery{
			{"the alert's expression: 1 when no series exists", "absent(" + r.series(middleware.MetricQueriesTotal) + ")"},
			{"scrape health per instance (1 up, 0 down)", r.up()},
			{"instances that still report query metrics", fmt.Sprintf("count by (%s) (%s)", r.group("instance"), r.series(middleware.MetricQueriesTotal))},
		},
		Shell: fmt.Sprintf(`# is the endpoint up, and does it export the middleware's metrics?
curl -s http://%s%s | grep -E '^(%s|%s)'`, target, r.c.Prometheus.MetricsPath, middleware.MetricQueriesTotal, middleware.MetricQueryDuration+"_count"),
		Mitigate: []string{
			"Application down: restore it; that incident is the real one.",
			"Scrape broken: fix the target, port, path or relabelling; the alert resolves on the next successful scrapes.",
			"Middleware missing: wrap every `*sql.DB`'s connector with it again (`WrapConnector`), pass the registry served to Prometheus with `WithRegisterer`, and check nothing calls `Uninstall()`.",
			fmt.Sprintf("Service gone or renamed on purpose: update %s and regenerate.", rbCode("service.selector")),
			"A dead man's switch cannot catch Prometheus itself being down: that needs a watchdog from outside.",
		},
		Guide:   []GuideLink{rbLinkFind},
		Related: []string{AlertQueryTrafficDrop, AlertSlowQueryRateCritical, AlertQueryLatencyP99Critical},
	}
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
