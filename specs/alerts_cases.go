package specs

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The rule tests are computed from the Config, so a user's thresholds,
// windows and for durations are tested too, not only the defaults. They
// are built so that the same cases pass on promtool 2.42 and on the 3.x
// engine that rules.Run links, although 3.x range selectors leave out a
// sample sitting exactly on the window's start and 2.x keeps it:
//
//   - counters start at zero and grow at a constant rate from the first
//     sample, so a ratio of two rates is exact from the second sample on,
//     whatever samples the window holds; the condition therefore starts at
//     a known evaluation and `for` can be tested to the step;
//   - rate-against-baseline alerts start evaluating exactly when the
//     counter has existed for BaselineWindow + RateWindow (the presence
//     guard of their expression), with the baseline window then fully on
//     one side of the change;
//   - gauges are constant, and instant selectors look back far enough
//     that no edge is involved.
//
// Series are sampled at the scrape interval and rules evaluated at the
// evaluation interval, as on the server.

// lookbackDelta is how far back an instant selector finds a sample:
// Prometheus' default --query.lookback-delta, also promtool's.
const lookbackDelta = 5 * time.Minute

// poolMaxOpen is the pool size of the connection-pool test series.
const poolMaxOpen = 100

// Label values of the test series that are not fixed by the selector.
const (
	testDBName      = "app"
	testOtherDBName = "reports"
	testIdentValue  = "app"
)

// RuleTests returns the typed unit tests of RuleGroups(c). Every alert has
// a case where it fires (with its exact labels and annotations), one just
// under its threshold, one a single evaluation before its for duration has
// elapsed, and one with zero traffic, plus cases for its guards; a series
// between the slow-rate warning and critical thresholds fires the warning
// only.
func RuleTests(c Config) []rules.TestCase {
	b := newCaseBuilder(c)
	t := c.Thresholds
	var cases []rules.TestCase
	cases = append(cases, b.ratioCases(AlertSlowQueryRateCritical, middleware.MetricSlowQueriesTotal, "slow", t.SlowRate.Critical)...)
	cases = append(cases, b.ratioCases(AlertSlowQueryRateWarning, middleware.MetricSlowQueriesTotal, "slow", t.SlowRate.Warning)...)
	cases = append(cases, b.ratioCases(AlertSlowQueryRateInfo, middleware.MetricSlowQueriesTotal, "slow", t.SlowRate.Info)...)
	cases = append(cases, b.betweenWarningAndCritical())
	cases = append(cases, b.latencyCases(AlertQueryLatencyP99Critical, t.LatencyP99.Critical, "")...)
	cases = append(cases, b.latencyCases(AlertQueryLatencyP99Warning, t.LatencyP99.Warning, AlertQueryLatencyP99Critical)...)
	cases = append(cases, b.spikeCases()...)
	cases = append(cases, b.dropCases()...)
	cases = append(cases, b.absentCases()...)
	cases = append(cases, b.ratioCases(AlertQueryErrorRateHigh, middleware.MetricQueryErrorsTotal, "failing", t.ErrorRate)...)
	cases = append(cases, b.byTypeCases()...)
	cases = append(cases, b.poolSaturationCases()...)
	cases = append(cases, b.poolWaitCases()...)
	return cases
}

// caseBuilder holds what every case derives from the Config.
type caseBuilder struct {
	c    Config
	defs map[string]alertDef
	// eval is the rule evaluation interval, step the series' sample
	// interval (the scrape interval), window the rate window.
	eval, step, window time.Duration
	// series are the labels every test series carries (identity labels
	// and whatever the selector requires); identity the identity labels.
	series, identity map[string]string
	// perStep is the normal number of queries per sample: enough that the
	// minimum rate holds from the second sample on.
	perStep float64
}

func newCaseBuilder(c Config) caseBuilder {
	b := caseBuilder{
		c:      c,
		defs:   map[string]alertDef{},
		eval:   c.Alerting.EvaluationInterval.Std(),
		step:   c.Prometheus.ScrapeInterval.Std(),
		window: c.Thresholds.RateWindow.Std(),
	}
	for _, d := range alertDefs(c) {
		b.defs[d.name] = d
	}
	b.series, b.identity = testLabels(c)
	// From the second sample on, a counter's rate is perStep × elapsed /
	// window until the window is full (extrapolation stops at zero).
	b.perStep = 1000
	for b.perStep < 4*c.Thresholds.MinQueryRate*b.window.Seconds() {
		b.perStep *= 10
	}
	return b
}

