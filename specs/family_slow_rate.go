package specs

import (
	"fmt"
	"math"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The slow query rate: the share of statements at or above
// thresholds.slow_query, at three levels. A share between the warning and
// the critical level fires the warning only.
func slowRateFamily(e *Env) Family {
	t := e.Config.Thresholds.SlowRate
	warn := e.slowRateAlert(AlertSlowQueryRateWarning, SeverityWarning, "slow_rate_warning", t.Warning)
	return Family{
		Name: FamilySlowQueryRate,
		Alerts: []Alert{
			e.slowRateAlert(AlertSlowQueryRateCritical, SeverityCritical, "slow_rate_critical", t.Critical),
			warn,
			e.slowRateAlert(AlertSlowQueryRateInfo, SeverityInfo, "slow_rate_info", t.Info),
		},
		Cases: e.Tests(func(k *TestKit) []rules.TestCase { return []rules.TestCase{k.betweenWarningAndCritical(warn)} }),
	}
}

func (e *Env) slowRateAlert(name, severity, key string, l Level) Alert {
	q, w := e.Query, e.Config.Thresholds.RateWindow
	slowest := FormatSeconds(e.Config.Thresholds.SlowQuery.Std().Seconds())
	a := Alert{
		Name: name, Severity: severity, Family: FamilySlowQueryRate, For: l.For, Panel: PanelSlowPercentage,
		Expr:     q.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, nil, ">", key, l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Slow database queries above %s for %s", FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the database queries of %s took %s or longer over the last %s (%s above %s for %s, with %s).",
					v, q.who(lb), slowest, w, severity, FormatPercent(l.Threshold), l.For, q.traffic())
		},
		Runbook: e.rb.slowRate(severity, l),
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase {
		return k.ratioCases(a, middleware.MetricSlowQueriesTotal, "slow", l)
	})
	return a
}

