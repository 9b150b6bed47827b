package specs

import (
	"fmt"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The query rate against its baseline: a spike and a drop.
func trafficFamily(e *Env) Family {
	t := e.Config.Thresholds
	spike := e.rateChangeAlert(AlertQueryRateSpike, ">", "rate_spike", t.RateSpike, "Database query rate spike", "more than", e.rb.rateSpike())
	spike.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.spikeCases(spike) })
	drop := e.rateChangeAlert(AlertQueryTrafficDrop, "<", "traffic_drop", t.TrafficDrop, "Database query traffic drop", "less than", e.rb.trafficDrop())
	drop.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.dropCases(drop) })
	return Family{Name: FamilyQueryRate, Alerts: []Alert{spike, drop}}
}

func (e *Env) rateChangeAlert(name, op, key string, l Level, summary, verb string, rb Runbook) Alert {
	q, t := e.Query, e.Config.Thresholds
	baseline := fmt.Sprintf("the average rate over the %s that ended %s ago", t.BaselineWindow, t.RateWindow)
	return Alert{
		Name: name, Severity: SeverityWarning, Family: FamilyQueryRate, For: l.For, Panel: PanelQueryRate,
		Expr:     q.againstBaseline(op, key, l.Threshold),
		Humanize: "humanize",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("%s for %s", summary, q.who(lb)),
				fmt.Sprintf("The database queries of %s run at %s/s, %s %s× their baseline, %s (warning for %s; the baseline must be %s and cover its whole window).",
					q.who(lb), v, verb, promNum(l.Threshold), baseline, l.For, q.traffic())
		},
		Runbook: rb,
	}
}

func (r rbContext) rateSpike() Runbook {
	t := r.c.Thresholds
	f := FormatFactor(t.RateSpike.Threshold)
	return Runbook{
		Summary: fmt.Sprintf("The database query rate is more than %s its recent baseline.", f),
		Fires: fmt.Sprintf("the query rate over %s is more than %s the average rate over the %s that ended %s ago, for %s",
			r.w, f, t.BaselineWindow, r.w, t.RateSpike.For),
		Guard: r.baselineGuard(),
		Meaning: []string{
			fmt.Sprintf("Per %s, %s over %s is compared with the same rate averaged over %s, shifted back by %s so the spike does not raise its own baseline.",
				rbCode(r.by), rbCode(middleware.MetricQueriesTotal), r.w, t.BaselineWindow, r.w),
			fmt.Sprintf("A spike that lasts becomes the baseline: after about %s the alert resolves even if the load stays.", t.BaselineWindow),
		},
		Impact: "More queries than the database was sized for: latency, pool saturation and pool waits usually follow. " +
			"Often a symptom of code (an N+1 loop, a retry storm), not of more users.",
		Causes: []string{
			"A deploy introduced an N+1 pattern: one query per row in a loop. The `SELECT` rate grows with page size, not with traffic.",
			"A retry storm: clients or the application retry failed or timed-out statements. Errors rise at the same time.",
			"A cache stopped working (restarted, evicted, key format changed) and reads fall through to the database.",
			"A batch job, backfill or migration started, or a crawler or abusive client arrived.",
			"Real growth: a launch, a campaign, a new client.",
		},
		Checks: []string{
			fmt.Sprintf("Open %s: which %s grew, and when. %s shows whether the mix changed.",
				r.panelLink(PanelQueryRate), rbCode(middleware.LabelQueryType), r.panelLink(PanelDistribution)),
			"Divide database queries by application requests for the same window: if queries per request went up, it is code (N+1), not users.",
			"Check the error rate (PromQL below): errors rising with the spike mean retries.",
			"Check deploys, cron schedules and the cache's hit rate.",
			fmt.Sprintf("Check the consequences: %s, %s, %s.", AlertConnectionPoolSaturated, AlertQueryLatencyP99Warning, AlertSlowQueryRateWarning),
		},
		PromQL: []RunbookQuery{
			{"current rate / baseline (the alert fires above " + FormatNumber(t.RateSpike.Threshold) + ")",
				fmt.Sprintf("sum by (%s) (rate(%s[%s])) / %s", r.by, r.series(middleware.MetricQueriesTotal), r.w, r.baseline())},
			{"baseline, queries per second", r.baseline()},
			r.qTraffic(),
			r.qErrorShareByType(),
		},
		Mitigate: []string{
			"Caused by a deploy: roll it back, then batch the loop (`WHERE id = ANY($1)` / `IN (…)`, or a join).",
			"Retry storm: cap retries, back off with jitter, open the circuit breaker; fix the failure being retried.",
			"Cache failure: restore the cache; protect the database from the stampede (request coalescing, staggered expiry).",
			"Batch job or crawler: throttle, pause or block it.",
			"Real growth: watch pool use and latency; if this is the new normal, it becomes the baseline on its own. Raise `thresholds.rate_spike.threshold` only if growth spikes are routine.",
		},
		Guide:   []GuideLink{rbLinkNPlusOne, rbLinkPool, rbLinkFind},
		Related: []string{AlertQueryTrafficDrop, AlertConnectionPoolSaturated, AlertQueryErrorRateHigh},
	}
}