// evalCeil rounds d up to an evaluation time.
func (b caseBuilder) evalCeil(d time.Duration) time.Duration {
	if b.eval <= 0 {
		return d
	}
	return (d + b.eval - 1) / b.eval * b.eval
}

// firstRate is the first evaluation at which a series that starts at time
// zero has two samples, so that rate() has a value.
func (b caseBuilder) firstRate() time.Duration { return b.evalCeil(b.step) }

// steps is the number of sample intervals that covers t and one more.
func (b caseBuilder) steps(t time.Duration) int {
	return int((t+b.step-1)/b.step) + 1
}

// rateAt is the rate() of a counter growing by perSecond from zero at time
// zero, evaluated at t: while the window reaches before the first sample,
// extrapolation stops at the counter's zero.
func (b caseBuilder) rateAt(perSecond float64, t time.Duration) float64 {
	if t >= b.window {
		return perSecond
	}
	return perSecond * t.Seconds() / b.window.Seconds()
}

// counterPhase is a run of samples of a counter growing by inc per sample.
type counterPhase struct {
	inc   float64
	steps int
}

// counterValues writes a counter starting at zero in promtool's notation: the
// first phase includes the zero sample, each later one continues from the
// previous value.
func counterValues(phases ...counterPhase) string {
	var parts []string
	v := 0.0
	for i, p := range phases {
		n := p.steps
		start := v
		if i > 0 {
			start = v + p.inc
			n--
		}
		if n < 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s+%sx%d", fnum(start), fnum(p.inc), n))
		v = start + p.inc*float64(n)
	}
	return strings.Join(parts, " ")
}

// gaugeValues is a constant gauge of steps+1 samples.
func gaugeValues(v float64, steps int) string { return fmt.Sprintf("%s+0x%d", fnum(v), steps) }

// fnum writes a sample value without an exponent, rounded to 12
// significant digits so that 0.15 × 1000 is written 150, not
// 150.00000000000003.
func fnum(v float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// in is a test series of metric with the builder's labels plus extra.
func (b caseBuilder) in(metric string, extra map[string]string, values string) rules.Series {
	ls := make(map[string]string, len(b.series)+len(extra))
	for k, v := range b.series {
		ls[k] = v
	}
	for k, v := range extra {
		ls[k] = v
	}
	return rules.Series{Series: metric + labelText(ls), Values: values}
}

// labelText writes labels as a sorted {a="1",b="2"} matcher list.
func labelText(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(ls[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// expect is the alert name fires with: the identity labels, extra (the
// per-type or per-pool labels), the rule's labels, and the annotations
// with the observed value written as the rule's template writes it.
func (b caseBuilder) expect(name string, value float64, extra map[string]string) rules.Alert {
	d := b.defs[name]
	ls := ruleLabels(b.c, d)
	for k, v := range b.identity {
		ls[k] = v
	}
	for k, v := range extra {
		ls[k] = v
	}
	summary, description := d.text(humanizeAs(d.humanize, value), func(l string) string { return ls[l] })
	return rules.Alert{Labels: ls, Annotations: annotations(b.c, d, summary, description)}
}

// alertCheck is an alert test; no alerts means the rule must not be firing.
func alertCheck(name string, at time.Duration, alerts ...rules.Alert) rules.AlertTest {
	return rules.AlertTest{EvalTime: at, Alertname: name, ExpAlerts: alerts}
}

// tc is a test case named "<alert>: <what it shows>".
func (b caseBuilder) tc(alert, what string, series []rules.Series, checks ...rules.AlertTest) rules.TestCase {
	return rules.TestCase{Name: alert + ": " + what, Interval: b.step, InputSeries: series, AlertTests: checks}
}

// shareAbove is a share comfortably above threshold (and at most 1).
func shareAbove(threshold float64) float64 {
	if threshold*1.5 <= 1 {
		return threshold * 1.5
	}
	return (1 + threshold) / 2
}

// shareUnder is a share just under threshold.
func shareUnder(threshold float64) float64 { return threshold * 0.9 }

// ratioCases tests an alert on part/total of db_queries_total, guarded by
// the minimum query rate; adjective says what the part's queries are.
func (b caseBuilder) ratioCases(alert, part, adjective string, l Level) []rules.TestCase {
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	series := func(perStep, share float64) []rules.Series {
		return []rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{perStep, n})),
			b.in(part, sel, counterValues(counterPhase{perStep * share, n})),
		}
	}
	hi, lo := shareAbove(l.Threshold), shareUnder(l.Threshold)
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	return []rules.TestCase{
		b.tc(alert, fmt.Sprintf("%s %s queries fire after %s, not one evaluation earlier", percentText(hi), adjective, l.For),
			series(b.perStep, hi), alertCheck(alert, fire-b.eval), alertCheck(alert, fire, b.expect(alert, hi, nil))),
		b.tc(alert, fmt.Sprintf("%s %s queries, just under %s, do not fire", percentText(lo), adjective, percentText(l.Threshold)),
			series(b.perStep, lo), alertCheck(alert, fire)),
		b.tc(alert, "zero traffic does not fire", series(0, 0), alertCheck(alert, fire)),
		b.tc(alert, fmt.Sprintf("traffic under the minimum rate does not fire even when every query is %s", adjective),
			series(low, 1), alertCheck(alert, fire)),
	}
}

// betweenWarningAndCritical is a slow share between the two levels (7 %
// with the defaults): the warning fires and the critical stays silent.
func (b caseBuilder) betweenWarningAndCritical() rules.TestCase {
	w, c := b.c.Thresholds.SlowRate.Warning, b.c.Thresholds.SlowRate.Critical
	share := w.Threshold + 0.4*(c.Threshold-w.Threshold)
	active := b.firstRate()
	fireW := active + b.evalCeil(w.For.Std())
	fireC := active + b.evalCeil(c.For.Std())
	n := b.steps(max(fireW, fireC))
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	return b.tc(AlertSlowQueryRateWarning, fmt.Sprintf("%s slow queries fire the warning and not the critical", percentText(share)),
		[]rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{b.perStep, n})),
			b.in(middleware.MetricSlowQueriesTotal, sel, counterValues(counterPhase{b.perStep * share, n})),
		},
		alertCheck(AlertSlowQueryRateCritical, fireC),
		alertCheck(AlertSlowQueryRateWarning, fireW, b.expect(AlertSlowQueryRateWarning, share, nil)),
		alertCheck(AlertSlowQueryRateCritical, fireW),
	)
}

