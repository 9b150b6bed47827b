package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/exporters"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The mysql server pack, over mysqld_exporter 0.14 (see exporters.MySQL),
// for MySQL and MariaDB. mysqld_exporter writes SHOW GLOBAL STATUS as
// untyped; the contract says which values are counters, and the pack takes
// rate() and increase() of those only. The exporter exports no age of
// the oldest transaction: the long-transaction alert reads the age of
// running statements from its processlist collector instead.

// Alert names of the mysql pack.
const (
	AlertMySQLDown                      = "MySQLDown"
	AlertMySQLConnectionsNearMaxCrit    = "MySQLConnectionsNearMaxCritical"
	AlertMySQLConnectionsNearMaxWarning = "MySQLConnectionsNearMaxWarning"
	AlertMySQLDeadlocks                 = "MySQLDeadlocks"
	AlertMySQLRowLockWaits              = "MySQLRowLockWaits"
	AlertMySQLBufferPoolHitRatioLow     = "MySQLBufferPoolHitRatioLow"
	AlertMySQLReplicationLagCritical    = "MySQLReplicationLagCritical"
	AlertMySQLReplicationLagWarning     = "MySQLReplicationLagWarning"
	AlertMySQLLongTransaction           = "MySQLLongTransaction"
)

// Families of the mysql pack.
const (
	FamilyMySQLUp            = "mysql_up"
	FamilyMySQLConnections   = "mysql_connections"
	FamilyMySQLDeadlocks     = "mysql_deadlocks"
	FamilyMySQLRowLockWaits  = "mysql_row_lock_waits"
	FamilyMySQLBufferPoolHit = "mysql_buffer_pool_hit_ratio"
	FamilyMySQLReplication   = "mysql_replication_lag"
	FamilyMySQLLongTx        = "mysql_long_transaction"
)

// Panel ids of the mysql pack's rows on the main dashboard.
const (
	PanelMySQLUp          = 201
	PanelMySQLConnections = 202
	PanelMySQLBufferPool  = 203
	PanelMySQLRowLocks    = 204
	PanelMySQLLockTime    = 205
	PanelMySQLDeadlocks   = 206
	PanelMySQLReplication = 207
	PanelMySQLOldestStmt  = 208
)

// mysqld_exporter's metric names the pack reads; the contract
// (exporters.MySQL) proves each exists.
const (
	myUp                 = "mysql_up"
	myThreadsConnected   = "mysql_global_status_threads_connected"
	myMaxConnections     = "mysql_global_variables_max_connections"
	myDeadlocks          = "mysql_global_status_innodb_deadlocks"
	myRowLockWaits       = "mysql_global_status_innodb_row_lock_waits"
	myRowLockCurrent     = "mysql_global_status_innodb_row_lock_current_waits"
	myRowLockTime        = "mysql_global_status_innodb_row_lock_time"
	myBufferReads        = "mysql_global_status_innodb_buffer_pool_reads"
	myBufferReadRequests = "mysql_global_status_innodb_buffer_pool_read_requests"
	mySecondsBehind      = "mysql_slave_status_seconds_behind_master"
	myProcSeconds        = "mysql_info_schema_processlist_seconds"
	myProcThreads        = "mysql_info_schema_processlist_threads"

	myLabelConnection = "connection_name"
	myLabelChannel    = "channel_name"
	myLabelCommand    = "command"
	myLabelState      = "state"
)

// myRunning are the processlist commands of a client statement running
// (or waiting for a lock): a plain query, or the execution of a
// statement prepared on the server (what drivers without client-side
// interpolation send), as the exporter lower-cases them.
const myRunning = "query|execute"

func mysqlPack() serverPack {
	return serverPack{
		name:       PackMySQL,
		contract:   exporters.MySQL,
		job:        func(c Config) ExporterJob { return c.Server.MySQL.Exporter },
		families:   []FamilyFunc{myUpFamily, myConnectionsFamily, myDeadlocksFamily, myRowLockFamily, myBufferPoolFamily, myReplicationLagFamily, myLongTxFamily},
		twinLabels: []string{myLabelConnection, myLabelChannel},
		panels:     mysqlPanels,
		overview:   mysqlOverview,
		validate: func(c Config, add func(id, path, format string, args ...any) *diag.Error) {
			v, s, p := serverLevelChecks{c, add}, c.Server.MySQL, "server.mysql"
			v.down(p+".down", s.Down)
			v.connections(p+".connections", s.Connections)
			v.count(p+".deadlocks", s.Deadlocks)
			v.positive(p+".row_lock_waits", s.RowLockWaits, "waits per second")
			v.share(p+".buffer_pool_hit_ratio", s.BufferPoolHitRatio)
			v.minimum(p+".min_read_request_rate", s.MinReadRequestRate)
			v.lag(p+".replication_lag", s.ReplicationLag)
			v.positive(p+".long_transaction", s.LongTransaction, "seconds")
		},
	}
}