func (r rbContext) trafficDrop() Runbook {
	t := r.c.Thresholds
	f := FormatFactor(t.TrafficDrop.Threshold)
	return Runbook{
		Summary: fmt.Sprintf("The database query rate fell below %s its recent baseline.", f),
		Fires: fmt.Sprintf("the query rate over %s is below %s the average rate over the %s that ended %s ago, for %s",
			r.w, f, t.BaselineWindow, r.w, t.TrafficDrop.For),
		Guard: r.baselineGuard(),
		Meaning: []string{
			fmt.Sprintf("Per %s, %s over %s fell below %s its average over the %s that ended %s ago. The database did not get slower: the application stopped asking.",
				rbCode(r.by), rbCode(middleware.MetricQueriesTotal), r.w, f, t.BaselineWindow, r.w),
			fmt.Sprintf("If the metric disappears entirely, %s fires instead.", AlertQueryMetricsAbsent),
		},
		Impact: "Usually an outage upstream of the database: users are not served, or a code path stopped reading or writing (a stuck queue consumer means lost or delayed writes).",
		Causes: []string{
			"Application instances down or crash-looping; a load balancer, DNS or ingress change sends traffic elsewhere.",
			"The application fails before reaching the database: configuration, authentication, a dependency down.",
			"Some instances are no longer scraped, so the sum over instances drops.",
			"The middleware was uninstalled or disabled on some instances, or a deploy opened a second `*sql.DB` without it.",
			fmt.Sprintf("Expected: a cache now serves the reads, a job finished, a planned maintenance, or a daily ramp steeper than a %s baseline follows.", t.BaselineWindow),
		},
		Checks: []string{
			fmt.Sprintf("Open %s: all types or one? All types point at the application or its traffic; only %s / %s mean writes stopped (a queue consumer?).",
				r.panelLink(PanelQueryRate), rbCode(string(middleware.QueryInsert)), rbCode(string(middleware.QueryUpdate))),
			fmt.Sprintf("Check scraping: %s per instance (PromQL below); 0 or a missing instance is a monitoring gap, not a traffic drop.", rbCode("up")),
			"Check the application's own request rate, error logs and load balancer.",
			"Check the last deploy: did it change how the database handle is opened?",
		},
		PromQL: []RunbookQuery{
			{"current rate / baseline (the alert fires below " + FormatNumber(t.TrafficDrop.Threshold) + ")",
				fmt.Sprintf("sum by (%s) (rate(%s[%s])) / %s", r.by, r.series(middleware.MetricQueriesTotal), r.w, r.baseline())},
			r.qTraffic(),
			{"instances reporting query metrics", fmt.Sprintf("count by (%s) (%s)", r.group("instance"), r.series(middleware.MetricQueriesTotal))},
			{"scrape health per instance (1 up, 0 down)", r.up()},
		},
		Mitigate: []string{
			"Restore the traffic path: roll back, restart stuck consumers, fix routing.",
			fmt.Sprintf("Scrape gaps: fix the target as in %s.", AlertQueryMetricsAbsent),
			"Middleware missing on some instances: deploy with it installed on every `*sql.DB`.",
			"Expected drop: silence it for the window. If it recurs daily, lower `thresholds.traffic_drop.threshold` or lengthen `thresholds.baseline_window`.",
		},
		Guide:   []GuideLink{rbLinkFind},
		Related: []string{AlertQueryMetricsAbsent, AlertQueryRateSpike, AlertQueryErrorRateHigh},
	}
}

// baselineGuard is the guard of the alerts that compare with the baseline.
func (r rbContext) baselineGuard() string {
	return fmt.Sprintf("only when the baseline is at least %s and the metric existed for its whole window: an idle service cannot spike or drop, and a fresh deploy has no baseline yet",
		r.minQPS)
}

// baselineStart is the first evaluation at which the rate-against-baseline
// alerts evaluate for a counter that starts at time zero, and change the
// last sample before the change of rate in their tests: from then on the
// current window holds only the new rate while, at start, the baseline
// window holds only the old one.
func (b *TestKit) baselineStart() (start, change time.Duration) {
	rw, bw := b.window, b.c.Thresholds.BaselineWindow.Std()
	start = b.evalCeil(bw + rw)
	change = (start - rw) / b.step * b.step
	return start, change
}

