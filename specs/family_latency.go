package specs

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The p99 query latency, at two levels, from the duration histogram.
func latencyFamily(e *Env) Family {
	t := e.Config.Thresholds.LatencyP99
	return Family{
		Name: FamilyQueryLatencyP99,
		Alerts: []Alert{
			e.latencyAlert(AlertQueryLatencyP99Critical, SeverityCritical, "latency_p99_critical", t.Critical, ""),
			e.latencyAlert(AlertQueryLatencyP99Warning, SeverityWarning, "latency_p99_warning", t.Warning, AlertQueryLatencyP99Critical),
		},
	}
}

// latencyAlert is one level; quieter is the more urgent level that must
// stay silent where this one fires.
func (e *Env) latencyAlert(name, severity, key string, l Level, quieter string) Alert {
	q, t := e.Query, e.Config.Thresholds
	w := t.RateWindow
	// The threshold is a bucket bound (validation insists), so
	// histogram_quantile is exact there: the p99 is above the bound only
	// when more than 1 % of the queries fall in a higher bucket, and
	// exactly 1 % puts it on the bound. Hence `>`: the alert means "more
	// than 1 % of queries are slower than the threshold".
	a := Alert{
		Name: name, Severity: severity, Family: FamilyQueryLatencyP99, For: l.For, Panel: PanelLatencyP99,
		Expr: fmt.Sprintf("histogram_quantile(%s, %s)\n  > %s\nand\n  %s >= %s",
			promNum(latencyQuantile), q.sumRate(middleware.MetricQueryDuration+"_bucket", w, middleware.LabelLE), promNum(l.Threshold),
			q.sumRate(middleware.MetricQueryDuration+"_count", w), promNum(t.MinQueryRate)),
		Humanize: "humanizeDuration",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Database query p99 latency above %s for %s", FormatSeconds(l.Threshold), q.who(lb)),
				fmt.Sprintf("The 99th percentile of the database query duration of %s is %s over the last %s (%s above %s for %s, with %s).",
					q.who(lb), v, w, severity, FormatSeconds(l.Threshold), l.For, q.traffic())
		},
	}
	a.Runbook = e.rb.latency(a, l)
	if q.fleet {
		a.Expr = fmt.Sprintf("%s\nand\n  %s >= %s",
			q.cmp(fmt.Sprintf("histogram_quantile(%s, %s)", promNum(latencyQuantile), q.sumRate(middleware.MetricQueryDuration+"_bucket", w, middleware.LabelLE)), ">", key, l.Threshold),
			q.sumRate(middleware.MetricQueryDuration+"_count", w), promNum(t.MinQueryRate))
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.latencyCases(a, l, quieter) })
	return a
}

func (r *rbContext) latency(a Alert, l Level) Runbook {
	b := r.text("query_latency_p99", a, l)
	b.PromQL = []RunbookQuery{
		{"p99 (the alert's expression, without the traffic guard), in seconds", r.quantile(0.99)},
		{"p50, to tell a slow tail from a slow body", r.quantile(0.5)},
		r.qP99ByType(),
		r.qMeanByType(),
	}
	b.PromQL = append(b.PromQL, r.qStatements()...)
	b.Guide = []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkLocks, rbLinkKeyset, rbLinkPrepared}
	b.Related = []string{AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning, AlertSlowQueryRateCritical, AlertConnectionPoolSaturated}
	return b
}

// latencyCases tests a p99 alert. The queries fall in the bucket that ends
// at the threshold, except a share pAbove in the next bucket: with 2 %
// there the p99 is halfway through that bucket, with 0.5 % it stays just
// under the threshold. quieter, if set, is the more urgent alert that the
// firing case must not fire.
func (b *TestKit) latencyCases(a Alert, l Level, quieter string) []rules.TestCase {
	alert := a.Name
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
	histogramOf := func(db string, perStep, pAbove float64) []rules.Series {
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
				b.inDB(db, map[string]string{sel: string(middleware.QuerySelect), middleware.LabelLE: leText(le)}), counterValues(counterPhase{cum, n})))
		}
		return append(ss, b.in(middleware.MetricQueryDuration+"_count",
			b.inDB(db, map[string]string{sel: string(middleware.QuerySelect)}), counterValues(counterPhase{perStep, n})))
	}
	histogram := func(perStep, pAbove float64) []rules.Series { return histogramOf("", perStep, pAbove) }
	const fireShare, underShare = 0.02, 0.005
	p99 := l.Threshold + (upper-l.Threshold)*(fireShare-(1-latencyQuantile))/fireShare
	p99Under := lower + (l.Threshold-lower)*latencyQuantile/(1-underShare)
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	firing := []rules.AlertTest{alertCheck(alert, fire-b.eval), alertCheck(alert, fire, b.expect(a, p99, nil))}
	if quieter != "" {
		firing = append(firing, alertCheck(quieter, fire))
	}
	var perDB []rules.TestCase
	if b.c.Middleware.DBNameLabel {
		// Two databases of one application: the slow one fires alone, at
		// its own p99, not at the p99 of both together.
		perDB = append(perDB, b.tc(alert, fmt.Sprintf("database %s with 2%% of queries above %s fires alone; database %s, just as busy and fast, does not", testDBName, FormatSeconds(l.Threshold), testOtherDBName),
			append(histogramOf(testDBName, b.perStep, fireShare), histogramOf(testOtherDBName, b.perStep, 0)...),
			alertCheck(alert, fire, b.expect(a, p99, map[string]string{middleware.LabelDBName: testDBName}))))
	}
	return append([]rules.TestCase{
		b.tc(alert, fmt.Sprintf("2%% of queries above %s put the p99 at %s and fire after %s, not one evaluation earlier", FormatSeconds(l.Threshold), FormatSeconds(p99), l.For),
			histogram(b.perStep, fireShare), firing...),
		b.tc(alert, fmt.Sprintf("0.5%% of queries above %s, a p99 of %s just under it, do not fire", FormatSeconds(l.Threshold), FormatSeconds(p99Under)),
			histogram(b.perStep, underShare), alertCheck(alert, fire)),
		b.tc(alert, "zero traffic does not fire", histogram(0, 0), alertCheck(alert, fire)),
		b.tc(alert, "traffic under the minimum rate does not fire even when every query is slow",
			histogram(low, 1), alertCheck(alert, fire)),
	}, perDB...)
}

// leText writes a bucket bound as client_golang's exposition does.
func leText(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}