func myEnv(e *Env) (serverQuery, MySQLPack) {
	s := e.Config.Server.MySQL
	return newServerQuery(e.Config, s.Exporter), s
}

func myKit(e *Env, f func(s serverKit) []rules.TestCase) []rules.TestCase {
	return e.Tests(func(k *TestKit) []rules.TestCase { return f(newServerKit(k, e.Config.Server.MySQL.Exporter)) })
}

// mySQLLocks is the SQL that shows who waits for whom in InnoDB.
const mySQLLocks = `-- MariaDB and MySQL 5.7: transactions, oldest first, and who waits for whom
SELECT trx_mysql_thread_id AS thread, trx_state, trx_started,
       TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_s, trx_rows_locked, LEFT(trx_query, 80) AS query
FROM information_schema.innodb_trx ORDER BY trx_started;
SELECT * FROM information_schema.innodb_lock_waits;   -- MySQL 8: sys.innodb_lock_waits
SHOW ENGINE INNODB STATUS;                            -- LATEST DETECTED DEADLOCK`

func myUpFamily(e *Env) Family {
	q, s := myEnv(e)
	a := Alert{
		Name: AlertMySQLDown, Severity: SeverityCritical, Family: FamilyMySQLUp, For: s.Down.For, Panel: PanelMySQLUp,
		By:       []string{"instance"},
		Expr:     q.agg("max", q.sel(myUp)) + " == 0",
		Humanize: "humanize",
		Text: func(_ string, lb func(string) string) (string, string) {
			return fmt.Sprintf("MySQL %s is unreachable", serverWho(lb)),
				fmt.Sprintf("mysqld_exporter at %s has not reached its MySQL/MariaDB server for %s (mysql_up is 0): the server is down, refuses connections, or the exporter's credentials stopped working.",
					lb("instance"), s.Down.For)
		},
		Runbook: Runbook{
			Summary: "mysqld_exporter cannot reach its MySQL or MariaDB server.",
			Fires:   fmt.Sprintf("%s is 0 for %s", rbCode(myUp), s.Down.For),
			Meaning: []string{
				fmt.Sprintf("The exporter runs and is scraped, but its connection to the server failed; the other MySQL alerts go quiet with it. If the exporter itself is down, %s is absent: Prometheus' %s for job %s is 0.", rbCode(myUp), rbCode("up"), rbCode(s.Exporter.JobName)),
			},
			Impact: "If the server is down, every application that uses it fails its queries; the middleware's QueryErrorRateHigh fires for them.",
			Causes: []string{
				"The server is down, restarting, or failing over.",
				"`max_connections` is exhausted (error 1040).",
				"The exporter's user or password changed, or its host is no longer granted.",
			},
			Checks: []string{
				"Connect with the mysql client as the exporter's user, from the exporter's host.",
				"Read the server's error log for a crash or restart.",
			},
			PromQL: []RunbookQuery{
				{"reachability per server (the alert's expression without == 0)", q.agg("max", q.sel(myUp))},
			},
			SQL:      "SHOW GLOBAL STATUS LIKE 'Uptime';",
			Mitigate: []string{"Restart or fail over the server; fix the exporter's credentials if only it is refused."},
			Related:  []string{AlertMySQLConnectionsNearMaxCrit, AlertQueryErrorRateHigh},
		},
	}
	a.Cases = myKit(e, func(k serverKit) []rules.TestCase {
		series := func(v float64, n int) []rules.Series {
			return []rules.Series{k.series(myUp, nil, gaugeValues(v, n))}
		}
		return k.gaugeCases(a, s.Down, nil, series, 0, 1, func(v float64) string { return fmt.Sprintf("mysql_up %s", fnum(v)) })
	})
	return Family{Name: FamilyMySQLUp, Alerts: []Alert{a}}
}