func (r rbContext) slowRate(severity string, l Level) Runbook {
	t := r.c.Thresholds.SlowRate
	p := FormatPercent(l.Threshold)
	// The chance that a request running ten statements hits at least one
	// slow one: what "p of queries are slow" means to a user.
	tenQueries := FormatPercent(math.Round((1-math.Pow(1-l.Threshold, 10))*100) / 100)
	b := Runbook{
		Summary: fmt.Sprintf("More than %s of database queries take %s or longer.", p, r.slow),
		Fires: fmt.Sprintf("slow statements (≥ %s) are more than %s of all statements over %s, for %s",
			r.slow, p, r.w, l.For),
		Guard: r.guardText(),
		Meaning: []string{
			fmt.Sprintf("The share of statements at or above the slow threshold, %s / %s over %s per %s, has stayed above %s for %s.",
				rbCode(middleware.MetricSlowQueriesTotal), rbCode(middleware.MetricQueriesTotal), r.w, rbCode(r.by), p, l.For),
			fmt.Sprintf("Three alerts watch this signal: %s above %s for %s, %s above %s for %s, %s above %s for %s.",
				AlertSlowQueryRateInfo, FormatPercent(t.Info.Threshold), t.Info.For,
				AlertSlowQueryRateWarning, FormatPercent(t.Warning.Threshold), t.Warning.For,
				AlertSlowQueryRateCritical, FormatPercent(t.Critical.Threshold), t.Critical.For),
			fmt.Sprintf("The middleware counts and logs a statement as slow at %s; the application must pass the same value to %s as %s holds for these numbers to agree.",
				r.slow, rbCode("middleware.WithSlowThreshold"), rbCode("thresholds.slow_query")),
		},
		Causes: []string{
			"A deploy added a query, or changed one so that it no longer uses an index. Compare the start of the alert with the last deploy.",
			"A plan change: table growth or fresh statistics made the planner switch to a sequential scan or a nested loop over many rows.",
			"Lock waits: a long transaction, a migration (`ALTER TABLE`) or a batch update holds locks; blocked statements are slow without being expensive.",
			"The database is saturated: CPU or I/O taken by a batch job, a backup, vacuum or a reporting query.",
			"Cold cache after a database restart or failover: reads hit disk until the working set is back in memory.",
		},
		Checks: []string{
			fmt.Sprintf("Open %s and %s. One %s slow means one statement or table; all types at once mean the database itself (CPU, I/O, locks) or the network.",
				r.panelLink(PanelSlowRate), r.panelLink(PanelSlowPercentage), rbCode(middleware.LabelQueryType)),
			"Line the start up with deploys, migrations and scheduled jobs.",
			"Find the statements in the slow-query log: the middleware writes `slow query` at level WARN with `query_type`, `duration` and `sql` (truncated, without parameter values). Commands below.",
			"See what runs now and what it waits on (SQL below). Many statements with `wait_event_type` `Lock` (PostgreSQL) or a `Waiting for … lock` state (MySQL/MariaDB): follow the guide's lock-wait section.",
			rbExplainStep,
		},
		PromQL: []RunbookQuery{
			{"share of slow statements, 0–1 (the alert's expression, without the traffic guard)",
				r.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal)},
			r.qSlowShareByType(),
			r.qP99ByType(),
			r.qTraffic(),
		},
		SQL:   rbSQLRunning,
		Shell: r.logRecipes(""),
		Mitigate: []string{
			"Caused by a deploy: roll it back or switch the feature off, then fix the query.",
			"Missing index: create it without blocking writes, `CREATE INDEX CONCURRENTLY` (PostgreSQL) or `ALTER TABLE … ADD INDEX …, ALGORITHM=INPLACE, LOCK=NONE` (MySQL/MariaDB).",
			"Plan flip after a statistics change: `ANALYZE <table>` (PostgreSQL) or `ANALYZE TABLE <table>` (MySQL/MariaDB), then check the plan again.",
			"Lock waits: end the blocker (`pg_cancel_backend`, then `pg_terminate_backend`; `KILL QUERY`, then `KILL`), then find out why it held the lock.",
			"Competing load: pause or reschedule the batch job; move reports to a replica.",
			"Keep slow statements from piling up on the pool: context deadlines plus `statement_timeout` / `max_execution_time` make them fail fast.",
		},
		Guide:   []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkIndexes, rbLinkLocks, rbLinkTimeouts},
		Related: []string{AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo, AlertSlowQueryRateByType, AlertQueryLatencyP99Critical},
	}
	switch severity {
	case SeverityCritical:
		b.Impact = fmt.Sprintf("Users feel it: a request that runs ten queries hits at least one slow one %s of the time. "+
			"Slow statements also hold pool connections longer, so pool saturation and waits tend to follow.", tenQueries)
	case SeverityWarning:
		b.Impact = fmt.Sprintf("A request that runs ten queries hits at least one slow one %s of the time. "+
			"Not yet an outage; left alone it becomes %s.", tenQueries, AlertSlowQueryRateCritical)
	default:
		b.Impact = fmt.Sprintf("Early warning, nothing breaks yet (a ten-query request hits a slow one %s of the time). "+
			"A growing table or a new query pattern is cheapest to fix now, before it becomes %s.", tenQueries, AlertSlowQueryRateWarning)
	}
	return b
}

// betweenWarningAndCritical is a slow share between the two levels (7 %
// with the defaults): the warning fires and the critical stays silent.
func (b *TestKit) betweenWarningAndCritical(warn Alert) rules.TestCase {
	w, c := b.c.Thresholds.SlowRate.Warning, b.c.Thresholds.SlowRate.Critical
	share := w.Threshold + 0.4*(c.Threshold-w.Threshold)
	active := b.firstRate()
	fireW := active + b.evalCeil(w.For.Std())
	fireC := active + b.evalCeil(c.For.Std())
	n := b.steps(max(fireW, fireC))
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	return b.tc(AlertSlowQueryRateWarning, fmt.Sprintf("%s slow queries fire the warning and not the critical", FormatPercent(share)),
		[]rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{b.perStep, n})),
			b.in(middleware.MetricSlowQueriesTotal, sel, counterValues(counterPhase{b.perStep * share, n})),
		},
		alertCheck(AlertSlowQueryRateCritical, fireC),
		alertCheck(AlertSlowQueryRateWarning, fireW, b.expect(warn, share, nil)),
		alertCheck(AlertSlowQueryRateCritical, fireW),
	)
}
