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

// RuleTests returns the typed unit tests of RuleGroups(c): the cases of
// every alert and family of the default pack. Every alert has a case where
// it fires (with its exact labels and annotations), one just under its
// threshold, one a single evaluation before its for duration has elapsed,
// and one with zero traffic, plus cases for its guards.
func RuleTests(c Config) []rules.TestCase { return Build(c).RuleTests }

// ruleTests are the cases of every family: each alert's, then the
// family's own.
func (p *Pack) ruleTests() []rules.TestCase {
	var cases []rules.TestCase
	for _, f := range p.Families {
		for _, a := range f.Alerts {
			cases = append(cases, a.Cases...)
		}
		cases = append(cases, f.Cases...)
	}
	for _, v := range p.variants {
		cases = append(cases, v.cases...)
	}
	return cases
}

// TestKit builds rule test cases from what every case derives from the
// Config: the evaluation and sample intervals, the labels a test series
// needs to pass the selector, and a traffic level above the minimum rate.
type TestKit struct {
	c Config
	// eval is the rule evaluation interval, step the series' sample
	// interval (the scrape interval), window the rate window.
	eval, step, window time.Duration
	// series are the labels every test series carries (identity labels
	// and whatever the selector requires); identity the identity labels.
	series, identity map[string]string
	// perStep is the normal number of queries per sample: enough that the
	// minimum rate holds from the second sample on.
	perStep float64
	// service is the index of the fleet's service under test.
	service int
}

