// Package middleware times, classifies, counts and exports the statements
// an application runs through database/sql, by wrapping the driver.
//
// # Use
//
//	m, err := middleware.New(middleware.WithRegisterer(prometheus.DefaultRegisterer))
//	…
//	db := sql.OpenDB(m.WrapConnector(connector))            // a driver.Connector, e.g. pgx stdlib.GetConnector
//	db := sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, "app.db")) // a driver without a Connector
//	sql.Register("mysql-timed", m.WrapDriver(&mysql.MySQLDriver{}))
//	err = m.RegisterDBStats(db, "app") // connection-pool metrics of this *sql.DB
//
// With several databases, and with statement names (both opt-in, see
// "Opt-in labels" below):
//
//	m, err := middleware.New(middleware.WithRegisterer(reg), middleware.WithStatementLabel(middleware.DefaultMaxStatements))
//	orders := sql.OpenDB(m.WrapConnector(ordersConnector, middleware.WithDBName("orders")))
//	err = m.RegisterDBStats(orders, "orders")
//	ctx = middleware.WithStatement(ctx, "GetOrder") // or "-- name: GetOrder :one" at the start of the SQL
//
// # What is exported
//
// The metric names, label names, query types and default buckets are the
// contract in contract.go, which the dashboard and alert generators import:
//
//   - db_queries_total{query_type}: every statement that reached the driver
//     (errors included);
//   - db_slow_queries_total{query_type}: statements whose duration reached
//     the slow threshold (default 100 ms, a bucket bound, so the histogram
//     and the counter agree);
//   - db_query_duration_seconds{query_type}: the duration histogram;
//   - db_query_errors_total{query_type}: statements that returned an error;
//   - db_transaction_duration_seconds{outcome}: Begin to Commit/Rollback,
//     outcome commit, rollback or error;
//   - go_sql_*{db_name}: the pool figures of sql.DB.Stats, from
//     client_golang's DBStats collector, registered by RegisterDBStats.
//
// query_type is one of SELECT, INSERT, UPDATE, DELETE, OTHER (see Classify),
// so cardinality is bounded whatever the SQL.
// ContractWith lists the metrics and labels with the opt-in labels on. Recording a statement
// indexes an array by query type and adds to a few atomic counters; the
// statement metrics are built from those counters when Prometheus scrapes
// (db_queries_total is the duration histogram's count, so the two always
// agree), and every series exists at 0 before the first statement.
//
// # Opt-in labels
//
// db_name: WrapConnector, WrapDriver and WrapDSN take WithDBName(name);
// statements and transactions through that wrapper are recorded under
// db_name=name (Database(name) does the same for Observe). Label names
// must agree within a registry, so once any wrapper has a name, every
// statement and transaction series of the Middleware carries db_name, and
// the series of unnamed wrappers have it empty (Prometheus stores an empty
// label as no label, so their series do not change identity). Without
// any name no series has the label. The unnamed database's series are
// exported only while no wrapper has a name or once something unnamed
// recorded, so that an application naming every database has no empty
// row. A registry checks a collector's descriptions once, at
// registration: a pedantic registry therefore rejects the db_name series
// added later; ordinary registries accept them.
//
// statement: New(WithStatementLabel(max)) adds the label statement to the
// four statement metrics, and the counter
// db_statement_overflow_total{db_name}. The name of a statement is the
// one given to its context with WithStatement, or else the identifier of
// the sqlc/pgx comment "-- name: GetOrder :one" at the start of its SQL
// (see StatementName). A statement without a name is recorded under
// "_unnamed". The first max distinct names (across every database) are
// recorded as they come; a statement with any later name is recorded
// under "_overflow" and counted in db_statement_overflow_total of its
// database. Name lookups do not lock once a name is known (a map that is
// replaced, never modified, when a name is added, at most max times) and
// do not allocate.
//
// Cardinality: each query type of each (db_name, statement) pair costs
// B + 6 series (B histogram buckets, +Inf, sum, count, and three
// counters); with the 13 default buckets, 19. The "_unnamed" series of
// each database exist at 0 for every query type from the start, as
// without labels; a name, and "_overflow", add the series of a query type
// when first used with it. Transactions cost 3 × (B + 3) series per
// database, and the overflow counter one. So an application with D
// databases and N names, each used with one query type, exports at most
// D × (8·B + 39 + (N + 5)·(B + 6) + 1) statement and transaction series
// per instance, plus 9 pool series per *sql.DB: with the defaults
// (B = 13, N = 50), 1,189 per database, against 143 without labels.
//
// # What is timed
//
// Exec runs from the call to its return. A query runs from the call to
// Rows.Close, so fetching the rows is included: that is what a user calls
// the query's time, and streaming drivers are still working while rows are
// read. database/sql closes the Rows at the end of iteration, in
// QueryRow's Scan, and on context cancellation. Prepared statements are
// timed per execution and classified once, at preparation; a failed
// preparation counts as a failed statement (database/sql prepares
// implicitly for drivers that cannot execute with arguments directly). Ping,
// ResetSession, Begin, Commit and Rollback are not queries. A statement is
// recorded if the middleware was installed when the statement started.
//
// # Transparency
//
// database/sql chooses its path by asserting optional driver interfaces; a
// wrapped connection, statement or rows object makes it take the same path,
// with the same results and errors, as the driver's own object. Where the
// mere presence of an interface changes that path, the wrapper has it
// exactly when the driver's object has it: Execer, ExecerContext, Queryer
// and QueryerContext (the legacy Execer and Queryer are forwarded as
// such), SessionResetter and Validator on connections; ColumnConverter on
// statements; RowsColumnScanner on rows (Go 1.27: database/sql then calls
// NextRow and ScanColumn instead of Next, which lets pgx scan arrays into
// slices). Every other optional interface the wrapper always has, and
// without the driver's it does exactly what database/sql does for a
// driver without it: Pinger (Ping returns nil), ConnPrepareContext
// (Prepare, then the context check), ConnBeginTx (database/sql's refusal
// of non-default options, Begin, then the context check) and
// NamedValueChecker (driver.ErrSkip, on which database/sql goes on as with
// no checker) on connections; StmtExecContext and StmtQueryContext (the
// named-argument and context checks, then Exec or Query) and
// NamedValueChecker (the connection's, as database/sql falls back to it)
// on statements; RowsNextResultSet (no further set) and every
// RowsColumnType* (database/sql's defaults) on rows. The reasoning per
// interface, checked against database/sql's source, is in the
// repository's docs/adr/0006-wrapper-interfaces.md.
//
// driver.ErrSkip is returned unwrapped and never counted (the fallback
// execution is); driver.ErrBadConn and every other error are returned
// unchanged, and each attempt database/sql makes counts. Errors of NextRow
// fail the query as those of Next do; errors of ScanColumn, like those of
// database/sql's own conversions in Scan, do not. Raw and the Unwrap
// methods reach the driver's own objects.
//
// # Slow queries
//
// A slow statement is logged once with log/slog at level WARN, message
// "slow query", attributes query_type, duration, statement (when the
// statement has a name, even with the statement label off or when the
// label folded it into "_overflow") and sql: the statement's Fingerprint
// (string and numeric literals replaced by ?, IN lists of literals and
// placeholders collapsed to IN (?+), -- comments removed, whitespace
// collapsed; /* */ comments kept), truncated to WithMaxSQLLength bytes, default 1024. Bound
// parameter values are never logged: they can hold personal data.
//
// # In-process statistics
//
// Stats returns totals, slow and error counts per query type, and exact
// count/sum/min/max/mean with p50/p95/p99 from a fixed log-linear histogram
// (32 sub-buckets per power of two): memory is fixed whatever the traffic
// or the number of distinct SQL texts, and percentiles are within 3.2 % of
// the exact nearest-rank value.
//
// # Install and uninstall
//
// Uninstall stops recording on every live connection without reopening the
// database; wrapped objects then only forward (query results are not even
// wrapped). Install resumes. WithInstalled(false) starts uninstalled.
//
// # Overhead
//
// A statement allocates nothing beyond what the driver and database/sql
// allocate: the first query on a connection allocates the wrapper of its
// rows, which database/sql's Close hands back to that connection for its
// next query (database/sql never touches a driver.Rows after Close). See
// BENCHMARKS.md for the overhead, measured with go test -bench against
// bare database/sql on a no-op driver and on SQLite.
package middleware
