package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/exporters"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The postgresql server pack, over postgres_exporter 0.11 (see
// exporters.PostgreSQL). It never alerts on pg_exporter_last_scrape_error:
// with the example queries file that the dead-tuple and replication series
// need, one of its queries fails on every scrape without pg_stat_statements.

// Alert names of the postgresql pack.
const (
	AlertPostgresDown                      = "PostgresDown"
	AlertPostgresConnectionsNearMaxCrit    = "PostgresConnectionsNearMaxCritical"
	AlertPostgresConnectionsNearMaxWarning = "PostgresConnectionsNearMaxWarning"
	AlertPostgresDeadlocks                 = "PostgresDeadlocks"
	AlertPostgresLongTransaction           = "PostgresLongTransaction"
	AlertPostgresCacheHitRatioLow          = "PostgresCacheHitRatioLow"
	AlertPostgresDeadTuplesHigh            = "PostgresDeadTuplesHigh"
	AlertPostgresReplicationLagCritical    = "PostgresReplicationLagCritical"
	AlertPostgresReplicationLagWarning     = "PostgresReplicationLagWarning"
)

// Families of the postgresql pack.
const (
	FamilyPostgresUp              = "postgres_up"
	FamilyPostgresConnections     = "postgres_connections"
	FamilyPostgresDeadlocks       = "postgres_deadlocks"
	FamilyPostgresLongTransaction = "postgres_long_transaction"
	FamilyPostgresCacheHitRatio   = "postgres_cache_hit_ratio"
	FamilyPostgresDeadTuples      = "postgres_dead_tuples"
	FamilyPostgresReplicationLag  = "postgres_replication_lag"
)

// Panel ids of the postgresql pack's rows on the main dashboard.
const (
	PanelPostgresUp          = 101
	PanelPostgresConnections = 102
	PanelPostgresCacheHit    = 103
	PanelPostgresLocks       = 104
	PanelPostgresOldestTx    = 105
	PanelPostgresDeadlocks   = 106
	PanelPostgresDeadTuples  = 107
	PanelPostgresReplication = 108
)

// postgres_exporter's metric and label names the pack reads; the
// contract (exporters.PostgreSQL) proves each exists.
const (
	pgUp             = "pg_up"
	pgActivityCount  = "pg_stat_activity_count"
	pgMaxConnections = "pg_settings_max_connections"
	pgMaxTxDuration  = "pg_stat_activity_max_tx_duration"
	pgDeadlocks      = "pg_stat_database_deadlocks"
	pgBlksHit        = "pg_stat_database_blks_hit"
	pgBlksRead       = "pg_stat_database_blks_read"
	pgLocksCount     = "pg_locks_count"
	pgDeadTup        = "pg_stat_user_tables_n_dead_tup"
	pgLiveTup        = "pg_stat_user_tables_n_live_tup"
	pgReplicationLag = "pg_replication_lag"
	pgXactCommit     = "pg_stat_database_xact_commit"
	pgXactRollback   = "pg_stat_database_xact_rollback"

	pgLabelDatname = "datname"
	pgLabelState   = "state"
	pgLabelMode    = "mode"
	pgLabelSchema  = "schemaname"
	pgLabelRel     = "relname"
)

// pgTxStates are the backend states whose transaction age matters: a
// backend running a statement or waiting for a lock (active), or holding
// its transaction open between statements (idle in transaction, aborted
// or not).
const pgTxStates = "active|idle in transaction.*"

func postgresPack() serverPack {
	return serverPack{
		name:     PackPostgreSQL,
		contract: exporters.PostgreSQL,
		job:      func(c Config) ExporterJob { return c.Server.PostgreSQL.Exporter },
		families: []FamilyFunc{pgUpFamily, pgConnectionsFamily, pgDeadlocksFamily, pgLongTxFamily, pgCacheFamily, pgDeadTuplesFamily, pgReplicationLagFamily},
		panels:   postgresPanels,
		overview: postgresOverview,
		validate: func(c Config, add func(id, path, format string, args ...any) *diag.Error) {
			v, s, p := serverLevelChecks{c, add}, c.Server.PostgreSQL, "server.postgresql"
			v.down(p+".down", s.Down)
			v.connections(p+".connections", s.Connections)
			v.count(p+".deadlocks", s.Deadlocks)
			v.positive(p+".long_transaction", s.LongTransaction, "seconds")
			v.share(p+".cache_hit_ratio", s.CacheHitRatio)
			v.minimum(p+".min_block_rate", s.MinBlockRate)
			v.share(p+".dead_tuples", s.DeadTuples)
			v.minimum(p+".min_dead_tuples", s.MinDeadTuples)
			v.lag(p+".replication_lag", s.ReplicationLag)
		},
	}
}

// pgEnv is what every postgresql family builds from.
func pgEnv(e *Env) (serverQuery, PostgresPack) {
	s := e.Config.Server.PostgreSQL
	return newServerQuery(e.Config, s.Exporter), s
}

func pgKit(e *Env, f func(s serverKit) []rules.TestCase) []rules.TestCase {
	return e.Tests(func(k *TestKit) []rules.TestCase { return f(newServerKit(k, e.Config.Server.PostgreSQL.Exporter)) })
}

