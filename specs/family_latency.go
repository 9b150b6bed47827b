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
		Runbook: e.rb.latency(severity, l),
	}
	if q.fleet {
		a.Expr = fmt.Sprintf("%s\nand\n  %s >= %s",
			q.cmp(fmt.Sprintf("histogram_quantile(%s, %s)", promNum(latencyQuantile), q.sumRate(middleware.MetricQueryDuration+"_bucket", w, middleware.LabelLE)), ">", key, l.Threshold),
			q.sumRate(middleware.MetricQueryDuration+"_count", w), promNum(t.MinQueryRate))
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.latencyCases(a, l, quieter) })
	return a
}

func (r rbContext) latency(severity string, l Level) Runbook {
	t := r.c.Thresholds.LatencyP99
	thr := FormatSeconds(l.Threshold)
	b := Runbook{
		Summary: fmt.Sprintf("The slowest 1%% of database queries take more than %s.", thr),
		Fires: fmt.Sprintf("p99 of %s over %s is above %s, for %s",
			rbCode(middleware.MetricQueryDuration), r.w, thr, l.For),
		Guard: r.guardText(),
		Meaning: []string{
			fmt.Sprintf("The 99th percentile of statement duration per %s, computed with %s from the middleware's histogram over %s, has stayed above %s for %s.",
				rbCode(r.by), rbCode("histogram_quantile"), r.w, thr, l.For),
			fmt.Sprintf("%s is a bucket bound of the histogram, so the comparison is exact, not interpolated. Levels: %s above %s for %s, %s above %s for %s.",
				thr, AlertQueryLatencyP99Warning, FormatSeconds(t.Warning.Threshold), t.Warning.For,
				AlertQueryLatencyP99Critical, FormatSeconds(t.Critical.Threshold), t.Critical.For),
			"The p99 watches the tail; the slow-query share watches the body. A p99 alert without a slow-share alert means a few statements are very slow.",
		},
		Causes: []string{
			"Lock waits: a few statements blocked behind a long transaction or a migration. The tail moves, the median does not.",
			"A few expensive statements: reports, exports, `SELECT` without `LIMIT`, `OFFSET` pagination deep into a table.",
			"Skewed data: one statement is fast for most parameter values and slow for a few (the largest customer); on PostgreSQL a cached generic plan can be the slow one.",
			"I/O stalls on the database host: checkpoints, backups, storage throttling, a noisy neighbour.",
			"Everything got slower (p50 moved too): a missing index, a plan change or a saturated database, as in " + AlertSlowQueryRateCritical + ".",
		},
		Checks: []string{
			fmt.Sprintf("Open %s: did p50 move too? Only p99 means the tail (locks, big statements, skew); all lines mean the database or a common statement.",
				r.panelLink(PanelPercentiles)),
			fmt.Sprintf("Find the %s with the worst p99 in %s and %s.", rbCode(middleware.LabelQueryType),
				r.panelLink(PanelStatisticsTable), r.panelLink(PanelLatencyP99)),
			"List the slow statements of that type from the slow-query log (commands below); the rare, expensive ones are what a p99 alert is about.",
			"Check lock waits and long-running statements on the database (SQL below).",
			rbExplainStep + " For skew, EXPLAIN with the parameter values of the slow case, not the common one.",
		},
		PromQL: []RunbookQuery{
			{"p99 (the alert's expression, without the traffic guard), in seconds", r.quantile(0.99)},
			{"p50, to tell a slow tail from a slow body", r.quantile(0.5)},
			r.qP99ByType(),
			r.qMeanByType(),
		},
		SQL:   rbSQLRunning,
		Shell: r.logRecipes(""),
		Mitigate: []string{
			"Lock waits: end the blocker; give migrations a `lock_timeout` (PostgreSQL) or a short `lock_wait_timeout` (MySQL/MariaDB) so DDL stops queueing everything behind it.",
			"Expensive statements: bound them (`LIMIT`, keyset pagination), run them on a replica or off-peak, give them a server-side time limit.",
			"Skewed parameters on PostgreSQL: compare `EXPLAIN (GENERIC_PLAN)` (PostgreSQL 16+) with a custom plan; `SET plan_cache_mode = force_custom_plan` for the affected role or session stops a bad generic plan.",
			"A regression from a deploy: roll back.",
			"I/O stalls: move backups and batch jobs out of peak hours; check the storage's throughput limits.",
		},
		Guide:   []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkLocks, rbLinkKeyset, rbLinkPrepared},
		Related: []string{AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning, AlertSlowQueryRateCritical, AlertConnectionPoolSaturated},
	}
	if severity == SeverityCritical {
		b.Impact = fmt.Sprintf("Requests that hit the tail wait more than %s per statement, near typical request timeouts; "+
			"upstream retries turn the tail into errors and extra load.", thr)
	} else {
		b.Impact = fmt.Sprintf("Most requests are fine; those that hit the tail wait more than %s per statement. "+
			"Left alone it grows into %s.", thr, AlertQueryLatencyP99Critical)
	}
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
	firing := []rules.AlertTest{alertCheck(alert, fire-b.eval), alertCheck(alert, fire, b.expect(a, p99, nil))}
	if quieter != "" {
		firing = append(firing, alertCheck(quieter, fire))
	}
	return []rules.TestCase{
		b.tc(alert, fmt.Sprintf("2%% of queries above %s put the p99 at %s and fire after %s, not one evaluation earlier", FormatSeconds(l.Threshold), FormatSeconds(p99), l.For),
			histogram(b.perStep, fireShare), firing...),
		b.tc(alert, fmt.Sprintf("0.5%% of queries above %s, a p99 of %s just under it, do not fire", FormatSeconds(l.Threshold), FormatSeconds(p99Under)),
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