func newTestKit(c Config) *TestKit {
	b := &TestKit{
		c:      c,
		eval:   c.Alerting.EvaluationInterval.Std(),
		step:   c.Prometheus.ScrapeInterval.Std(),
		window: c.Thresholds.RateWindow.Std(),
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
func (b *TestKit) evalCeil(d time.Duration) time.Duration {
	if b.eval <= 0 {
		return d
	}
	return (d + b.eval - 1) / b.eval * b.eval
}

// firstRate is the first evaluation at which a series that starts at time
// zero has two samples, so that rate() has a value.
func (b *TestKit) firstRate() time.Duration { return b.evalCeil(b.step) }

// steps is the number of sample intervals that covers t and one more.
func (b *TestKit) steps(t time.Duration) int {
	return int((t+b.step-1)/b.step) + 1
}

// rateAt is the rate() of a counter growing by perSecond from zero at time
// zero, evaluated at t: while the window reaches before the first sample,
// extrapolation stops at the counter's zero.
func (b *TestKit) rateAt(perSecond float64, t time.Duration) float64 {
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
func (b *TestKit) in(metric string, extra map[string]string, values string) rules.Series {
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
func (b *TestKit) expect(a Alert, value float64, extra map[string]string) rules.Alert {
	ls := ruleLabels(b.c, a)
	for k, v := range b.identity {
		ls[k] = v
	}
	for k, v := range extra {
		ls[k] = v
	}
	summary, description := a.texts(humanizeAs(a.Humanize, value), func(l string) string { return ls[l] })
	return rules.Alert{Labels: ls, Annotations: annotations(b.c, a, summary, description)}
}

// alertCheck is an alert test; no alerts means the rule must not be firing.
func alertCheck(name string, at time.Duration, alerts ...rules.Alert) rules.AlertTest {
	return rules.AlertTest{EvalTime: at, Alertname: name, ExpAlerts: alerts}
}

// tc is a test case named "<alert>: <what it shows>".
func (b *TestKit) tc(alert, what string, series []rules.Series, checks ...rules.AlertTest) rules.TestCase {
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
func (b *TestKit) ratioCases(a Alert, part, adjective string, l Level) []rules.TestCase {
	alert := a.Name
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
	var perDB []rules.TestCase
	if b.c.Middleware.DBNameLabel {
		// Two databases of one application, one of them failing the
		// threshold: it fires alone, at its own share (not at the share
		// of both together, which would be half of it).
		other := func(metric string, perStep float64) rules.Series {
			return b.in(metric, b.inDB(testOtherDBName, sel), counterValues(counterPhase{perStep, n}))
		}
		perDB = append(perDB, b.tc(alert, fmt.Sprintf("database %s with %s %s queries fires alone; database %s, just as busy, has none", testDBName, FormatPercent(hi), adjective, testOtherDBName),
			append(series(b.perStep, hi), other(middleware.MetricQueriesTotal, b.perStep), other(part, 0)),
			alertCheck(alert, fire, b.expect(a, hi, nil))))
	}
	return append([]rules.TestCase{
		b.tc(alert, fmt.Sprintf("%s %s queries fire after %s, not one evaluation earlier", FormatPercent(hi), adjective, l.For),
			series(b.perStep, hi), alertCheck(alert, fire-b.eval), alertCheck(alert, fire, b.expect(a, hi, nil))),
		b.tc(alert, fmt.Sprintf("%s %s queries, just under %s, do not fire", FormatPercent(lo), adjective, FormatPercent(l.Threshold)),
			series(b.perStep, lo), alertCheck(alert, fire)),
		b.tc(alert, "zero traffic does not fire", series(0, 0), alertCheck(alert, fire)),
		b.tc(alert, fmt.Sprintf("traffic under the minimum rate does not fire even when every query is %s", adjective),
			series(low, 1), alertCheck(alert, fire)),
	}, perDB...)
}

// inDB is extra with the db_name of database db, when the statement
// metrics carry db_name and db is not empty; otherwise extra.
func (b *TestKit) inDB(db string, extra map[string]string) map[string]string {
	if db == "" || !b.c.Middleware.DBNameLabel {
		return extra
	}
	out := map[string]string{middleware.LabelDBName: db}
	for k, v := range extra {
		out[k] = v
	}
	return out
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
	if c.Middleware.DBNameLabel {
		// Every series is of one database, and the alerts keep db_name.
		series[middleware.LabelDBName] = testDBName
		identity[middleware.LabelDBName] = testDBName
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

// Fire is the evaluation at which a condition that holds from the first
// rate() of a series starting at time zero has held for l.For: the
// alert is pending one evaluation earlier and firing from here.
func (b *TestKit) Fire(l Level) time.Duration { return b.firstRate() + b.evalCeil(l.For.Std()) }

// Eval is the rule evaluation interval.
func (b *TestKit) Eval() time.Duration { return b.eval }

// PerStep is a number of events per sample that keeps a counter above
// thresholds.min_query_rate from its second sample on.
func (b *TestKit) PerStep() float64 { return b.perStep }

// Steps is the number of sample intervals that covers t, and one more.
func (b *TestKit) Steps(t time.Duration) int { return b.steps(t) }

// Series is a test series of metric with the labels every test series
// needs to pass the service selector, plus labels.
func (b *TestKit) Series(metric string, labels map[string]string, values string) rules.Series {
	return b.in(metric, labels, values)
}

// Expect is the alert a fires as: its labels, the identity labels, extra,
// and its annotations with the observed value written as its template
// writes it.
func (b *TestKit) Expect(a Alert, value float64, extra map[string]string) rules.Alert {
	return b.expect(a, value, extra)
}

// Case is a test case named "<alert>: <what it shows>", sampled at the
// scrape interval.
func (b *TestKit) Case(alert, what string, series []rules.Series, checks ...rules.AlertTest) rules.TestCase {
	return b.tc(alert, what, series, checks...)
}

// Counter writes a counter that starts at zero and grows by inc per sample
// for steps samples, in promtool's notation.
func Counter(inc float64, steps int) string { return counterValues(counterPhase{inc, steps}) }

// AlertCheck asserts the alerts name fires with at evaluation time at; no
// alerts means it must not be firing.
func AlertCheck(name string, at time.Duration, alerts ...rules.Alert) rules.AlertTest {
	return alertCheck(name, at, alerts...)
}