// latencyCases tests a p99 alert. The queries fall in the bucket that ends
// at the threshold, except a share pAbove in the next bucket: with 2 %
// there the p99 is halfway through that bucket, with 0.5 % it stays just
// under the threshold. quieter, if set, is the more urgent alert that the
// firing case must not fire.
func (b caseBuilder) latencyCases(alert string, l Level, quieter string) []rules.TestCase {
	bounds := b.c.Thresholds.Buckets
	i := sort.SearchFloat64s(bounds, l.Threshold)
	if i >= len(bounds)-1 || bounds[i] != l.Threshold {
		// Validation reports a threshold that is not a bucket bound below
		// the largest; no exact test exists for it.
		return nil
	}
	lower, upper := 0.0, bounds[i+1]
	if i > 0 {
		lower = bounds[i-1]
	}
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	histogram := func(perStep, pAbove float64) []rules.Series {
		sel := middleware.LabelQueryType
		var ss []rules.Series
		for _, le := range append(append([]float64(nil), bounds...), math.Inf(1)) {
			var cum float64
			if le >= l.Threshold {
				cum += perStep * (1 - pAbove)
			}
			if le >= upper {
				cum += perStep * pAbove
			}
			ss = append(ss, b.in(middleware.MetricQueryDuration+"_bucket",
				map[string]string{sel: string(middleware.QuerySelect), middleware.LabelLE: leText(le)}, counterValues(counterPhase{cum, n})))
		}
		return append(ss, b.in(middleware.MetricQueryDuration+"_count",
			map[string]string{sel: string(middleware.QuerySelect)}, counterValues(counterPhase{perStep, n})))
	}
	const fireShare, underShare = 0.02, 0.005
	p99 := l.Threshold + (upper-l.Threshold)*(fireShare-(1-latencyQuantile))/fireShare
	p99Under := lower + (l.Threshold-lower)*latencyQuantile/(1-underShare)
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	firing := []rules.AlertTest{alertCheck(alert, fire-b.eval), alertCheck(alert, fire, b.expect(alert, p99, nil))}
	if quieter != "" {
		firing = append(firing, alertCheck(quieter, fire))
	}
	return []rules.TestCase{
		b.tc(alert, fmt.Sprintf("2%% of queries above %s put the p99 at %s and fire after %s, not one evaluation earlier", secondsText(l.Threshold), secondsText(p99), l.For),
			histogram(b.perStep, fireShare), firing...),
		b.tc(alert, fmt.Sprintf("0.5%% of queries above %s, a p99 of %s just under it, do not fire", secondsText(l.Threshold), secondsText(p99Under)),
			histogram(b.perStep, underShare), alertCheck(alert, fire)),
		b.tc(alert, "zero traffic does not fire", histogram(0, 0), alertCheck(alert, fire)),
		b.tc(alert, "traffic under the minimum rate does not fire even when every query is slow",
			histogram(low, 1), alertCheck(alert, fire)),
	}
}