func myConnectionsFamily(e *Env) Family {
	q, s := myEnv(e)
	share := q.agg("max", q.sel(myThreadsConnected)) + "\n  /\n" + q.agg("max", q.sel(myMaxConnections)+" > 0")
	level := func(name, severity string, l Level) Alert {
		return Alert{
			Name: name, Severity: severity, Family: FamilyMySQLConnections, For: l.For, Panel: PanelMySQLConnections,
			By:       []string{"instance"},
			Expr:     share + "\n  > " + promNum(l.Threshold),
			Humanize: "humanizePercentage",
			Text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("MySQL %s is running out of connections", serverWho(lb)),
					fmt.Sprintf("%s of max_connections of MySQL %s are in use (%s above %s for %s); new connections will soon fail with error 1040 \"Too many connections\".",
						v, serverWho(lb), severity, FormatPercent(l.Threshold), l.For)
			},
			Runbook: Runbook{
				Summary: fmt.Sprintf("More than %s of the server's max_connections are in use.", FormatPercent(l.Threshold)),
				Fires:   fmt.Sprintf("%s / %s is above %s for %s", rbCode(myThreadsConnected), rbCode(myMaxConnections), FormatPercent(l.Threshold), l.For),
				Meaning: []string{"Open client connections, busy or sleeping, against the server's limit; past it every new connection fails (error 1040) except one reserved for a SUPER user."},
				Impact:  "Applications that open a connection fail; pools that already hold theirs keep working.",
				Causes: []string{
					"Pools too large for the server: instances × `SetMaxOpenConns` over all services above `max_connections`.",
					"Connections left sleeping by applications without `SetConnMaxIdleTime`.",
					"Slow queries or lock waits keep connections busy longer.",
				},
				Checks: []string{
					"Which users and hosts hold the connections, and what they do (SQL below).",
					"Compare with the applications' pool panels on the main dashboard.",
				},
				PromQL: []RunbookQuery{
					{"share of max_connections in use (the alert's expression without the threshold)", share},
				},
				SQL: `SELECT user, SUBSTRING_INDEX(host, ':', 1) AS client, command, COUNT(*) AS n
FROM information_schema.processlist GROUP BY 1, 2, 3 ORDER BY n DESC;`,
				Mitigate: []string{
					"Shrink the applications' pools or set `SetConnMaxIdleTime`; put ProxySQL or MaxScale in front of the server.",
					"Kill long sleeping connections: `KILL <id>;` from the processlist.",
				},
				Guide:   []GuideLink{rbLinkPool},
				Related: []string{AlertMySQLConnectionsNearMaxCrit, AlertMySQLConnectionsNearMaxWarning, AlertConnectionPoolSaturated},
			},
		}
	}
	const maxConn = 200
	cases := func(a Alert, l Level, over, under float64) []rules.TestCase {
		return myKit(e, func(k serverKit) []rules.TestCase {
			series := func(v float64, n int) []rules.Series {
				return []rules.Series{
					k.series(myThreadsConnected, nil, gaugeValues(v*maxConn, n)),
					k.series(myMaxConnections, nil, gaugeValues(maxConn, n)),
				}
			}
			what := func(v float64) string { return fmt.Sprintf("%s of max_connections in use", FormatPercent(v)) }
			fire := k.evalCeil(l.For.Std())
			return k.gaugeCases(a, l, nil, series, over, under, what,
				k.tc(a.Name, "a server without max_connections does not fire",
					[]rules.Series{k.series(myThreadsConnected, nil, gaugeValues(maxConn, k.steps(fire)))}, alertCheck(a.Name, fire)))
		})
	}
	return serverLadder(FamilyMySQLConnections, s.Connections.Critical, s.Connections.Warning,
		AlertMySQLConnectionsNearMaxCrit, AlertMySQLConnectionsNearMaxWarning, (s.Connections.Critical.Threshold+1)/2, level, cases)
}

func myDeadlocksFamily(e *Env) Family {
	q, s := myEnv(e)
	l := s.Deadlocks
	a := Alert{
		Name: AlertMySQLDeadlocks, Severity: SeverityWarning, Family: FamilyMySQLDeadlocks, For: l.For, Panel: PanelMySQLDeadlocks,
		By:       []string{"instance"},
		Expr:     q.sumIncrease(myDeadlocks) + " > " + promNum(l.Threshold),
		Humanize: "humanize",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("InnoDB deadlocks on MySQL %s", serverWho(lb)),
				fmt.Sprintf("InnoDB detected %s deadlocks on %s over the last %s (warning above %s): each one rolled back a transaction with error 1213.",
					v, serverWho(lb), q.window, fnum(l.Threshold))
		},
		Runbook: Runbook{
			Summary: "Transactions deadlock: InnoDB rolled one of them back.",
			Fires:   fmt.Sprintf("%s grew by more than %s over %s, for %s", rbCode(myDeadlocks), fnum(l.Threshold), q.window, l.For),
			Meaning: []string{
				"Two or more transactions each waited for a row lock another held. InnoDB detects the cycle at once and rolls back the transaction with the fewest changes (error 1213, `Deadlock found when trying to get lock`). The counter exists on MariaDB 10.5 and later; MySQL has none, and the alert stays silent there.",
			},
			Impact: "The rolled-back transaction's work is lost unless the application retries it.",
			Causes: []string{
				"Two code paths update the same rows in opposite orders.",
				"Gap locks: concurrent inserts into a range another transaction scanned with a locking read.",
				"Missing indexes: an UPDATE or DELETE that scans locks every row it reads.",
			},
			Checks: []string{
				"`SHOW ENGINE INNODB STATUS` holds the latest deadlock: both statements and the locks (set `innodb_print_all_deadlocks = ON` to log every one).",
				"Find the application's 1213 errors and retries; QueryErrorRateHigh may fire with them.",
			},
			PromQL: []RunbookQuery{
				{"deadlocks over the window (the alert's expression without the threshold)", q.sumIncrease(myDeadlocks)},
				{"row lock waits per second", q.sumRate(myRowLockWaits)},
			},
			SQL: mySQLLocks,
			Mitigate: []string{
				"Take row locks in one order everywhere; index the columns of locking reads and writes.",
				"Retry the whole transaction on error 1213 with backoff.",
			},
			Guide:   []GuideLink{rbLinkLocks, rbLinkTx},
			Related: []string{AlertMySQLRowLockWaits, AlertQueryErrorRateHigh},
		},
	}
	a.Cases = myKit(e, func(k serverKit) []rules.TestCase { return k.eventCases(a, l, myDeadlocks, nil, nil) })
	return Family{Name: FamilyMySQLDeadlocks, Alerts: []Alert{a}}
}