// spikeCases: normal traffic, then a higher rate from change on. The
// baseline starts absorbing the spike after start; the spike is chosen
// high enough to stay above threshold × baseline until the alert fires.
func (b *TestKit) spikeCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.RateSpike
	start, change := b.baselineStart()
	fire := start + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	before := int(change / b.step)
	// x is the share of the baseline window that the spike fills at fire.
	x := (fire - b.window - change).Seconds() / b.c.Thresholds.BaselineWindow.Std().Seconds()
	spike := niceCeil(100 * l.Threshold * b.perStep)
	if l.Threshold*x < 0.9 {
		spike = niceCeil(1.5 * l.Threshold * b.perStep * (1 - x) / (1 - l.Threshold*x))
	}
	series := func(normal, then float64) []rules.Series {
		return []rules.Series{b.in(middleware.MetricQueriesTotal, map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)},
			counterValues(counterPhase{normal, before}, counterPhase{then, n - before}))}
	}
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	name := a.Name
	cases := []rules.TestCase{
		b.tc(name, fmt.Sprintf("a %s× rise fires %s after the baseline covers its window, not one evaluation earlier", fnum(spike/b.perStep), l.For),
			series(b.perStep, spike), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, spike/b.step.Seconds(), nil))),
		b.tc(name, fmt.Sprintf("a rise to %s× the baseline, just under %s×, does not fire", fnum(shareUnder(l.Threshold)), promNum(l.Threshold)),
			series(b.perStep, shareUnder(l.Threshold)*b.perStep), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0), alertCheck(name, fire)),
		b.tc(name, "a rise from a baseline under the minimum rate does not fire",
			series(low, 10*l.Threshold*low), alertCheck(name, fire)),
	}
	if tc, ok := b.youngSeriesCheck(l); ok {
		// Without the presence guard, a new series' baseline is
		// extrapolated from part of its window, understates the rate, and
		// steady traffic would "spike" at tc.
		cases = append(cases, b.tc(name, "steady traffic of a new series does not fire while its baseline does not cover its window",
			series(b.perStep, b.perStep), alertCheck(name, tc)))
	}
	return cases
}

// youngSeriesCheck is a time at which steady traffic that started at time
// zero has, for longer than l.For, a partial baseline below
// 1/threshold of its rate: the moment a spike alert without its presence
// guard would be firing. It reports false when the config leaves no such
// time.
func (b *TestKit) youngSeriesCheck(l Level) (time.Duration, bool) {
	bw := b.c.Thresholds.BaselineWindow.Std()
	perSecond := b.perStep / b.step.Seconds()
	// The baseline reaches the minimum rate after warm and stays under
	// rate/threshold until b.window + bw/threshold.
	warm := time.Duration(b.c.Thresholds.MinQueryRate * bw.Seconds() / perSecond * float64(time.Second))
	from := b.window + max(2*b.step, warm+b.step) + b.eval
	tc := b.evalCeil(from + l.For.Std())
	until := b.window + time.Duration(bw.Seconds()/l.Threshold*float64(time.Second))
	return tc, tc+b.eval < until
}

// dropCases: normal traffic, then a lower rate from change on.
func (b *TestKit) dropCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.TrafficDrop
	start, change := b.baselineStart()
	fire := start + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	before := int(change / b.step)
	x := (fire - b.window - change).Seconds() / b.c.Thresholds.BaselineWindow.Std().Seconds()
	// The baseline is at least (1-x) × normal until fire.
	drop := niceFloor(0.5 * l.Threshold * (1 - x) * b.perStep)
	justAbove := min(l.Threshold*1.1, (1+l.Threshold)/2)
	series := func(normal, then float64) []rules.Series {
		return []rules.Series{b.in(middleware.MetricQueriesTotal, map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)},
			counterValues(counterPhase{normal, before}, counterPhase{then, n - before}))}
	}
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	name := a.Name
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("a fall to %s× fires %s after the baseline covers its window, not one evaluation earlier", fnum(drop/b.perStep), l.For),
			series(b.perStep, drop), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, drop/b.step.Seconds(), nil))),
		b.tc(name, fmt.Sprintf("a fall to %s× the baseline, just above %s×, does not fire", fnum(justAbove), promNum(l.Threshold)),
			series(b.perStep, justAbove*b.perStep), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0), alertCheck(name, fire)),
		b.tc(name, "a fall to nothing from a baseline under the minimum rate does not fire",
			series(low, 0), alertCheck(name, fire)),
	}
}
