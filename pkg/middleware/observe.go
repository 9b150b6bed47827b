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