func myRowLockFamily(e *Env) Family {
	q, s := myEnv(e)
	l := s.RowLockWaits
	a := Alert{
		Name: AlertMySQLRowLockWaits, Severity: SeverityWarning, Family: FamilyMySQLRowLockWaits, For: l.For, Panel: PanelMySQLRowLocks,
		By:       []string{"instance"},
		Expr:     q.sumRate(myRowLockWaits) + " > " + promNum(l.Threshold),
		Humanize: "humanize",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("InnoDB row lock waits on MySQL %s", serverWho(lb)),
				fmt.Sprintf("Statements on %s waited for InnoDB row locks %s times per second over the last %s (warning above %s per second for %s).",
					serverWho(lb), v, q.window, FormatNumber(l.Threshold), l.For)
		},
		Runbook: Runbook{
			Summary: "Statements keep waiting for row locks other transactions hold.",
			Fires:   fmt.Sprintf("%s grows faster than %s per second over %s, for %s", rbCode(myRowLockWaits), FormatNumber(l.Threshold), q.window, l.For),
			Meaning: []string{
				fmt.Sprintf("Each wait is a statement that found a row locked and queued behind it, for up to `innodb_lock_wait_timeout` (50s by default) before error 1205. %s is how many wait right now; the mean wait is %s / %s.",
					rbCode(myRowLockCurrent), rbCode(myRowLockTime), rbCode(myRowLockWaits)),
			},
			Impact: "Writers of hot rows are serialised: latency rises and, at the timeout, statements fail with error 1205.",
			Causes: []string{
				"Long transactions holding row locks (a transaction kept open across a network call).",
				"Hot rows: counters or status rows every request updates.",
				"Locking reads or writes without a suitable index lock far more rows than they touch.",
			},
			Checks: []string{
				"Find the oldest transactions and who waits for whom (SQL below).",
				"Compare with the applications' latency panels and QueryErrorRateHigh.",
			},
			PromQL: []RunbookQuery{
				{"row lock waits per second (the alert's expression without the threshold)", q.sumRate(myRowLockWaits)},
				{"mean row lock wait, seconds", q.sumRate(myRowLockTime) + " / 1000 / (" + q.sumRate(myRowLockWaits) + " > 0)"},
				{"statements waiting now", q.agg("max", q.sel(myRowLockCurrent))},
			},
			SQL: mySQLLocks,
			Mitigate: []string{
				"Kill the blocking transaction's thread (`KILL <trx_mysql_thread_id>`) if it is abandoned.",
				"Shorten transactions; spread hot counters over several rows; index the predicates of locking statements.",
			},
			Guide:   []GuideLink{rbLinkLocks, rbLinkTx},
			Related: []string{AlertMySQLDeadlocks, AlertQueryLatencyP99Warning},
		},
	}
	a.Cases = myKit(e, func(k serverKit) []rules.TestCase { return k.rateCases(a, l, myRowLockWaits, nil, nil) })
	return Family{Name: FamilyMySQLRowLockWaits, Alerts: []Alert{a}}
}