// leText writes a bucket bound as client_golang's exposition does.
func leText(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}

// baselineStart is the first evaluation at which the rate-against-baseline
// alerts evaluate for a counter that starts at time zero, and change the
// last sample before the change of rate in their tests: from then on the
// current window holds only the new rate while, at start, the baseline
// window holds only the old one.
func (b caseBuilder) baselineStart() (start, change time.Duration) {
	rw, bw := b.window, b.c.Thresholds.BaselineWindow.Std()
	start = b.evalCeil(bw + rw)
	change = (start - rw) / b.step * b.step
	return start, change
}

// spikeCases: normal traffic, then a higher rate from change on. The
// baseline starts absorbing the spike after start; the spike is chosen
// high enough to stay above threshold × baseline until the alert fires.
func (b caseBuilder) spikeCases() []rules.TestCase {
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
	name := AlertQueryRateSpike
	cases := []rules.TestCase{
		b.tc(name, fmt.Sprintf("a %s× rise fires %s after the baseline covers its window, not one evaluation earlier", fnum(spike/b.perStep), l.For),
			series(b.perStep, spike), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(name, spike/b.step.Seconds(), nil))),
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
func (b caseBuilder) youngSeriesCheck(l Level) (time.Duration, bool) {
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
func (b caseBuilder) dropCases() []rules.TestCase {
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
	name := AlertQueryTrafficDrop
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("a fall to %s× fires %s after the baseline covers its window, not one evaluation earlier", fnum(drop/b.perStep), l.For),
			series(b.perStep, drop), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(name, drop/b.step.Seconds(), nil))),
		b.tc(name, fmt.Sprintf("a fall to %s× the baseline, just above %s×, does not fire", fnum(justAbove), promNum(l.Threshold)),
			series(b.perStep, justAbove*b.perStep), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0), alertCheck(name, fire)),
		b.tc(name, "a fall to nothing from a baseline under the minimum rate does not fire",
			series(low, 0), alertCheck(name, fire)),
	}
}

// absentCases tests the dead man's switch. It is active from the first
// evaluation when the counter never appears.
func (b caseBuilder) absentCases() []rules.TestCase {
	l := b.c.Thresholds.MetricsAbsent
	name := AlertQueryMetricsAbsent
	fire := b.evalCeil(l.For.Std())
	n := b.steps(fire)
	// absent() labels its result with the selector's equality matchers.
	want := b.expect(name, 1, nil)
	for k := range b.identity {
		delete(want.Labels, k)
	}
	// absent() gives its result the labels of the selector's equality matchers.
	for k, v := range selectorEqualities(b.c.Service.Selector) {
		want.Labels[k] = v
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
			[]rules.Series{pool}, alertCheck(name, fire-b.eval), alertCheck(name, fire, want)),
		b.tc(name, "a reporting query counter does not fire",
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{b.perStep, n}))}, alertCheck(name, fire)),
		b.tc(name, "zero traffic is not absence: an idle but reporting counter does not fire",
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{0, n}))}, alertCheck(name, fire)),
		b.tc(name, fmt.Sprintf("a counter that stops reporting fires once the %s lookback and %s have passed, on Prometheus 2 and 3", promDuration(lookbackDelta), l.For),
			[]rules.Series{b.in(middleware.MetricQueriesTotal, qt, counterValues(counterPhase{b.perStep, int(lastSample / b.step)}))},
			alertCheck(name, fire3-b.eval), alertCheck(name, fire2, want)),
	}
}

