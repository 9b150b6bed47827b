package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The slow share per query type: a slowdown of a minor type is not
// drowned by a dominant fast one; the minimum rate applies per type. The
// statistics table shows the slow share per type, coloured at this
// threshold (the Slow Query Rate panel has no share).
func byTypeFamily(e *Env) Family {
	q, t := e.Query, e.Config.Thresholds
	l := t.SlowRateByType
	slowest := FormatSeconds(t.SlowQuery.Std().Seconds())
	a := Alert{
		Name: AlertSlowQueryRateByType, Severity: SeverityWarning, Family: FamilySlowQueryRateByType, For: l.For, Panel: PanelStatisticsTable,
		By:       []string{middleware.LabelQueryType},
		Expr:     q.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, []string{middleware.LabelQueryType}, ">", "slow_rate_by_type", l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			qt := lb(middleware.LabelQueryType)
			return fmt.Sprintf("Slow %s queries above %s for %s", qt, FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the %s queries of %s took %s or longer over the last %s (warning above %s for %s, with %s of that type).",
					v, qt, q.who(lb), slowest, t.RateWindow, FormatPercent(l.Threshold), l.For, q.traffic())
		},
		Runbook: e.rb.slowRateByType(),
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.byTypeCases(a) })
	return Family{Name: FamilySlowQueryRateByType, Alerts: []Alert{a}}
}

func (r rbContext) slowRateByType() Runbook {
	l := r.c.Thresholds.SlowRateByType
	p := FormatPercent(l.Threshold)
	return Runbook{
		Summary: fmt.Sprintf("More than %s of the database queries of one type take %s or longer.", p, r.slow),
		Fires: fmt.Sprintf("within one %s, slow statements (≥ %s) are more than %s over %s, for %s",
			rbCode(middleware.LabelQueryType), r.slow, p, r.w, l.For),
		Guard: fmt.Sprintf("only for a %s that runs at least %s over %s: a handful of queries is not a trend",
			rbCode(middleware.LabelQueryType), r.minQPS, r.w),
		Meaning: []string{
			fmt.Sprintf("Like %s, per %s and %s (the alert's %s label says which). A slow minority type, say `UPDATE` at 3%% of traffic, vanishes in the overall share; this alert catches it.",
				AlertSlowQueryRateWarning, rbCode(r.by), rbCode(middleware.LabelQueryType), rbCode(middleware.LabelQueryType)),
		},
		Impact: "The operations of that type are slow. For writes that is usually a path users wait on (save, checkout), and slow writes hold locks longer, slowing everyone else.",
		Causes: []string{
			"`SELECT`: a missing index, a plan change, deep `OFFSET`, an unbounded result.",
			"`UPDATE` / `DELETE`: lock waits on hot rows; a `WHERE` without an index (InnoDB locks every row it scans); on PostgreSQL, deleting parents whose foreign key column in the child table has no index; triggers.",
			"`INSERT`: commit latency (fsync, synchronous replication), many indexes to maintain, unique-key contention, oversized batches.",
			"`OTHER`: DDL and migrations waiting for locks, stored procedures, maintenance commands.",
		},
		Checks: []string{
			fmt.Sprintf("Open %s: which type, since when. Compare with deploys and migrations.", r.panelLink(PanelSlowRate)),
			fmt.Sprintf("List the slow statements of that type (commands below; replace %s with the alert's %s label).",
				rbCode(string(middleware.QueryUpdate)), rbCode(middleware.LabelQueryType)),
			"For writes, check lock waits first (SQL below, then the guide's lock-wait section).",
			rbExplainStep,
		},
		PromQL: []RunbookQuery{
			r.qSlowShareByType(),
			{"slow statements per second by type", r.sumRate(middleware.MetricSlowQueriesTotal, r.w, middleware.LabelQueryType)},
			r.qP99ByType(),
			r.qTraffic(),
		},
		SQL:   rbSQLRunning,
		Shell: r.logRecipes(string(middleware.QueryUpdate)),
		Mitigate: []string{
			"A deploy changed the statement: roll back.",
			"Missing index (including a foreign key column on PostgreSQL): create it online.",
			"Lock waits: end the blocker; shorten the transactions that take the lock; update hot rows in a consistent order.",
			"Slow commits: batch small writes into fewer transactions; check the database's disk and replication latency.",
			"Migrations: run them off-peak with `lock_timeout` (PostgreSQL) / `lock_wait_timeout` (MySQL/MariaDB).",
		},
		Guide:   []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkIndexes, rbLinkLocks, rbLinkTx},
		Related: []string{AlertSlowQueryRateWarning, AlertSlowQueryRateCritical, AlertQueryLatencyP99Warning},
	}
}

// byTypeCases: a dominant fast SELECT traffic and a smaller UPDATE traffic
// whose slow share is what is tested.
func (b *TestKit) byTypeCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.SlowRateByType
	name := a.Name
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
		b.tc(name, fmt.Sprintf("%s slow UPDATEs among fast SELECTs fire for UPDATE after %s, not one evaluation earlier", FormatPercent(hi), l.For),
			series(9*b.perStep, b.perStep, hi), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, hi, upd))),
		b.tc(name, fmt.Sprintf("%s slow UPDATEs, just under %s, do not fire", FormatPercent(lo), FormatPercent(l.Threshold)),
			series(9*b.perStep, b.perStep, lo), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0, 0), alertCheck(name, fire)),
		b.tc(name, "UPDATE traffic under the minimum rate does not fire even when every UPDATE is slow",
			series(9*b.perStep, low, 1), alertCheck(name, fire)),
	}
}
