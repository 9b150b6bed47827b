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
	spike := e.rateChangeAlert(AlertQueryRateSpike, ">", "rate_spike", t.RateSpike, "Database query rate spike", "more than")
	spike.Runbook = e.rb.rateSpike(spike, t.RateSpike)
	spike.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.spikeCases(spike) })
	drop := e.rateChangeAlert(AlertQueryTrafficDrop, "<", "traffic_drop", t.TrafficDrop, "Database query traffic drop", "less than")
	drop.Runbook = e.rb.trafficDrop(drop, t.TrafficDrop)
	drop.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.dropCases(drop) })
	return Family{Name: FamilyQueryRate, Alerts: []Alert{spike, drop}}
}

func (e *Env) rateChangeAlert(name, op, key string, l Level, summary, verb string) Alert {
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
	}
}

func (r *rbContext) rateSpike(a Alert, l Level) Runbook {
	b := r.text("rate_spike", a, l)
	b.PromQL = []RunbookQuery{
		{"current rate / baseline (the alert fires above " + FormatNumber(l.Threshold) + ")",
			r.rate(middleware.MetricQueriesTotal) + " / " + r.baseline()},
		{"baseline, queries per second", r.baseline()},
		r.qTraffic(),
		r.qErrorShareByType(),
	}
	b.Guide = []GuideLink{rbLinkNPlusOne, rbLinkPool, rbLinkFind}
	b.Related = []string{AlertQueryTrafficDrop, AlertConnectionPoolSaturated, AlertQueryErrorRateHigh}
	return b
}

func (r *rbContext) trafficDrop(a Alert, l Level) Runbook {
	b := r.text("traffic_drop", a, l)
	b.PromQL = []RunbookQuery{
		{"current rate / baseline (the alert fires below " + FormatNumber(l.Threshold) + ")",
			r.rate(middleware.MetricQueriesTotal) + " / " + r.baseline()},
		r.qTraffic(),
		{"instances reporting query metrics", fmt.Sprintf("count by (%s) (%s)", r.group("instance"), r.q.Select(middleware.MetricQueriesTotal))},
		{"scrape health per instance (1 up, 0 down)", r.up()},
	}
	b.Guide = []GuideLink{rbLinkFind}
	b.Related = []string{AlertQueryMetricsAbsent, AlertQueryRateSpike, AlertQueryErrorRateHigh}
	return b
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