func myBufferPoolFamily(e *Env) Family {
	q, s := myEnv(e)
	l := s.BufferPoolHitRatio
	hit := fmt.Sprintf("1 - %s\n  /\n%s", q.sumRate(myBufferReads), q.sumRate(myBufferReadRequests))
	a := Alert{
		Name: AlertMySQLBufferPoolHitRatioLow, Severity: SeverityInfo, Family: FamilyMySQLBufferPoolHit, For: l.For, Panel: PanelMySQLBufferPool,
		By:       []string{"instance"},
		Expr:     fmt.Sprintf("%s\n  < %s\nand\n%s >= %s", hit, promNum(l.Threshold), q.sumRate(myBufferReadRequests), promNum(s.MinReadRequestRate)),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Low InnoDB buffer pool hit ratio on MySQL %s", serverWho(lb)),
				fmt.Sprintf("Only %s of InnoDB's logical reads on %s were served from the buffer pool over the last %s (info below %s for %s, with at least %s reads/s).",
					v, serverWho(lb), q.window, FormatPercent(l.Threshold), l.For, FormatNumber(s.MinReadRequestRate))
		},
		Runbook: Runbook{
			Summary: fmt.Sprintf("Less than %s of InnoDB reads hit the buffer pool.", FormatPercent(l.Threshold)),
			Fires:   fmt.Sprintf("1 - %s / %s is below %s over %s, for %s", rbCode(myBufferReads), rbCode(myBufferReadRequests), FormatPercent(l.Threshold), q.window, l.For),
			Guard:   fmt.Sprintf("only while InnoDB serves at least %s read requests/s over %s", FormatNumber(s.MinReadRequestRate), q.window),
			Meaning: []string{"A miss reads the page from disk. OLTP servers normally serve well over 99% from the buffer pool; a drop is a capacity or query-plan signal, not an outage."},
			Impact:  "Statements that miss wait for disk reads; latency rises first for scans.",
			Causes: []string{
				"A missing index turns lookups into full scans of a large table.",
				"The working set outgrew `innodb_buffer_pool_size`.",
				"A report or backup reads cold data.",
			},
			Checks: []string{
				"Find full scans: `sys.statements_with_full_table_scans` (MySQL) or the slow log with `log_queries_not_using_indexes`.",
				"Compare `innodb_buffer_pool_size` with the data size (SQL below).",
			},
			PromQL: []RunbookQuery{
				{"hit ratio (the alert's expression without the guard)", hit},
				{"disk reads per second", q.sumRate(myBufferReads)},
			},
			SQL: `SELECT @@innodb_buffer_pool_size / 1024 / 1024 AS pool_mb,
       (SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE engine = 'InnoDB') / 1024 / 1024 AS data_mb;`,
			Mitigate: []string{"Add the missing index; grow `innodb_buffer_pool_size` (online since MySQL 5.7.5 and MariaDB 10.2) if the working set grew."},
			Guide:    []GuideLink{rbLinkIndexes, rbLinkMySQL},
			Related:  []string{AlertQueryLatencyP99Warning, AlertSlowQueryRateWarning},
		},
	}
	a.Cases = myKit(e, func(k serverKit) []rules.TestCase {
		return k.hitRatioCases(a, l, s.MinReadRequestRate, nil, func(perStep, ratio float64, n int) []rules.Series {
			return []rules.Series{
				k.series(myBufferReads, nil, counterValues(counterPhase{perStep * (1 - ratio), n})),
				k.series(myBufferReadRequests, nil, counterValues(counterPhase{perStep, n})),
			}
		})
	})
	return Family{Name: FamilyMySQLBufferPoolHit, Alerts: []Alert{a}}
}

// mysqlPanels are the pack's rows on the main dashboard, from row y.
func myReplicationLagFamily(e *Env) Family {
	q, s := myEnv(e)
	lag := q.agg("max", q.sel(mySecondsBehind), myLabelConnection, myLabelChannel)
	level := func(name, severity string, l Level) Alert {
		return Alert{
			Name: name, Severity: severity, Family: FamilyMySQLReplication, For: l.For, Panel: PanelMySQLReplication,
			By:       []string{"instance", myLabelConnection, myLabelChannel},
			Expr:     lag + " > " + promNum(l.Threshold),
			Humanize: "humanizeDuration",
			Text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("MySQL replica %s is behind its primary", serverWho(lb)),
					fmt.Sprintf("MySQL replica %s is %s behind its primary (Seconds_Behind_Master, %s above %s for %s): reads from it are that stale, and it is that far from being a failover target.",
						serverWho(lb), v, severity, FormatSeconds(l.Threshold), l.For)
			},
			Runbook: Runbook{
				Summary: fmt.Sprintf("A replica is more than %s behind its primary.", FormatSeconds(l.Threshold)),
				Fires:   fmt.Sprintf("%s of a replication connection is above %s for %s", rbCode(mySecondsBehind), FormatSeconds(l.Threshold), l.For),
				Meaning: []string{
					"Seconds_Behind_Master of `SHOW ALL SLAVES STATUS`, per replication connection (MariaDB's connection_name, MySQL's channel_name): how far the SQL thread's current event is behind the primary's clock. A primary has no such series.",
					"While the SQL thread is stopped the value is NULL and the exporter drops the series: the alert resolves although replication is broken, and the panel shows a gap. A stopped IO thread leaves a lag near 0 while the replica falls behind unseen.",
				},
				Impact: "Reads served by the replica return data that old; a failover to it would wait for the relay log to be applied first.",
				Causes: []string{
					"One large transaction (a bulk UPDATE or DELETE, an ALTER TABLE) replays on a single thread.",
					"The replica's disk or CPU cannot keep up with the primary's write rate; too few parallel replication threads.",
					"Long queries on the replica compete with the SQL thread.",
				},
				Checks: []string{
					"`SHOW ALL SLAVES STATUS\\G`: Slave_IO_Running, Slave_SQL_Running, Last_SQL_Error, Relay_Log_Space.",
					"What the SQL thread is applying now (SQL below).",
				},
				PromQL: []RunbookQuery{
					{"lag per replication connection (the alert's expression without the threshold)", lag},
				},
				SQL: `SHOW ALL SLAVES STATUS;   -- MySQL 8: SHOW REPLICA STATUS
SELECT id, command, state, time, LEFT(info, 80) AS info
FROM information_schema.processlist WHERE command LIKE 'Slave%' OR user = 'system user';`,
				Mitigate: []string{
					"Route reads that need fresh data to the primary while the replica catches up.",
					"Split bulk changes on the primary into small transactions; raise `slave_parallel_threads` (MariaDB) or `replica_parallel_workers` (MySQL).",
				},
				Related: []string{AlertMySQLReplicationLagCritical, AlertMySQLReplicationLagWarning, AlertMySQLDown},
			},
		}
	}
	cases := func(a Alert, l Level, over, under float64) []rules.TestCase {
		return myKit(e, func(k serverKit) []rules.TestCase {
			conn := func(name string) map[string]string {
				return map[string]string{myLabelConnection: name, myLabelChannel: "", "master_host": "primary", "master_uuid": ""}
			}
			series := func(v float64, n int) []rules.Series {
				return []rules.Series{k.series(mySecondsBehind, conn(""), gaugeValues(v, n))}
			}
			what := func(v float64) string { return fmt.Sprintf("a replica %s behind", humanizeDuration(v)) }
			fire := k.evalCeil(l.For.Std())
			n := k.steps(fire)
			return k.gaugeCases(a, l, nil, series, over, under, what,
				k.tc(a.Name, "of two replication connections, only the one behind fires", []rules.Series{
					k.series(mySecondsBehind, conn("eu"), gaugeValues(over, n)),
					k.series(mySecondsBehind, conn("us"), gaugeValues(0, n)),
				}, alertCheck(a.Name, fire, k.expect(a, over, map[string]string{myLabelConnection: "eu"}))))
		})
	}
	return serverLadder(FamilyMySQLReplication, s.ReplicationLag.Critical, s.ReplicationLag.Warning,
		AlertMySQLReplicationLagCritical, AlertMySQLReplicationLagWarning, 2*s.ReplicationLag.Critical.Threshold, level, cases)
}