func pgUpFamily(e *Env) Family {
	q, s := pgEnv(e)
	a := Alert{
		Name: AlertPostgresDown, Severity: SeverityCritical, Family: FamilyPostgresUp, For: s.Down.For, Panel: PanelPostgresUp,
		By:       []string{"instance"},
		Expr:     q.agg("max", q.sel(pgUp)) + " == 0",
		Humanize: "humanize",
		Text: func(_ string, lb func(string) string) (string, string) {
			return fmt.Sprintf("PostgreSQL %s is unreachable", serverWho(lb)),
				fmt.Sprintf("postgres_exporter at %s has not reached its PostgreSQL server for %s (pg_up is 0): the server is down, refuses connections, or the exporter's credentials stopped working.",
					lb("instance"), s.Down.For)
		},
		Runbook: Runbook{
			Summary: "postgres_exporter cannot reach its PostgreSQL server.",
			Fires:   fmt.Sprintf("%s is 0 for %s", rbCode(pgUp), s.Down.For),
			Meaning: []string{
				fmt.Sprintf("The exporter runs and is scraped, but its last connection to the server failed. Every other series of the pack disappears with it, so the other PostgreSQL alerts go quiet rather than fire. If the exporter itself is down, %s is absent too: Prometheus' %s for job %s is 0.", rbCode(pgUp), rbCode("up"), rbCode(s.Exporter.JobName)),
			},
			Impact: "If the server is down, every application that uses it fails its queries; the middleware's QueryErrorRateHigh fires for them.",
			Causes: []string{
				"The server is down, restarting, or failing over.",
				"`max_connections` is exhausted: the exporter cannot get a connection either.",
				"The exporter's role, password or `pg_hba.conf` entry changed.",
			},
			Checks: []string{
				"Connect with psql as the exporter's user, from the exporter's host.",
				"Read the server's log for a crash, a restart or `too many connections`.",
			},
			PromQL: []RunbookQuery{
				{"reachability per server (the alert's expression without == 0)", q.agg("max", q.sel(pgUp))},
				{"connections in use per server", q.agg("sum", q.sel(pgActivityCount))},
			},
			SQL:      "SELECT pg_postmaster_start_time(), now() - pg_postmaster_start_time() AS uptime;",
			Mitigate: []string{"Restart or fail over the server; fix the exporter's credentials if only it is refused."},
			Related:  []string{AlertPostgresConnectionsNearMaxCrit, AlertQueryErrorRateHigh},
		},
	}
	a.Cases = pgKit(e, func(k serverKit) []rules.TestCase {
		series := func(v float64, n int) []rules.Series {
			return []rules.Series{k.series(pgUp, nil, gaugeValues(v, n))}
		}
		return k.gaugeCases(a, s.Down, nil, series, 0, 1, func(v float64) string { return fmt.Sprintf("pg_up %s", fnum(v)) })
	})
	return Family{Name: FamilyPostgresUp, Alerts: []Alert{a}}
}

func pgConnectionsFamily(e *Env) Family {
	q, s := pgEnv(e)
	expr := func(l Level) string {
		return fmt.Sprintf("%s\n  /\n%s\n  > %s",
			q.agg("sum", q.sel(pgActivityCount)), q.agg("max", q.sel(pgMaxConnections)+" > 0"), promNum(l.Threshold))
	}
	level := func(name, severity string, l Level) Alert {
		return Alert{
			Name: name, Severity: severity, Family: FamilyPostgresConnections, For: l.For, Panel: PanelPostgresConnections,
			By:       []string{"instance"},
			Expr:     expr(l),
			Humanize: "humanizePercentage",
			Text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("PostgreSQL %s is running out of connections", serverWho(lb)),
					fmt.Sprintf("%s of max_connections of PostgreSQL %s are in use (%s above %s for %s); new connections will soon be refused with \"too many clients\".",
						v, serverWho(lb), severity, FormatPercent(l.Threshold), l.For)
			},
			Runbook: Runbook{
				Summary: fmt.Sprintf("More than %s of the server's max_connections are in use.", FormatPercent(l.Threshold)),
				Fires:   fmt.Sprintf("%s / %s is above %s for %s", rbCode(pgActivityCount), rbCode(pgMaxConnections), FormatPercent(l.Threshold), l.For),
				Meaning: []string{
					"Backends of every database and state (active, idle, idle in transaction) against the server's limit. At the limit, every new connection fails (SQLSTATE 53300) except the superuser reserve.",
				},
				Impact: "Applications that open a connection fail; pools that already hold theirs keep working.",
				Causes: []string{
					"Pools too large for the server: instances × `SetMaxOpenConns` over all services above `max_connections`.",
					"Connections held idle in transaction by an application (see PostgresLongTransaction).",
					"A deploy or autoscaling added instances.",
				},
				Checks: []string{
					"Which database, user and application hold the connections, and in which state (SQL below).",
					"Compare with the applications' pool panels on the main dashboard.",
				},
				PromQL: []RunbookQuery{
					{"share of max_connections in use (the alert's expression without the threshold)", q.agg("sum", q.sel(pgActivityCount)) + " / " + q.agg("max", q.sel(pgMaxConnections))},
					{"backends by database and state", q.agg("sum", q.sel(pgActivityCount), pgLabelDatname, pgLabelState)},
				},
				SQL: `SELECT datname, usename, application_name, state, count(*)
FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;`,
				Mitigate: []string{
					"Shrink the applications' pools, or put PgBouncer in front of the server.",
					"Terminate sessions idle in transaction: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND now() - state_change > interval '10 minutes';`",
				},
				Guide:   []GuideLink{rbLinkPool},
				Related: []string{AlertPostgresConnectionsNearMaxCrit, AlertPostgresConnectionsNearMaxWarning, AlertConnectionPoolSaturated},
			},
		}
	}
	const maxConn = 200
	cases := func(a Alert, l Level, over, under float64) []rules.TestCase {
		return pgKit(e, func(k serverKit) []rules.TestCase {
			series := func(v float64, n int) []rules.Series {
				return []rules.Series{
					k.series(pgActivityCount, map[string]string{pgLabelDatname: "app", pgLabelState: "active", "server": "db:5432"}, gaugeValues(v*maxConn*0.75, n)),
					k.series(pgActivityCount, map[string]string{pgLabelDatname: "app", pgLabelState: "idle", "server": "db:5432"}, gaugeValues(v*maxConn*0.25, n)),
					k.series(pgMaxConnections, map[string]string{"server": "db:5432"}, gaugeValues(maxConn, n)),
				}
			}
			what := func(v float64) string { return fmt.Sprintf("%s of max_connections in use", FormatPercent(v)) }
			return k.gaugeCases(a, l, nil, series, over, under, what,
				k.tc(a.Name, "a server without max_connections does not fire", []rules.Series{
					k.series(pgActivityCount, map[string]string{pgLabelDatname: "app", pgLabelState: "active", "server": "db:5432"}, gaugeValues(maxConn, k.steps(k.evalCeil(l.For.Std())))),
				}, alertCheck(a.Name, k.evalCeil(l.For.Std()))))
		})
	}
	return serverLadder(FamilyPostgresConnections, s.Connections.Critical, s.Connections.Warning,
		AlertPostgresConnectionsNearMaxCrit, AlertPostgresConnectionsNearMaxWarning, (s.Connections.Critical.Threshold+1)/2, level, cases)
}

