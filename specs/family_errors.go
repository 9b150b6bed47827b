package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The share of statements that returned an error.
func errorsFamily(e *Env) Family {
	q, t := e.Query, e.Config.Thresholds
	l := t.ErrorRate
	a := Alert{
		Name: AlertQueryErrorRateHigh, Severity: SeverityWarning, Family: FamilyQueryErrors, For: l.For, Panel: PanelErrorRate,
		Expr:     q.ratio(middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal, nil, ">", "error_rate", l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Database query errors above %s for %s", FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the database queries of %s returned an error over the last %s (warning above %s for %s, with %s).",
					v, q.who(lb), t.RateWindow, FormatPercent(l.Threshold), l.For, q.traffic())
		},
		Runbook: e.rb.errorRate(),
	}
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase {
		return k.ratioCases(a, middleware.MetricQueryErrorsTotal, "failing", l)
	})
	return Family{Name: FamilyQueryErrors, Alerts: []Alert{a}}
}

func (r rbContext) errorRate() Runbook {
	l := r.c.Thresholds.ErrorRate
	p := FormatPercent(l.Threshold)
	return Runbook{
		Summary: fmt.Sprintf("More than %s of database queries return an error.", p),
		Fires: fmt.Sprintf("statements that returned an error are more than %s of all statements over %s, for %s",
			p, r.w, l.For),
		Guard: r.guardText(),
		Meaning: []string{
			fmt.Sprintf("Per %s, %s / %s over %s has stayed above %s for %s.",
				rbCode(r.by), rbCode(middleware.MetricQueryErrorsTotal), rbCode(middleware.MetricQueriesTotal), r.w, p, l.For),
			"An error is any error the driver returned for a statement, including cancellations and timeouts. `sql.ErrNoRows` is not one: database/sql makes it up after the driver succeeded.",
		},
		Impact: "Requests fail or retry; retries add load. Writes are lost unless the application retries them safely.",
		Causes: []string{
			"A deploy ran ahead of its migration: SQL names a column or table that does not exist yet, or was dropped too early.",
			"Failover or restart of the database: refused or reset connections and read-only errors until the pool reconnects to the new primary.",
			"Timeouts: context deadlines or `statement_timeout` / `max_execution_time` cancel slow statements (PostgreSQL 57014, MySQL 3024, MariaDB 1969). The fix is the slowness, not the timeout.",
			"Contention: deadlocks (PostgreSQL 40P01, MySQL/MariaDB 1213) and serialization failures (40001).",
			"Constraint violations (PostgreSQL 23505, MySQL/MariaDB 1062) from double submissions or a race.",
			"Connection limits (PostgreSQL 53300, MySQL/MariaDB 1040) or expired or rotated credentials.",
		},
		Checks: []string{
			fmt.Sprintf("Which %s fails (PromQL below)? Writes only point at constraints, deadlocks or read-only; everything points at connectivity or a deploy.",
				rbCode(middleware.LabelQueryType)),
			"Read the error text in the application's logs: the middleware counts errors but does not log them.",
			"Check the database: a failover or restart in its log, connection count against `max_connections`.",
			fmt.Sprintf("Check whether slowness rose at the same time (%s, %s): then the errors are timeouts.",
				r.panelLink(PanelSlowPercentage), r.panelLink(PanelLatencyP99)),
		},
		PromQL: []RunbookQuery{
			{"share of statements that returned an error, 0–1 (the alert's expression, without the traffic guard)",
				r.ratio(middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal)},
			r.qErrorShareByType(),
			{"errors per second by type", r.sumRate(middleware.MetricQueryErrorsTotal, r.w, middleware.LabelQueryType)},
		},
		SQL: `-- PostgreSQL: connections against the limit
SELECT count(*) AS connections, current_setting('max_connections') AS max_connections
FROM pg_stat_activity;

-- MySQL / MariaDB: the same
SHOW GLOBAL STATUS LIKE 'Threads_connected';
SHOW GLOBAL VARIABLES LIKE 'max_connections';`,
		Mitigate: []string{
			"Deploy or migration order: roll back, or run the missing migration. Ship schema changes expand-then-contract.",
			"Failover: bound connection age with `SetConnMaxLifetime` so the pool leaves dead or read-only connections behind; restart instances that keep failing.",
			"Deadlocks and serialization failures: retry the whole transaction with backoff; take locks in a consistent order.",
			fmt.Sprintf("Timeouts: treat as slowness, see %s.", AlertSlowQueryRateCritical),
			"Connection limits: keep instances × `SetMaxOpenConns` below the server's `max_connections` minus what admins and replication need.",
		},
		Guide:   []GuideLink{rbLinkTimeouts, rbLinkTx, rbLinkLocks, rbLinkPool},
		Related: []string{AlertQueryRateSpike, AlertSlowQueryRateCritical, AlertConnectionPoolSaturated},
	}
}