// myStatementAge is the mean age of the running statements of each
// processlist state, the highest per server: a lower bound of the oldest
// running statement's age (exact when it is alone in its state).
func myStatementAge(q serverQuery) string {
	running := fmt.Sprintf("%s=~%q", myLabelCommand, myRunning)
	return q.agg("max", fmt.Sprintf("%s\n  /\n(%s > 0)", q.sel(myProcSeconds, running), q.sel(myProcThreads, running)))
}

func myLongTxFamily(e *Env) Family {
	q, s := myEnv(e)
	l := s.LongTransaction
	age := myStatementAge(q)
	a := Alert{
		Name: AlertMySQLLongTransaction, Severity: SeverityWarning, Family: FamilyMySQLLongTx, For: l.For, Panel: PanelMySQLOldestStmt,
		By:       []string{"instance"},
		Expr:     age + "\n  > " + promNum(l.Threshold),
		Humanize: "humanizeDuration",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Long transaction on MySQL %s", serverWho(lb)),
				fmt.Sprintf("A statement on MySQL %s has been running or waiting for a lock for at least %s (warning above %s for %s); its transaction is at least as old and holds its locks.",
					serverWho(lb), v, FormatSeconds(l.Threshold), l.For)
		},
		Runbook: Runbook{
			Summary: fmt.Sprintf("A statement has been running for more than %s: its transaction is at least that old.", FormatSeconds(l.Threshold)),
			Fires:   fmt.Sprintf("%s / %s of running statements (command query or execute), in one processlist state, is above %s for %s", rbCode(myProcSeconds), rbCode(myProcThreads), FormatSeconds(l.Threshold), l.For),
			Meaning: []string{
				"mysqld_exporter 0.14 exports no transaction age. Its processlist collector (--collect.info_schema.processlist) exports, per command and state, the threads and the sum of their TIME: the mean is a lower bound of the oldest statement's age in that state, exact when it is alone there, so the alert never fires early and may fire late when many short statements share the state. A running statement's transaction is at least as old.",
				"A session idle in an open transaction (command Sleep) is not seen: find those with the SQL below, or let `idle_transaction_timeout` (MariaDB) end them.",
			},
			Impact: "Its row locks block writers of the same rows (MySQLRowLockWaits); its read view keeps purge from removing old row versions, so the history list and the undo log grow.",
			Causes: []string{
				"A statement waiting for a row lock held by another long transaction (look for the blocker first).",
				"A report or migration running one huge statement on the primary.",
				"A missing index turning an UPDATE or DELETE into a scan that locks many rows.",
			},
			Checks: []string{
				"List the oldest InnoDB transactions and who waits for whom (SQL below).",
				"Check the Row Lock Waits panel at the same time.",
			},
			PromQL: []RunbookQuery{
				{"mean age of running statements in their state, the highest per server (the alert's expression without the threshold)", age},
				{"running statements by state", q.agg("sum", q.sel(myProcThreads, fmt.Sprintf("%s=~%q", myLabelCommand, myRunning)), myLabelState)},
			},
			SQL: mySQLLocks,
			Mitigate: []string{
				"End the blocker: `KILL QUERY <thread>` (its statement) or `KILL <thread>` (its session).",
				"Set `max_statement_time` (MariaDB) or `max_execution_time` (MySQL) and `innodb_lock_wait_timeout` for the application's user.",
			},
			Guide:   []GuideLink{rbLinkTx, rbLinkLocks},
			Related: []string{AlertMySQLRowLockWaits, AlertMySQLDeadlocks, AlertConnectionPoolSaturated},
		},
	}
	a.Cases = myKit(e, func(k serverKit) []rules.TestCase {
		proc := func(command, state string) map[string]string {
			return map[string]string{myLabelCommand: command, myLabelState: state}
		}
		// one statement alone in its state: the mean is its age
		series := func(v float64, n int) []rules.Series {
			return []rules.Series{
				k.series(myProcSeconds, proc("execute", "statistics"), gaugeValues(v, n)),
				k.series(myProcThreads, proc("execute", "statistics"), gaugeValues(1, n)),
				// an old idle connection is not a running statement
				k.series(myProcSeconds, proc("sleep", ""), gaugeValues(100*l.Threshold, n)),
				k.series(myProcThreads, proc("sleep", ""), gaugeValues(1, n)),
			}
		}
		what := func(v float64) string { return fmt.Sprintf("a statement running for %s", humanizeDuration(v)) }
		fire := k.evalCeil(l.For.Std())
		n := k.steps(fire)
		return k.gaugeCases(a, l, nil, series, 2*l.Threshold, l.Threshold*0.9, what,
			k.tc(a.Name, fmt.Sprintf("ten statements of %s in one state, together older than the threshold, do not fire", humanizeDuration(l.Threshold*0.9/10)), []rules.Series{
				k.series(myProcSeconds, proc("query", "sending_data"), gaugeValues(l.Threshold*0.9, n)),
				k.series(myProcThreads, proc("query", "sending_data"), gaugeValues(10, n)),
			}, alertCheck(a.Name, fire)))
	})
	return Family{Name: FamilyMySQLLongTx, Alerts: []Alert{a}}
}