func pgDeadlocksFamily(e *Env) Family {
	q, s := pgEnv(e)
	l := s.Deadlocks
	a := Alert{
		Name: AlertPostgresDeadlocks, Severity: SeverityWarning, Family: FamilyPostgresDeadlocks, For: l.For, Panel: PanelPostgresDeadlocks,
		By:       []string{"instance", pgLabelDatname},
		Expr:     q.sumIncrease(pgDeadlocks, pgLabelDatname) + " > " + promNum(l.Threshold),
		Humanize: "humanize",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Deadlocks in database %s of PostgreSQL %s", lb(pgLabelDatname), serverWho(lb)),
				fmt.Sprintf("PostgreSQL detected %s deadlocks in database %s of %s over the last %s (warning above %s): each one rolled back a transaction with SQLSTATE 40P01.",
					v, lb(pgLabelDatname), serverWho(lb), q.window, fnum(l.Threshold))
		},
		Runbook: Runbook{
			Summary: "Transactions deadlock: PostgreSQL rolled one of them back.",
			Fires:   fmt.Sprintf("%s grew by more than %s over %s, for %s", rbCode(pgDeadlocks), fnum(l.Threshold), q.window, l.For),
			Meaning: []string{
				"Two or more transactions each waited for a lock another held. After `deadlock_timeout` PostgreSQL aborts one of them (ERROR 40P01, `deadlock detected`); the others go on. The counter moves when the aborted transaction ends, so the alert trails the error by the time the application takes to roll back.",
			},
			Impact: "The aborted transaction's work is lost unless the application retries it; the others waited at least `deadlock_timeout` (1s by default).",
			Causes: []string{
				"Two code paths update the same rows in opposite orders.",
				"Foreign keys: inserting children while another transaction updates the parent.",
				"Batch jobs that lock many rows in no fixed order, concurrently with the application.",
			},
			Checks: []string{
				"Read the server log: each deadlock logs both statements and the lock each waited for (`log_lock_waits = on` adds the waits that did not deadlock).",
				"Find the application's 40P01 errors and retries; QueryErrorRateHigh may fire with them.",
			},
			PromQL: []RunbookQuery{
				{"deadlocks per database over the window (the alert's expression without the threshold)", q.sumIncrease(pgDeadlocks, pgLabelDatname)},
				{"rollbacks per second per database", q.sumRate(pgXactRollback, pgLabelDatname)},
			},
			SQL: `-- who blocks whom right now
SELECT blocked.pid AS blocked_pid, left(blocked.query, 60) AS blocked_query,
       blocking.pid AS blocking_pid, left(blocking.query, 60) AS blocking_query,
       now() - blocking.xact_start AS blocking_tx_age
FROM pg_stat_activity blocked
JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid) ON true
JOIN pg_stat_activity blocking ON blocking.pid = b.pid;`,
			Mitigate: []string{
				"Take row locks in one order everywhere (e.g. by primary key: `SELECT … ORDER BY id FOR UPDATE`).",
				"Retry the whole transaction on 40P01 with backoff.",
			},
			Guide:   []GuideLink{rbLinkLocks, rbLinkTx},
			Related: []string{AlertPostgresLongTransaction, AlertQueryErrorRateHigh},
		},
	}
	a.Cases = pgKit(e, func(k serverKit) []rules.TestCase {
		// datid and server are aggregated away
		return k.eventCases(a, l, pgDeadlocks,
			map[string]string{pgLabelDatname: "app", "datid": "16384", "server": "db:5432"}, map[string]string{pgLabelDatname: "app"})
	})
	return Family{Name: FamilyPostgresDeadlocks, Alerts: []Alert{a}}
}