// byTypeCases: a dominant fast SELECT traffic and a smaller UPDATE traffic
// whose slow share is what is tested.
func (b caseBuilder) byTypeCases() []rules.TestCase {
	l := b.c.Thresholds.SlowRateByType
	name := AlertSlowQueryRateByType
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	upd := map[string]string{middleware.LabelQueryType: string(middleware.QueryUpdate)}
	series := func(selects, updates, share float64) []rules.Series {
		return []rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{selects, n})),
			b.in(middleware.MetricSlowQueriesTotal, sel, counterValues(counterPhase{0, n})),
			b.in(middleware.MetricQueriesTotal, upd, counterValues(counterPhase{updates, n})),
			b.in(middleware.MetricSlowQueriesTotal, upd, counterValues(counterPhase{updates * share, n})),
		}
	}
	hi, lo := shareAbove(l.Threshold), shareUnder(l.Threshold)
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("%s slow UPDATEs among fast SELECTs fire for UPDATE after %s, not one evaluation earlier", percentText(hi), l.For),
			series(9*b.perStep, b.perStep, hi), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(name, hi, upd))),
		b.tc(name, fmt.Sprintf("%s slow UPDATEs, just under %s, do not fire", percentText(lo), percentText(l.Threshold)),
			series(9*b.perStep, b.perStep, lo), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0, 0), alertCheck(name, fire)),
		b.tc(name, "UPDATE traffic under the minimum rate does not fire even when every UPDATE is slow",
			series(9*b.perStep, low, 1), alertCheck(name, fire)),
	}
}

// poolSaturationCases: constant pool gauges, so the condition holds from
// the first evaluation.
func (b caseBuilder) poolSaturationCases() []rules.TestCase {
	l := b.c.Thresholds.PoolSaturation
	name := AlertConnectionPoolSaturated
	fire := b.evalCeil(l.For.Std())
	n := b.steps(fire)
	db := map[string]string{middleware.LabelDBName: testDBName}
	series := func(maxOpen, inUse float64) []rules.Series {
		return []rules.Series{
			b.in(middleware.MetricPoolMaxOpen, db, gaugeValues(maxOpen, n)),
			b.in(middleware.MetricPoolInUse, db, gaugeValues(inUse, n)),
		}
	}
	// The most connections that are not above the threshold (the threshold
	// itself when it is a whole number of them), and a few more.
	atMost := math.Floor(l.Threshold * poolMaxOpen)
	for atMost > 0 && atMost/poolMaxOpen > l.Threshold {
		atMost--
	}
	over := atMost + 5
	if over > poolMaxOpen {
		over = atMost + 1
	}
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("%s of %d connections in use fire after %s, not one evaluation earlier", fnum(over), poolMaxOpen, l.For),
			series(poolMaxOpen, over), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(name, over/poolMaxOpen, db))),
		b.tc(name, fmt.Sprintf("%s of %d connections in use, not above %s, do not fire", fnum(atMost), poolMaxOpen, percentText(l.Threshold)),
			series(poolMaxOpen, atMost), alertCheck(name, fire)),
		b.tc(name, "an idle pool does not fire", series(poolMaxOpen, 0), alertCheck(name, fire)),
		b.tc(name, "a pool without a maximum (max_open 0) does not fire", series(0, 50), alertCheck(name, fire)),
	}
}

// poolWaitCases: the wait-time counter grows from zero fast enough that
// its rate is above the threshold from the second sample on.
func (b caseBuilder) poolWaitCases() []rules.TestCase {
	l := b.c.Thresholds.PoolWait
	name := AlertConnectionPoolWaits
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	db := map[string]string{middleware.LabelDBName: testDBName}
	series := func(perStep float64) []rules.Series {
		return []rules.Series{b.in(middleware.MetricPoolWaitDuration, db, counterValues(counterPhase{perStep, n}))}
	}
	// rate ≥ perStep / window from the second sample on.
	waiting := niceCeil(2 * l.Threshold * b.window.Seconds())
	perSecond := waiting / b.step.Seconds()
	lo := shareUnder(l.Threshold) * b.step.Seconds()
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("waiting %s per second fires after %s, not one evaluation earlier", secondsText(perSecond), l.For),
			series(waiting), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(name, b.rateAt(perSecond, fire), db))),
		b.tc(name, fmt.Sprintf("waiting %s per second, just under %s, does not fire", secondsText(shareUnder(l.Threshold)), secondsText(l.Threshold)),
			series(lo), alertCheck(name, fire)),
		b.tc(name, "no waiting does not fire", series(0), alertCheck(name, fire)),
		b.tc(name, "waiting for one of two pools fires for that pool only",
			append(series(waiting), b.in(middleware.MetricPoolWaitDuration, map[string]string{middleware.LabelDBName: testOtherDBName}, counterValues(counterPhase{0, n}))),
			alertCheck(name, fire, b.expect(name, b.rateAt(perSecond, fire), db))),
	}
}

