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
// rate() and increase() of those only. It has no long-transaction signal:
// the exporter exports no age of the oldest transaction.

// Alert names of the mysql pack.
const (
	AlertMySQLDown                      = "MySQLDown"
	AlertMySQLConnectionsNearMaxCrit    = "MySQLConnectionsNearMaxCritical"
	AlertMySQLConnectionsNearMaxWarning = "MySQLConnectionsNearMaxWarning"
	AlertMySQLDeadlocks                 = "MySQLDeadlocks"
	AlertMySQLRowLockWaits              = "MySQLRowLockWaits"
	AlertMySQLBufferPoolHitRatioLow     = "MySQLBufferPoolHitRatioLow"
)

// Families of the mysql pack.
const (
	FamilyMySQLUp            = "mysql_up"
	FamilyMySQLConnections   = "mysql_connections"
	FamilyMySQLDeadlocks     = "mysql_deadlocks"
	FamilyMySQLRowLockWaits  = "mysql_row_lock_waits"
	FamilyMySQLBufferPoolHit = "mysql_buffer_pool_hit_ratio"
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
)

func mysqlPack() serverPack {
	return serverPack{
		name:     PackMySQL,
		contract: exporters.MySQL,
		job:      func(c Config) ExporterJob { return c.Server.MySQL.Exporter },
		families: []FamilyFunc{myUpFamily, myConnectionsFamily, myDeadlocksFamily, myRowLockFamily, myBufferPoolFamily},
		panels:   mysqlPanels,
		overview: mysqlOverview,
		validate: func(c Config, add func(id, path, format string, args ...any) *diag.Error) {
			v, s, p := serverLevelChecks{c, add}, c.Server.MySQL, "server.mysql"
			v.down(p+".down", s.Down)
			v.connections(p+".connections", s.Connections)
			v.count(p+".deadlocks", s.Deadlocks)
			v.positive(p+".row_lock_waits", s.RowLockWaits, "waits per second")
			v.share(p+".buffer_pool_hit_ratio", s.BufferPoolHitRatio)
			v.minimum(p+".min_read_request_rate", s.MinReadRequestRate)
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
	crit := level(AlertMySQLConnectionsNearMaxCrit, SeverityCritical, s.Connections.Critical)
	warn := level(AlertMySQLConnectionsNearMaxWarning, SeverityWarning, s.Connections.Warning)
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
	w, c := s.Connections.Warning.Threshold, s.Connections.Critical.Threshold
	crit.Cases = cases(crit, s.Connections.Critical, (c+1)/2, (w+c)/2)
	warn.Cases = cases(warn, s.Connections.Warning, (w+c)/2, w*0.9)
	return Family{Name: FamilyMySQLConnections, Alerts: []Alert{crit, warn}}
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
func mysqlPanels(c Config, y uint32) []Panel {
	s := c.Server.MySQL
	q := serverQuery{job: s.Exporter.JobName}
	r := func(metric string) string {
		return q.agg("sum", fmt.Sprintf("rate(%s[$__rate_interval])", q.sel(metric)))
	}
	conn := s.Connections
	inst := "{{instance}}"
	return []Panel{
		serverPanel(PanelMySQLUp, "MySQL: Reachable",
			fmt.Sprintf("1 while mysqld_exporter (job %s) reaches its server (%s), 0 when it cannot. No line: the exporter is not scraped.", s.Exporter.JobName, myUp),
			dashUnitShort, serverGrid(y, 0), serverQ("A", q.agg("max", q.sel(myUp)), inst)),
		withLines(serverPanel(PanelMySQLConnections, "MySQL: Connections Used vs Max",
			fmt.Sprintf("Open connections as a share of max_connections (%s / %s). Dashed lines: the warning (%s) and critical (%s) thresholds.",
				myThreadsConnected, myMaxConnections, FormatPercent(conn.Warning.Threshold), FormatPercent(conn.Critical.Threshold)),
			dashUnitPercentUnit, serverGrid(y, 1),
			serverQ("A", q.agg("max", q.sel(myThreadsConnected))+" / "+q.agg("max", q.sel(myMaxConnections)+" > 0"), inst)),
			dashboard.Step{Value: dashboard.Float(conn.Warning.Threshold), Color: dashColorWarning},
			dashboard.Step{Value: dashboard.Float(conn.Critical.Threshold), Color: dashColorCritical}),
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
		serverPanel(PanelMySQLReplication, "MySQL: Replication Lag",
			fmt.Sprintf("Seconds_Behind_Master of each replication connection (%s): on replicas only, and absent while the SQL thread is stopped. No alert: lag tolerance depends on what reads the replica.", mySecondsBehind),
			dashUnitSeconds, serverGrid(y, 6), serverQ("A", q.agg("max", q.sel(mySecondsBehind), "connection_name"), inst+" {{connection_name}}")),
	}
}

// mysqlOverview is the pack's row of the overview dashboard.
func mysqlOverview(c Config, y uint32) dashboard.Panel {
	s := c.Server.MySQL
	q := serverQuery{job: s.Exporter.JobName}
	r := func(metric string) string {
		return q.agg("sum", fmt.Sprintf("rate(%s[$__rate_interval])", q.sel(metric)))
	}
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
			"Up":               {{Value: nil, Color: dashColorCritical}, {Value: dashboard.Float(1), Color: dashColorOK}},
			"Connections":      {{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(s.Connections.Warning.Threshold), Color: dashColorWarning}, {Value: dashboard.Float(s.Connections.Critical.Threshold), Color: dashColorCritical}},
			"Deadlocks":        {{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(s.Deadlocks.Threshold + 1), Color: dashColorWarning}},
			"Row lock waits/s": {{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(s.RowLockWaits.Threshold), Color: dashColorWarning}},
			"Buffer pool hit":  {{Value: nil, Color: dashColorWarning}, {Value: dashboard.Float(s.BufferPoolHitRatio.Threshold), Color: dashColorOK}},
		},
		map[string]string{"Up": dashUnitShort, "Connections": dashUnitPercentUnit, "Deadlocks": dashUnitShort, "Row lock waits/s": dashUnitShort, "Buffer pool hit": dashUnitPercentUnit})
}