func pgLongTxFamily(e *Env) Family {
	q, s := pgEnv(e)
	l := s.LongTransaction
	sel := q.sel(pgMaxTxDuration, fmt.Sprintf("%s=~%q", pgLabelState, pgTxStates))
	a := Alert{
		Name: AlertPostgresLongTransaction, Severity: SeverityWarning, Family: FamilyPostgresLongTransaction, For: l.For, Panel: PanelPostgresOldestTx,
		By:       []string{"instance", pgLabelDatname, pgLabelState},
		Expr:     q.agg("max", sel, pgLabelDatname, pgLabelState) + " > " + promNum(l.Threshold),
		Humanize: "humanizeDuration",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Long transaction in database %s of PostgreSQL %s", lb(pgLabelDatname), serverWho(lb)),
				fmt.Sprintf("The oldest %s transaction in database %s of %s has been open for %s (warning above %s for %s): it holds its locks and keeps vacuum from removing dead rows.",
					lb(pgLabelState), lb(pgLabelDatname), serverWho(lb), v, FormatSeconds(l.Threshold), l.For)
		},
		Runbook: Runbook{
			Summary: fmt.Sprintf("A transaction has been open for more than %s.", FormatSeconds(l.Threshold)),
			Fires:   fmt.Sprintf("%s of a backend that is active or idle in transaction is above %s, for %s", rbCode(pgMaxTxDuration), FormatSeconds(l.Threshold), l.For),
			Meaning: []string{
				"An active backend is running one statement for that long, or waiting for a lock another transaction holds (postgres_exporter 0.11 has no lock-wait series: a blocked backend shows here, and as an accessexclusivelock tuple lock on the Locks panel). Idle in transaction: the application began a transaction and stopped talking to the database without ending it.",
			},
			Impact: "Its row locks block writers of the same rows; its snapshot keeps autovacuum from removing dead rows anywhere in the database, so tables bloat.",
			Causes: []string{
				"A statement waiting for a lock held by another long transaction (look for the blocker first).",
				"Application code that keeps a transaction open across a network call or user think time.",
				"A batch job or migration in one huge transaction.",
			},
			Checks: []string{
				"List the oldest transactions and who blocks whom (SQL below).",
				"Check the Locks panel for lock modes piling up at the same time.",
			},
			PromQL: []RunbookQuery{
				{"age of the oldest transaction by database and state (the alert's expression without the threshold)", q.agg("max", sel, pgLabelDatname, pgLabelState)},
				{"locks by mode", q.agg("sum", q.sel(pgLocksCount), pgLabelMode)},
			},
			SQL: `SELECT pid, datname, usename, application_name, state, wait_event_type, wait_event,
       now() - xact_start AS tx_age, pg_blocking_pids(pid) AS blocked_by, left(query, 80) AS query
FROM pg_stat_activity WHERE xact_start IS NOT NULL ORDER BY xact_start LIMIT 10;`,
			Mitigate: []string{
				"End the blocker: `SELECT pg_cancel_backend(pid)` (its statement) or `pg_terminate_backend(pid)` (its session).",
				"Set `idle_in_transaction_session_timeout` and `statement_timeout` for the application's role.",
			},
			Guide:   []GuideLink{rbLinkTx, rbLinkLocks},
			Related: []string{AlertPostgresDeadlocks, AlertPostgresDeadTuplesHigh, AlertConnectionPoolSaturated},
		},
	}
	a.Cases = pgKit(e, func(k serverKit) []rules.TestCase {
		by := map[string]string{pgLabelDatname: "app", pgLabelState: "active"}
		series := func(v float64, n int) []rules.Series {
			return []rules.Series{
				k.series(pgMaxTxDuration, map[string]string{pgLabelDatname: "app", pgLabelState: "active", "server": "db:5432"}, gaugeValues(v, n)),
				// an old idle backend has no transaction: never counted
				k.series(pgMaxTxDuration, map[string]string{pgLabelDatname: "app", pgLabelState: "idle", "server": "db:5432"}, gaugeValues(10*l.Threshold, n)),
			}
		}
		what := func(v float64) string { return fmt.Sprintf("an active transaction open for %s", humanizeDuration(v)) }
		fire := k.evalCeil(l.For.Std())
		n := k.steps(fire)
		idle := map[string]string{pgLabelDatname: "app", pgLabelState: "idle in transaction", "server": "db:5432"}
		return k.gaugeCases(a, l, by, series, 2*l.Threshold, l.Threshold*0.9, what,
			k.tc(a.Name, "a session idle in transaction for twice the threshold fires too",
				[]rules.Series{k.series(pgMaxTxDuration, idle, gaugeValues(2*l.Threshold, n))},
				alertCheck(a.Name, fire, k.expect(a, 2*l.Threshold, map[string]string{pgLabelDatname: "app", pgLabelState: "idle in transaction"}))))
	})
	return Family{Name: FamilyPostgresLongTransaction, Alerts: []Alert{a}}
}