// promDuration writes a time.Duration in Prometheus notation.
func promDuration(d time.Duration) string { return Duration(d).String() }

// niceCeil rounds v up to two significant digits, so that values and the
// rates derived from them print the same in every engine.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	m := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Ceil(v/m) * m
}

// niceFloor rounds v down to two significant digits.
func niceFloor(v float64) float64 {
	if v <= 0 {
		return 0
	}
	m := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Floor(v/m) * m
}

// testLabels chooses the labels of the test series: every equality
// matcher of the selector, and for the identity labels (and any label a
// non-equality matcher requires) a value that satisfies the selector. It
// also returns the identity labels' values, which the alerts carry.
func testLabels(c Config) (series, identity map[string]string) {
	series, identity = map[string]string{}, map[string]string{}
	var ms []*labels.Matcher
	if strings.TrimSpace(c.Service.Selector) != "" {
		// An invalid selector is a validation finding; its tests then have
		// no selector labels and fail, which is the point.
		ms, _ = parser.NewParser(parser.Options{}).ParseMetricSelector("{" + c.Service.Selector + "}")
	}
	byName := map[string][]*labels.Matcher{}
	for _, m := range ms {
		byName[m.Name] = append(byName[m.Name], m)
	}
	need := append([]string(nil), c.Service.IdentityLabels...)
	for name, list := range byName {
		if name != labels.MetricName && !matchesAllOf(list, "") {
			need = append(need, name)
		}
	}
	for _, name := range need {
		series[name] = labelValueFor(byName[name])
	}
	for _, name := range c.Service.IdentityLabels {
		identity[name] = series[name]
	}
	return series, identity
}

// labelValueFor picks a label value that every matcher accepts: an equality
// matcher's value, else a default, else an alternative of a regex.
func labelValueFor(ms []*labels.Matcher) string {
	candidates := []string{}
	for _, m := range ms {
		if m.Type == labels.MatchEqual {
			candidates = append(candidates, m.Value)
		}
	}
	candidates = append(candidates, testIdentValue)
	for _, m := range ms {
		if m.Type == labels.MatchRegexp {
			for _, alt := range strings.Split(strings.Trim(m.Value, "^$()"), "|") {
				candidates = append(candidates, alt)
			}
		}
	}
	for _, v := range candidates {
		if matchesAllOf(ms, v) {
			return v
		}
	}
	return testIdentValue
}

func matchesAllOf(ms []*labels.Matcher, v string) bool {
	for _, m := range ms {
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

// humanizeAs formats v as the named Prometheus template function does
// (humanize, humanizeDuration, humanizePercentage). It is written here,
// not borrowed from Prometheus, so that the tests check the engine's
// rendering against an independent one.
func humanizeAs(fn string, v float64) string {
	switch fn {
	case "humanizePercentage":
		return fmt.Sprintf("%.4g%%", v*100)
	case "humanizeDuration":
		return humanizeDuration(v)
	default:
		return humanizeNumber(v)
	}
}

func humanizeNumber(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	prefix := ""
	if math.Abs(v) >= 1 {
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(v) < 1000 {
				break
			}
			prefix, v = p, v/1000
		}
		return fmt.Sprintf("%.4g%s", v, prefix)
	}
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(v) >= 1 {
			break
		}
		prefix, v = p, v*1000
	}
	return fmt.Sprintf("%.4g%s", v, prefix)
}

func humanizeDuration(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	if v == 0 {
		return fmt.Sprintf("%.4gs", v)
	}
	if math.Abs(v) >= 1 {
		sign := ""
		if v < 0 {
			sign, v = "-", -v
		}
		d := int64(v)
		s, m, h, days := d%60, (d/60)%60, (d/3600)%24, d/86400
		switch {
		case days != 0:
			return fmt.Sprintf("%s%dd %dh %dm %ds", sign, days, h, m, s)
		case h != 0:
			return fmt.Sprintf("%s%dh %dm %ds", sign, h, m, s)
		case m != 0:
			return fmt.Sprintf("%s%dm %ds", sign, m, s)
		}
		return fmt.Sprintf("%s%.4gs", sign, v)
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(v) >= 1 {
			break
		}
		prefix, v = p, v*1000
	}
	return fmt.Sprintf("%.4g%ss", v, prefix)
}
