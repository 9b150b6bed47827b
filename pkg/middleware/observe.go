package middleware

import (
	"context"
	"time"
)

// Observe records one statement that the middleware did not execute
// itself: query is classified as the database/sql path classifies it, and
// the statement is counted, timed into the histogram, counted as an error
// when err is not nil and as slow (and logged) when d reaches the slow
// threshold, exactly as a statement run through a wrapped driver. It lets
// a tracer of another database API (pgx's, for example) feed the same
// series. It does not allocate unless the statement is slow and a logger
// is set.
//
// Observe records whether or not the middleware is installed: like the
// database/sql path, a caller checks Installed when the statement starts,
// so that a statement that started while installed is recorded when it
// ends.
func (m *Middleware) Observe(ctx context.Context, query string, d time.Duration, err error) {
	m.record(ctx, classify(query), d, err, query)
}

// ObserveAs is Observe for a statement whose type is known without its
// text (a bulk copy into a table is an INSERT): it is recorded as t, or as
// QueryOther when t is not one of QueryTypes. query is only written to the
// slow-query log.
func (m *Middleware) ObserveAs(ctx context.Context, t QueryType, query string, d time.Duration, err error) {
	k := kindOther
	for i, v := range kindTypes {
		if v == t {
			k = kind(i)
			break
		}
	}
	m.record(ctx, k, d, err, query)
}

// ObserveTx records one transaction that the middleware did not run
// itself, from the end of its begin to the end of its commit or rollback,
// into the same transaction series as a transaction through a wrapped
// driver. o is TxCommit or TxRollback when that commit or rollback
// succeeded, TxError when it failed (including a commit that the server
// turned into a rollback); a value that is not one of TxOutcomes is
// recorded as TxError. Like Observe, it records whether or not the
// middleware is installed: the caller checks Installed when the
// transaction begins.
func (m *Middleware) ObserveTx(o TxOutcome, d time.Duration) {
	i := txError
	for j, v := range outcomeValues {
		if v == o {
			i = outcome(j)
			break
		}
	}
	m.recordTx(i, d)
}