func pgCacheFamily(e *Env) Family {
	q, s := pgEnv(e)
	l := s.CacheHitRatio
	hit := q.sumRate(pgBlksHit, pgLabelDatname)
	all := fmt.Sprintf("(%s + %s)", hit, q.sumRate(pgBlksRead, pgLabelDatname))
	a := Alert{
		Name: AlertPostgresCacheHitRatioLow, Severity: SeverityInfo, Family: FamilyPostgresCacheHitRatio, For: l.For, Panel: PanelPostgresCacheHit,
		By:       []string{"instance", pgLabelDatname},
		Expr:     fmt.Sprintf("%s\n  /\n%s\n  < %s\nand\n%s >= %s", hit, all, promNum(l.Threshold), all, promNum(s.MinBlockRate)),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Low buffer cache hit ratio in database %s of PostgreSQL %s", lb(pgLabelDatname), serverWho(lb)),
				fmt.Sprintf("Only %s of the block reads of database %s of %s were served from shared buffers over the last %s (info below %s for %s, with at least %s blocks/s).",
					v, lb(pgLabelDatname), serverWho(lb), q.window, FormatPercent(l.Threshold), l.For, FormatNumber(s.MinBlockRate))
		},
		Runbook: Runbook{
			Summary: fmt.Sprintf("Less than %s of block reads hit PostgreSQL's shared buffers.", FormatPercent(l.Threshold)),
			Fires:   fmt.Sprintf("%s / (%s + %s) is below %s over %s, for %s", rbCode(pgBlksHit), rbCode(pgBlksHit), rbCode(pgBlksRead), FormatPercent(l.Threshold), q.window, l.For),
			Guard:   fmt.Sprintf("only while the database reads at least %s blocks/s over %s", FormatNumber(s.MinBlockRate), q.window),
			Meaning: []string{
				"A miss is read from the operating system, which may still have it cached: a low ratio is a capacity signal, not an outage. It usually appears with sequential scans of large tables.",
			},
			Impact: "Queries that miss wait for I/O; latency rises first for the scans.",
			Causes: []string{
				"A missing index turns lookups into sequential scans of a large table.",
				"The working set outgrew `shared_buffers`.",
				"A report or backup reads cold data.",
			},
			Checks: []string{
				"Find the tables read by sequential scans (SQL below) and the statements behind them.",
				"Compare with the query latency panels: is the application slower?",
			},
			PromQL: []RunbookQuery{
				{"hit ratio per database (the alert's expression without the guard)", hit + " / " + all},
				{"blocks read from outside shared buffers per second", q.sumRate(pgBlksRead, pgLabelDatname)},
			},
			SQL: `SELECT relname, seq_scan, seq_tup_read, idx_scan, n_live_tup
FROM pg_stat_user_tables ORDER BY seq_tup_read DESC LIMIT 10;`,
			Mitigate: []string{"Add the missing index; raise `shared_buffers` (a restart) if the working set really grew."},
			Guide:    []GuideLink{rbLinkIndexes, rbLinkPostgres},
			Related:  []string{AlertQueryLatencyP99Warning, AlertSlowQueryRateWarning},
		},
	}
	a.Cases = pgKit(e, func(k serverKit) []rules.TestCase {
		by := map[string]string{pgLabelDatname: "app"}
		return k.hitRatioCases(a, l, s.MinBlockRate, by, func(perStep, ratio float64, n int) []rules.Series {
			return []rules.Series{
				k.series(pgBlksHit, by, counterValues(counterPhase{perStep * ratio, n})),
				k.series(pgBlksRead, by, counterValues(counterPhase{perStep * (1 - ratio), n})),
			}
		})
	})
	return Family{Name: FamilyPostgresCacheHitRatio, Alerts: []Alert{a}}
}