func mysqlPanels(c Config, y uint32) []Panel {
	s := c.Server.MySQL
	q := serverQuery{job: s.Exporter.JobName}
	r := q.panelRate
	conn := s.Connections
	inst := "{{instance}}"
	return []Panel{
		serverPanel(PanelMySQLUp, "MySQL: Reachable",
			fmt.Sprintf("1 while mysqld_exporter (job %s) reaches its server (%s), 0 when it cannot. No line: the exporter is not scraped.", s.Exporter.JobName, myUp),
			dashUnitShort, serverGrid(y, 0), serverQ("A", q.agg("max", q.sel(myUp)), inst)),
		withLadder(serverPanel(PanelMySQLConnections, "MySQL: Connections Used vs Max",
			fmt.Sprintf("Open connections as a share of max_connections (%s / %s). Dashed lines: the warning (%s) and critical (%s) thresholds.",
				myThreadsConnected, myMaxConnections, FormatPercent(conn.Warning.Threshold), FormatPercent(conn.Critical.Threshold)),
			dashUnitPercentUnit, serverGrid(y, 1),
			serverQ("A", q.agg("max", q.sel(myThreadsConnected))+" / "+q.agg("max", q.sel(myMaxConnections)+" > 0"), inst)),
			conn.Warning.Threshold, conn.Critical.Threshold),
		below(serverPanel(PanelMySQLBufferPool, "MySQL: Buffer Pool Hit Ratio",
			fmt.Sprintf("Share of InnoDB logical reads served from the buffer pool (1 - %s / %s). Dashed line: the threshold (%s), held to with at least %s reads/s.",
				myBufferReads, myBufferReadRequests, FormatPercent(s.BufferPoolHitRatio.Threshold), FormatNumber(s.MinReadRequestRate)),
			dashUnitPercentUnit, serverGrid(y, 2),
			serverQ("A", fmt.Sprintf("1 - %s / (%s > 0)", r(myBufferReads), r(myBufferReadRequests)), inst)),
			s.BufferPoolHitRatio.Threshold),
		withLines(serverPanel(PanelMySQLRowLocks, "MySQL: Row Lock Waits",
			fmt.Sprintf("InnoDB row lock waits per second (%s) and statements waiting now (%s). Dashed line: the threshold (%s per second).",
				myRowLockWaits, myRowLockCurrent, FormatNumber(s.RowLockWaits.Threshold)),
			dashUnitShort, serverGrid(y, 3),
			serverQ("A", r(myRowLockWaits), inst+" waits/s"),
			serverQ("B", q.agg("max", q.sel(myRowLockCurrent)), inst+" waiting now")),
			dashboard.Step{Value: dashboard.Float(s.RowLockWaits.Threshold), Color: dashColorWarning}),
		reading(serverPanel(PanelMySQLLockTime, "MySQL: Mean Row Lock Wait",
			fmt.Sprintf("Mean time one row lock wait lasted (%s / %s; the counter is in milliseconds). Waits end at innodb_lock_wait_timeout with error 1205.", myRowLockTime, myRowLockWaits),
			dashUnitSeconds, serverGrid(y, 4), serverQ("A", r(myRowLockTime)+" / 1000 / ("+r(myRowLockWaits)+" > 0)", inst)),
			FamilyMySQLRowLockWaits),
		serverPanel(PanelMySQLDeadlocks, "MySQL: Deadlocks",
			fmt.Sprintf("InnoDB deadlocks (%s, MariaDB 10.5 and later), as an increase over the rate interval; the alert counts them within %s.",
				myDeadlocks, c.Thresholds.RateWindow),
			dashUnitShort, serverGrid(y, 5),
			serverQ("A", q.agg("sum", fmt.Sprintf("increase(%s[$__rate_interval])", q.sel(myDeadlocks))), inst)),
		withLadder(serverPanel(PanelMySQLReplication, "MySQL: Replication Lag",
			fmt.Sprintf("Seconds_Behind_Master of each replication connection (%s): on replicas only, and absent while the SQL thread is stopped. Dashed lines: the warning (%s) and critical (%s) thresholds.",
				mySecondsBehind, FormatSeconds(s.ReplicationLag.Warning.Threshold), FormatSeconds(s.ReplicationLag.Critical.Threshold)),
			dashUnitSeconds, serverGrid(y, 6), serverQ("A", q.agg("max", q.sel(mySecondsBehind), myLabelConnection, myLabelChannel), inst+" {{connection_name}}{{channel_name}}")),
			s.ReplicationLag.Warning.Threshold, s.ReplicationLag.Critical.Threshold),
		withLines(serverPanel(PanelMySQLOldestStmt, "MySQL: Oldest Running Statement",
			fmt.Sprintf("Mean age of the running statements (command query or execute) of each processlist state, the highest per server (%s / %s, with --collect.info_schema.processlist): a lower bound of the oldest statement's age; its transaction is at least as old. 0 while no statement runs. Dashed line: the threshold (%s).",
				myProcSeconds, myProcThreads, FormatSeconds(s.LongTransaction.Threshold)),
			dashUnitSeconds, serverGrid(y, 7), serverQ("A", myStatementAge(q)+"\nor\n"+q.agg("max", q.sel(myUp))+" * 0", inst)),
			dashboard.Step{Value: dashboard.Float(s.LongTransaction.Threshold), Color: dashColorWarning}),
	}
}

