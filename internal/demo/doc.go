// Package demo is a small application that runs a database workload on
// embedded SQLite through the dbmonctl middleware and serves its metrics,
// so that a Prometheus, the generated alert rules and the generated
// dashboard have something real to watch.
//
// The workload is shaped by a Scenario. Each scenario is built to cross
// exactly the thresholds of the alerts it is named after, and no others:
//
//	healthy          fast queries at the base rate; no alert fires
//	slow-burst       15 % of queries at 1.5× the slow threshold (slow rate critical)
//	sustained-slow   7 % of queries at 1.5× the slow threshold (slow rate warning, not critical)
//	type-slow        45 % of SELECTs at 1.5× the slow threshold (slow rate by type, and slow rate critical)
//	p99-spike        4 % of queries at 1.5× the p99 critical latency (p99 critical)
//	rate-spike       4× the base rate (query rate spike)
//	traffic-drop     0.2× the base rate (traffic drop)
//	errors           20 % of statements fail (error rate)
//	pool-saturation  every pooled connection stays checked out, queries queue (pool saturation, pool waits)
//	stopped          no queries; metrics are still served
//
// Slow and spike queries are slow inside the database: they call a
// sleep_ms SQL function registered on the demo's own SQLite driver, so
// the middleware times a statement that really takes that long. Only
// SELECTs are slow or fail, because a slow write would hold SQLite's
// single write lock and make unrelated writes slow as well; the shares
// above are shares of all statements, and except in type-slow the share
// within SELECTs stays below the per-type slow rate threshold.
//
// With Options.Databases the workload runs several databases, each its own
// SQLite file wrapped WithDBName and its own pool, each at the full rate
// and each in its own scenario (SetScenarioOf), so one database can burst
// while another stays healthy. The statements always carry names, the
// SELECTs in a sqlc-style "-- name:" comment and the writes through
// WithStatement, which the statement label (Options.MaxStatements) reads;
// Options.Statements adds page queries with names of their own, so a
// workload can use more names than the label admits and show the
// overflow.
//
// Which statement runs next is decided by a deterministic planner, not by
// chance, so any window of a few dozen queries has the scenario's exact
// mix, and alerts fire on time in a drill rather than on most runs.
package demo