func pgDeadTuplesFamily(e *Env) Family {
	q, s := pgEnv(e)
	l := s.DeadTuples
	rel := []string{pgLabelDatname, pgLabelSchema, pgLabelRel}
	dead := q.agg("max", q.sel(pgDeadTup), rel...)
	rows := q.agg("max", q.sel(pgLiveTup)+" + "+q.sel(pgDeadTup), rel...)
	a := Alert{
		Name: AlertPostgresDeadTuplesHigh, Severity: SeverityInfo, Family: FamilyPostgresDeadTuples, For: l.For, Panel: PanelPostgresDeadTuples,
		By:       append([]string{"instance"}, rel...),
		Expr:     fmt.Sprintf("%s\n  /\n%s\n  > %s\nand\n%s >= %s", dead, rows, promNum(l.Threshold), dead, promNum(s.MinDeadTuples)),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Table %s.%s of PostgreSQL %s is bloated with dead rows", lb(pgLabelSchema), lb(pgLabelRel), serverWho(lb)),
				fmt.Sprintf("%s of the rows of %s.%s in database %s of %s are dead (info above %s for %s, with at least %s dead rows): vacuum is not keeping up.",
					v, lb(pgLabelSchema), lb(pgLabelRel), lb(pgLabelDatname), serverWho(lb), FormatPercent(l.Threshold), l.For, FormatNumber(s.MinDeadTuples))
		},
		Runbook: Runbook{
			Summary: fmt.Sprintf("More than %s of a table's rows are dead.", FormatPercent(l.Threshold)),
			Fires:   fmt.Sprintf("%s / (%s + %s) of one table is above %s with at least %s dead rows, for %s", rbCode(pgDeadTup), rbCode(pgLiveTup), rbCode(pgDeadTup), FormatPercent(l.Threshold), FormatNumber(s.MinDeadTuples), l.For),
			Meaning: []string{
				"Updates and deletes leave dead row versions that only vacuum removes. postgres_exporter reads them from its example queries file, for the tables of the database in its data source only.",
			},
			Impact: "Scans read dead rows too: the table and its indexes grow and queries slow down.",
			Causes: []string{
				"A long transaction (PostgresLongTransaction) holds back the vacuum horizon.",
				"Autovacuum settings too lax for a table with heavy updates.",
				"A bulk update or delete.",
			},
			Checks: []string{
				"When did autovacuum last run on the table (SQL below)?",
				"Is a long transaction or an abandoned replication slot holding back the horizon?",
			},
			PromQL: []RunbookQuery{
				{"dead share per table (the alert's expression without the guard)", dead + " / " + rows},
			},
			SQL: `SELECT relname, n_live_tup, n_dead_tup, last_autovacuum, last_vacuum
FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;`,
			Mitigate: []string{"`VACUUM (VERBOSE) <table>;` now; lower the table's `autovacuum_vacuum_scale_factor` for good."},
			Guide:    []GuideLink{rbLinkTx},
			Related:  []string{AlertPostgresLongTransaction},
		},
	}
	a.Cases = pgKit(e, func(k serverKit) []rules.TestCase {
		by := map[string]string{pgLabelDatname: "app", pgLabelSchema: "public", pgLabelRel: "orders"}
		lbl := map[string]string{pgLabelDatname: "app", pgLabelSchema: "public", pgLabelRel: "orders", "server": "db:5432"}
		big := 10 * s.MinDeadTuples
		series := func(total float64) func(v float64, n int) []rules.Series {
			return func(v float64, n int) []rules.Series {
				return []rules.Series{
					k.series(pgDeadTup, lbl, gaugeValues(v*total, n)),
					k.series(pgLiveTup, lbl, gaugeValues((1-v)*total, n)),
				}
			}
		}
		over := shareAbove(l.Threshold)
		what := func(v float64) string { return fmt.Sprintf("%s dead rows of %s", FormatPercent(v), FormatNumber(big)) }
		fire := k.evalCeil(l.For.Std())
		small := s.MinDeadTuples / 2 / over
		return k.gaugeCases(a, l, by, series(big), over, shareUnder(l.Threshold), what,
			k.tc(a.Name, fmt.Sprintf("a small table (%s rows) with %s dead rows does not fire", FormatNumber(small), FormatPercent(over)),
				series(small)(over, k.steps(fire)), alertCheck(a.Name, fire)))
	})
	return Family{Name: FamilyPostgresDeadTuples, Alerts: []Alert{a}}
}

