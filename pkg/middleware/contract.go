package middleware

import "time"

// This file is the metric contract: every metric name, label name, label
// value and default bucket that the middleware exports. The generators in
// specs/ import these identifiers instead of spelling strings, so a panel or
// alert can only name a series that the middleware really emits.

// Metric names exported by the middleware itself.
const (
	// MetricQueriesTotal counts every statement executed, by query type.
	MetricQueriesTotal = "db_queries_total"
	// MetricSlowQueriesTotal counts statements whose duration reached the slow threshold.
	MetricSlowQueriesTotal = "db_slow_queries_total"
	// MetricQueryDuration is the histogram of statement durations, in seconds.
	MetricQueryDuration = "db_query_duration_seconds"
	// MetricQueryErrorsTotal counts statements that returned an error
	// (driver.ErrSkip is never counted: it is a fallback signal, not an error).
	MetricQueryErrorsTotal = "db_query_errors_total"
	// MetricTxDuration is the histogram of transaction durations (Begin to
	// Commit or Rollback), in seconds, labelled by outcome.
	MetricTxDuration = "db_transaction_duration_seconds"
	// MetricStatementOverflowTotal counts the statements recorded under
	// StatementOverflow because the statement label already had its maximum
	// number of distinct names. It exists only when the statement label is on.
	MetricStatementOverflowTotal = "db_statement_overflow_total"
)

// Connection-pool metric names. They are exported by client_golang's
// collectors.NewDBStatsCollector, which the middleware registers for a *sql.DB
// (see RegisterDBStats); they carry the constant label LabelDBName.
const (
	// MetricPoolMaxOpen is the pool's limit (SetMaxOpenConns; 0 = none).
	MetricPoolMaxOpen = "go_sql_max_open_connections"
	// MetricPoolOpen counts established connections, in use and idle.
	MetricPoolOpen = "go_sql_open_connections"
	// MetricPoolInUse counts connections currently in use.
	MetricPoolInUse = "go_sql_in_use_connections"
	// MetricPoolIdle counts idle connections.
	MetricPoolIdle = "go_sql_idle_connections"
	// MetricPoolWaitCount counts the times a caller waited for a connection.
	MetricPoolWaitCount = "go_sql_wait_count_total"
	// MetricPoolWaitDuration is the total time callers waited for a connection.
	MetricPoolWaitDuration = "go_sql_wait_duration_seconds_total"
	// MetricPoolMaxIdleClosed counts connections closed by SetMaxIdleConns.
	MetricPoolMaxIdleClosed = "go_sql_max_idle_closed_total"
	// MetricPoolMaxIdleTimeClosed counts connections closed by SetConnMaxIdleTime.
	MetricPoolMaxIdleTimeClosed = "go_sql_max_idle_time_closed_total"
	// MetricPoolMaxLifetimeClosed counts connections closed by SetConnMaxLifetime.
	MetricPoolMaxLifetimeClosed = "go_sql_max_lifetime_closed_total"
)

// Label names.
const (
	// LabelQueryType holds one of the QueryType values.
	LabelQueryType = "query_type"
	// LabelOutcome holds one of the TxOutcome values on MetricTxDuration.
	LabelOutcome = "outcome"
	// LabelDBName is the constant label the DBStats collector puts on pool
	// metrics. On the statement and transaction metrics it is opt-in: it is
	// there only for connectors wrapped with a database name (WithDBName).
	LabelDBName = "db_name"
	// LabelStatement is the opt-in label naming the statement (see
	// WithStatementLabel): an explicit name given with WithStatement, or the
	// sqlc/pgx "-- name: X" comment at the start of the SQL. Its values are
	// bounded: at most the configured number of names, then StatementOverflow.
	LabelStatement = "statement"
	// LabelLE is the histogram bucket bound label Prometheus adds to _bucket series.
	LabelLE = "le"
)

// QueryType is the bounded classification of a SQL statement.
type QueryType string

// The query types. The set is closed: anything that is not one of the first
// four is QueryOther, so label cardinality is at most five.
const (
	QuerySelect QueryType = "SELECT"
	QueryInsert QueryType = "INSERT"
	QueryUpdate QueryType = "UPDATE"
	QueryDelete QueryType = "DELETE"
	QueryOther  QueryType = "OTHER"
)

// QueryTypes lists every QueryType value in a stable order.
var QueryTypes = []QueryType{QuerySelect, QueryInsert, QueryUpdate, QueryDelete, QueryOther}

