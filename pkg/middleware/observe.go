package middleware

import (
	"context"
	"time"
)

// Observe records one statement that the middleware did not execute
// itself: query is classified as the database/sql path classifies it, and
// the statement is counted, timed into the histogram, counted as an error
// when err is not nil and as slow (and logged) when d reaches the slow
// threshold, exactly as a statement run through a wrapped driver without
// WithDBName. With the statement label on, its name is taken as on that
// path (WithStatement on ctx, else the "-- name:" comment). It lets a
// tracer of another database API (pgx's, for example) feed the same
// series; Database does the same for a named database. It does not
// allocate unless the statement is slow and a logger is set, or its name
// is recorded for the first time.
//
// Observe records whether or not the middleware is installed: like the
// database/sql path, a caller checks Installed when the statement starts,
// so that a statement that started while installed is recorded when it
// ends.
func (m *Middleware) Observe(ctx context.Context, query string, d time.Duration, err error) {
	m.observe(m.unnamed, ctx, classify(query), query, d, err)
}

// ObserveAs is Observe for a statement whose type is known without its
// text (a bulk copy into a table is an INSERT): it is recorded as t, or as
// QueryOther when t is not one of QueryTypes. query is only written to the
// slow-query log and read for a "-- name:" comment.
func (m *Middleware) ObserveAs(ctx context.Context, t QueryType, query string, d time.Duration, err error) {
	m.observe(m.unnamed, ctx, kindOf(t), query, d, err)
}

// ObserveTx records one transaction that the middleware did not run
// itself, from the end of its begin to the end of its commit or rollback,
// into the same transaction series as a transaction through a wrapped
// driver without WithDBName. o is TxCommit or TxRollback when that commit
// or rollback succeeded, TxError when it failed (including a commit that
// the server turned into a rollback); a value that is not one of
// TxOutcomes is recorded as TxError. Like Observe, it records whether or
// not the middleware is installed: the caller checks Installed when the
// transaction begins.
func (m *Middleware) ObserveTx(o TxOutcome, d time.Duration) {
	m.observeTx(m.unnamed, o, d)
}

// observeTx records a transaction of db.
func (m *Middleware) observeTx(db *database, o TxOutcome, d time.Duration) {
	if !db.used.Load() {
		db.used.Store(true)
	}
	i := txError
	for j, v := range outcomeValues {
		if v == o {
			i = outcome(j)
			break
		}
	}
	m.recordTx(db, i, d)
}

// observe records a statement of db.
func (m *Middleware) observe(db *database, ctx context.Context, k kind, query string, d time.Duration, err error) {
	if !db.used.Load() {
		db.used.Store(true)
	}
	set := db.plain
	if m.maxStatements > 0 {
		set = m.set(db, StatementName(ctx, query))
	}
	m.record(ctx, set, k, d, err, query)
}

// kindOf returns the kind of t; kindOther for a value that is not one of
// QueryTypes.
func kindOf(t QueryType) kind {
	for i, v := range kindTypes {
		if v == t {
			return kind(i)
		}
	}
	return kindOther
}

// Database records statements and transactions that the middleware did
// not execute itself under one db_name, as a wrapper with WithDBName
// does. Get one with Middleware.Database; it is safe for concurrent use.
type Database struct {
	m  *Middleware
	db *database
}

// Database returns the recorder of the database name: what it records
// lands in the same series as the statements of wrappers with
// WithDBName(name), and a non-empty name turns the db_name label on as
// WithDBName does. Database("") records as Observe does. Calling it again
// with the same name returns an equivalent recorder.
func (m *Middleware) Database(name string) *Database {
	var cfg wrapConfig
	WithDBName(name)(&cfg)
	return &Database{m: m, db: m.database(cfg.dbName)}
}

// Observe is Middleware.Observe for this database.
func (d *Database) Observe(ctx context.Context, query string, dur time.Duration, err error) {
	d.m.observe(d.db, ctx, classify(query), query, dur, err)
}

// ObserveTx is Middleware.ObserveTx for this database.
func (d *Database) ObserveTx(o TxOutcome, dur time.Duration) {
	d.m.observeTx(d.db, o, dur)
}

// ObserveAs is Middleware.ObserveAs for this database.
func (d *Database) ObserveAs(ctx context.Context, t QueryType, query string, dur time.Duration, err error) {
	d.m.observe(d.db, ctx, kindOf(t), query, dur, err)
}