func pgReplicationLagFamily(e *Env) Family {
	q, s := pgEnv(e)
	lag := q.agg("max", q.sel(pgReplicationLag))
	level := func(name, severity string, l Level) Alert {
		return Alert{
			Name: name, Severity: severity, Family: FamilyPostgresReplicationLag, For: l.For, Panel: PanelPostgresReplication,
			By:       []string{"instance"},
			Expr:     lag + " > " + promNum(l.Threshold),
			Humanize: "humanizeDuration",
			Text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("PostgreSQL replica %s is behind its primary", serverWho(lb)),
					fmt.Sprintf("PostgreSQL replica %s last replayed a transaction %s ago (%s above %s for %s): reads from it are that stale, and it is that far from being a failover target.",
						serverWho(lb), v, severity, FormatSeconds(l.Threshold), l.For)
			},
			Runbook: Runbook{
				Summary: fmt.Sprintf("A replica last replayed a transaction more than %s ago.", FormatSeconds(l.Threshold)),
				Fires:   fmt.Sprintf("%s is above %s for %s", rbCode(pgReplicationLag), FormatSeconds(l.Threshold), l.For),
				Meaning: []string{
					fmt.Sprintf("%s is now() minus `pg_last_xact_replay_timestamp()` on a replica, from the exporter's example queries file (run with --extend.query-path); a primary reports 0, so the alert never fires there. It is time since the last replayed transaction, not bytes behind: while the primary writes nothing, it grows although the replica is current.", rbCode(pgReplicationLag)),
				},
				Impact: "Reads served by the replica return data that old; a failover to it would start from there (what it received but has not replayed is replayed first).",
				Causes: []string{
					"The primary writes nothing (idle at night): the lag is not real. Write a heartbeat row on the primary every few seconds to keep the signal honest.",
					"A long query on the replica conflicts with replay and `max_standby_streaming_delay` lets it hold replay back.",
					"The replica's disk or CPU cannot keep up with the primary's write rate, or the network between them is saturated.",
					"Replication stopped: the WAL receiver is down or the primary removed WAL the replica still needed.",
				},
				Checks: []string{
					"On the replica: is WAL received but not replayed, or not received at all (SQL below)?",
					"On the primary: `SELECT client_addr, state, sent_lsn, replay_lsn, replay_lag FROM pg_stat_replication;`",
				},
				PromQL: []RunbookQuery{
					{"replication lag per server (the alert's expression without the threshold)", lag},
				},
				SQL: `-- on the replica
SELECT pg_is_in_recovery(), now() - pg_last_xact_replay_timestamp() AS replay_age,
       pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS replay_backlog_bytes;
SELECT status, sender_host, last_msg_receipt_time FROM pg_stat_wal_receiver;`,
				Mitigate: []string{
					"Route reads that need fresh data to the primary while the replica catches up.",
					"Cancel the replica's long queries holding back replay, or lower `max_standby_streaming_delay`.",
					"Rebuild the replica (pg_basebackup) if it lost the WAL it needs.",
				},
				Related: []string{AlertPostgresReplicationLagCritical, AlertPostgresReplicationLagWarning, AlertPostgresDown},
			},
		}
	}
	cases := func(a Alert, l Level, over, under float64) []rules.TestCase {
		return pgKit(e, func(k serverKit) []rules.TestCase {
			series := func(v float64, n int) []rules.Series {
				return []rules.Series{k.series(pgReplicationLag, map[string]string{"server": "db:5432"}, gaugeValues(v, n))}
			}
			what := func(v float64) string { return fmt.Sprintf("a replica %s behind", humanizeDuration(v)) }
			fire := k.evalCeil(l.For.Std())
			return k.gaugeCases(a, l, nil, series, over, under, what,
				k.tc(a.Name, "a primary (lag 0) does not fire", series(0, k.steps(fire)), alertCheck(a.Name, fire)))
		})
	}
	return serverLadder(FamilyPostgresReplicationLag, s.ReplicationLag.Critical, s.ReplicationLag.Warning,
		AlertPostgresReplicationLagCritical, AlertPostgresReplicationLagWarning, 2*s.ReplicationLag.Critical.Threshold, level, cases)
}

// postgresPanels are the pack's rows on the main dashboard, from row y.
func postgresPanels(c Config, y uint32) []Panel {
	s := c.Server.PostgreSQL
	q := serverQuery{job: s.Exporter.JobName}
	r := q.panelRate
	conn := s.Connections
	hit := r(pgBlksHit, pgLabelDatname)
	tx := q.sel(pgMaxTxDuration, fmt.Sprintf("%s=~%q", pgLabelState, pgTxStates))
	rel := []string{pgLabelDatname, pgLabelSchema, pgLabelRel}
	inst := "{{instance}}"
	return []Panel{
		serverPanel(PanelPostgresUp, "PostgreSQL: Reachable",
			fmt.Sprintf("1 while postgres_exporter (job %s) reaches its server (%s), 0 when it cannot. No line: the exporter is not scraped.", s.Exporter.JobName, pgUp),
			dashUnitShort, serverGrid(y, 0), serverQ("A", q.agg("max", q.sel(pgUp)), inst)),
		withLadder(serverPanel(PanelPostgresConnections, "PostgreSQL: Connections Used vs Max",
			fmt.Sprintf("Backends of every database and state as a share of max_connections (%s / %s). Dashed lines: the warning (%s) and critical (%s) thresholds.",
				pgActivityCount, pgMaxConnections, FormatPercent(conn.Warning.Threshold), FormatPercent(conn.Critical.Threshold)),
			dashUnitPercentUnit, serverGrid(y, 1),
			serverQ("A", q.agg("sum", q.sel(pgActivityCount))+" / "+q.agg("max", q.sel(pgMaxConnections)+" > 0"), inst)),
			conn.Warning.Threshold, conn.Critical.Threshold),
		below(serverPanel(PanelPostgresCacheHit, "PostgreSQL: Cache Hit Ratio",
			fmt.Sprintf("Share of block reads served from shared buffers, per database (%s / (%s + %s)). Dashed line: the threshold (%s), held to with at least %s blocks/s.",
				pgBlksHit, pgBlksHit, pgBlksRead, FormatPercent(s.CacheHitRatio.Threshold), FormatNumber(s.MinBlockRate)),
			dashUnitPercentUnit, serverGrid(y, 2),
			serverQ("A", fmt.Sprintf("%s / (%s + %s > 0)", hit, hit, r(pgBlksRead, pgLabelDatname)), "{{datname}}")),
			s.CacheHitRatio.Threshold),
		reading(serverPanel(PanelPostgresLocks, "PostgreSQL: Locks by Mode",
			fmt.Sprintf("Locks held or awaited, by mode (%s). postgres_exporter 0.11 has no lock-wait series: a backend blocked on a row lock holds one tuple accessexclusivelock (as DDL does) and ages the oldest active transaction, next panel.", pgLocksCount),
			dashUnitShort, serverGrid(y, 3), serverQ("A", q.agg("sum", q.sel(pgLocksCount), pgLabelMode)+" > 0", "{{mode}}")),
			FamilyPostgresLongTransaction),
		withLines(serverPanel(PanelPostgresOldestTx, "PostgreSQL: Oldest Transaction",
			fmt.Sprintf("Age of the oldest transaction per database and state, for backends active (running or waiting for a lock) or idle in transaction (%s). Dashed line: the threshold (%s).",
				pgMaxTxDuration, FormatSeconds(s.LongTransaction.Threshold)),
			dashUnitSeconds, serverGrid(y, 4), serverQ("A", q.agg("max", tx, pgLabelDatname, pgLabelState), "{{datname}} {{state}}")),
			dashboard.Step{Value: dashboard.Float(s.LongTransaction.Threshold), Color: dashColorWarning}),
		serverPanel(PanelPostgresDeadlocks, "PostgreSQL: Deadlocks",
			fmt.Sprintf("Deadlocks detected per database (%s), as an increase over the rate interval; the alert counts them within %s. Rollbacks per second for context.",
				pgDeadlocks, c.Thresholds.RateWindow),
			dashUnitShort, serverGrid(y, 5),
			serverQ("A", q.agg("sum", fmt.Sprintf("increase(%s[$__rate_interval])", q.sel(pgDeadlocks)), pgLabelDatname), "{{datname}} deadlocks"),
			serverQ("B", r(pgXactRollback, pgLabelDatname)+" / ("+r(pgXactCommit, pgLabelDatname)+" + "+r(pgXactRollback, pgLabelDatname)+" > 0)", "{{datname}} rollback share")),
		withLines(serverPanel(PanelPostgresDeadTuples, "PostgreSQL: Dead Tuples (top 10 tables)",
			fmt.Sprintf("Share of dead rows per table (%s / (%s + %s)), the ten highest; tables of the exporter's database only, and only with --extend.query-path. Dashed line: the threshold (%s, with at least %s dead rows).",
				pgDeadTup, pgLiveTup, pgDeadTup, FormatPercent(s.DeadTuples.Threshold), FormatNumber(s.MinDeadTuples)),
			dashUnitPercentUnit, serverGrid(y, 6),
			serverQ("A", fmt.Sprintf("topk(10, %s / (%s > 0))", q.agg("max", q.sel(pgDeadTup), rel...), q.agg("max", q.sel(pgLiveTup)+" + "+q.sel(pgDeadTup), rel...)), "{{schemaname}}.{{relname}}")),
			dashboard.Step{Value: dashboard.Float(s.DeadTuples.Threshold), Color: dashColorWarning}),
		withLadder(serverPanel(PanelPostgresReplication, "PostgreSQL: Replication Lag",
			fmt.Sprintf("Seconds since the last replayed transaction, on replicas (%s; 0 on a primary, and only with --extend.query-path); it also grows while the primary writes nothing. Dashed lines: the warning (%s) and critical (%s) thresholds.",
				pgReplicationLag, FormatSeconds(s.ReplicationLag.Warning.Threshold), FormatSeconds(s.ReplicationLag.Critical.Threshold)),
			dashUnitSeconds, serverGrid(y, 7), serverQ("A", q.agg("max", q.sel(pgReplicationLag)), inst)),
			s.ReplicationLag.Warning.Threshold, s.ReplicationLag.Critical.Threshold),
	}
}