// Values of LabelStatement that are not statement names.
const (
	// StatementUnnamed labels statements that carry no name.
	StatementUnnamed = "_unnamed"
	// StatementOverflow labels named statements that arrived after the
	// maximum number of distinct names was reached; each is also counted in
	// MetricStatementOverflowTotal.
	StatementOverflow = "_overflow"
)

// DefaultMaxStatements is the default maximum number of distinct values of
// LabelStatement (StatementUnnamed and StatementOverflow not included).
const DefaultMaxStatements = 50

// TxOutcome is the value of LabelOutcome on MetricTxDuration.
type TxOutcome string

// Transaction outcomes.
const (
	TxCommit   TxOutcome = "commit"
	TxRollback TxOutcome = "rollback"
	TxError    TxOutcome = "error" // Commit or Rollback itself returned an error
)

// TxOutcomes lists every TxOutcome value in a stable order.
var TxOutcomes = []TxOutcome{TxCommit, TxRollback, TxError}

// DefaultSlowThreshold is the duration at and above which a statement is slow.
const DefaultSlowThreshold = 100 * time.Millisecond

// DefaultBuckets are the default histogram bounds of MetricQueryDuration, in
// seconds. They contain the default slow threshold (0.1) and every latency
// threshold the default alerts and dashboard use (0.25, 0.5, 1), so that
// histogram_quantile is exact at those bounds.
func DefaultBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// MetricKind is the Prometheus type of an exported metric.
type MetricKind string

// Metric kinds.
const (
	KindCounter   MetricKind = "counter"
	KindGauge     MetricKind = "gauge"
	KindHistogram MetricKind = "histogram"
)

// MetricDesc describes one exported metric family.
type MetricDesc struct {
	Name   string
	Kind   MetricKind
	Labels []string // label names, excluding le on histogram _bucket series
	Help   string
}

// ContractOptions names the opt-in labels an application turned on; the
// zero value is the default contract.
type ContractOptions struct {
	// DBName: statement and transaction metrics carry LabelDBName.
	DBName bool
	// Statement: statement metrics carry LabelStatement, and
	// MetricStatementOverflowTotal exists.
	Statement bool
}

// Contract returns every metric family the middleware can export by default,
// including the pool metrics of the DBStats collector. Validators use it to
// prove that a query names only series that exist.
func Contract() []MetricDesc { return ContractWith(ContractOptions{}) }

// ContractWith returns the contract of a middleware whose opt-in labels are
// o: Contract plus LabelDBName and LabelStatement where they are turned on.
func ContractWith(o ContractOptions) []MetricDesc {
	qt := []string{LabelQueryType}
	tx := []string{LabelOutcome}
	var overflow []string
	if o.DBName {
		qt = append(qt, LabelDBName)
		tx = append(tx, LabelDBName)
		overflow = append(overflow, LabelDBName)
	}
	if o.Statement {
		qt = append(qt, LabelStatement)
	}
	db := []string{LabelDBName}
	out := []MetricDesc{
		{MetricQueriesTotal, KindCounter, qt, "Total number of SQL statements executed."},
		{MetricSlowQueriesTotal, KindCounter, qt, "Total number of SQL statements at or above the slow threshold."},
		{MetricQueryDuration, KindHistogram, qt, "Duration of SQL statements in seconds."},
		{MetricQueryErrorsTotal, KindCounter, qt, "Total number of SQL statements that returned an error."},
		{MetricTxDuration, KindHistogram, tx, "Duration of SQL transactions in seconds."},
		{MetricPoolMaxOpen, KindGauge, db, "Maximum number of open connections to the database."},
		{MetricPoolOpen, KindGauge, db, "The number of established connections both in use and idle."},
		{MetricPoolInUse, KindGauge, db, "The number of connections currently in use."},
		{MetricPoolIdle, KindGauge, db, "The number of idle connections."},
		{MetricPoolWaitCount, KindCounter, db, "The total number of connections waited for."},
		{MetricPoolWaitDuration, KindCounter, db, "The total time blocked waiting for a new connection."},
		{MetricPoolMaxIdleClosed, KindCounter, db, "The total number of connections closed due to SetMaxIdleConns."},
		{MetricPoolMaxIdleTimeClosed, KindCounter, db, "The total number of connections closed due to SetConnMaxIdleTime."},
		{MetricPoolMaxLifetimeClosed, KindCounter, db, "The total number of connections closed due to SetConnMaxLifetime."},
	}
	if o.Statement {
		out = append(out, MetricDesc{MetricStatementOverflowTotal, KindCounter, overflow,
			"Total number of SQL statements recorded under the overflow statement name because the maximum number of names was reached."})
	}
	return out
}