// mysqlOverview is the pack's row of the overview dashboard.
func mysqlOverview(c Config, y uint32) dashboard.Panel {
	s := c.Server.MySQL
	q := serverQuery{job: s.Exporter.JobName}
	r := q.panelRate
	return serverOverview(c, y, PanelOverviewMySQL, "MySQL servers",
		fmt.Sprintf("One row per mysqld_exporter target (job %s), now: reachable, share of max_connections in use, InnoDB deadlocks over the time range, row lock waits per second, and buffer pool hit ratio. Colours are the alert thresholds. Click a server to open its panels.", s.Exporter.JobName),
		PanelMySQLConnections,
		[]string{"Up", "Connections", "Deadlocks", "Row lock waits/s", "Buffer pool hit"},
		[]string{
			q.agg("max", q.sel(myUp)),
			q.agg("max", q.sel(myThreadsConnected)) + " / " + q.agg("max", q.sel(myMaxConnections)+" > 0"),
			q.agg("sum", fmt.Sprintf("increase(%s[$__range])", q.sel(myDeadlocks))),
			r(myRowLockWaits),
			fmt.Sprintf("1 - %s / (%s > 0)", r(myBufferReads), r(myBufferReadRequests)),
		},
		map[string][]dashboard.Step{
			"Up":               upSteps(),
			"Connections":      ladderSteps(s.Connections.Warning.Threshold, s.Connections.Critical.Threshold),
			"Deadlocks":        eventSteps(s.Deadlocks.Threshold),
			"Row lock waits/s": {{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(s.RowLockWaits.Threshold), Color: dashColorWarning}},
			"Buffer pool hit":  {{Value: nil, Color: dashColorWarning}, {Value: dashboard.Float(s.BufferPoolHitRatio.Threshold), Color: dashColorOK}},
		},
		map[string]string{"Up": dashUnitShort, "Connections": dashUnitPercentUnit, "Deadlocks": dashUnitShort, "Row lock waits/s": dashUnitShort, "Buffer pool hit": dashUnitPercentUnit})
}