// postgresOverview is the pack's row of the overview dashboard.
func postgresOverview(c Config, y uint32) dashboard.Panel {
	s := c.Server.PostgreSQL
	q := serverQuery{job: s.Exporter.JobName}
	r := q.panelRate
	return serverOverview(c, y, PanelOverviewPostgres, "PostgreSQL servers",
		fmt.Sprintf("One row per postgres_exporter target (job %s), now: reachable, share of max_connections in use, deadlocks over the time range, oldest active or idle-in-transaction transaction, and cache hit ratio. Colours are the alert thresholds. Click a server to open its panels.", s.Exporter.JobName),
		PanelPostgresConnections,
		[]string{"Up", "Connections", "Deadlocks", "Oldest transaction", "Cache hit"},
		[]string{
			q.agg("max", q.sel(pgUp)),
			q.agg("sum", q.sel(pgActivityCount)) + " / " + q.agg("max", q.sel(pgMaxConnections)+" > 0"),
			q.agg("sum", fmt.Sprintf("increase(%s[$__range])", q.sel(pgDeadlocks))),
			q.agg("max", q.sel(pgMaxTxDuration, fmt.Sprintf("%s=~%q", pgLabelState, pgTxStates))),
			fmt.Sprintf("%s / (%s + %s > 0)", r(pgBlksHit), r(pgBlksHit), r(pgBlksRead)),
		},
		map[string][]dashboard.Step{
			"Up":                 upSteps(),
			"Connections":        ladderSteps(s.Connections.Warning.Threshold, s.Connections.Critical.Threshold),
			"Deadlocks":          eventSteps(s.Deadlocks.Threshold),
			"Oldest transaction": {{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(s.LongTransaction.Threshold), Color: dashColorWarning}},
			"Cache hit":          {{Value: nil, Color: dashColorWarning}, {Value: dashboard.Float(s.CacheHitRatio.Threshold), Color: dashColorOK}},
		},
		map[string]string{"Up": dashUnitShort, "Connections": dashUnitPercentUnit, "Deadlocks": dashUnitShort, "Oldest transaction": dashUnitSeconds, "Cache hit": dashUnitPercentUnit})
}
