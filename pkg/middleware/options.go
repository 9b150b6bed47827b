package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxSQLLength is the default number of bytes of SQL text a slow
// query log line carries: enough to recognise a statement, bounded so that
// a generated multi-megabyte IN list cannot flood the logs.
const DefaultMaxSQLLength = 1024

// ErrInvalidOption is wrapped by every error New returns for a bad option,
// for errors.Is.
var ErrInvalidOption = errors.New("invalid middleware option")

// Option configures a Middleware; pass options to New.
type Option func(*config)

// config is what the options set; New validates it as a whole, so an error
// can relate two options (the slow threshold must be a bucket bound).
type config struct {
	registerer prometheus.Registerer
	slow       time.Duration
	logger     *slog.Logger
	buckets    []float64
	maxSQL     int
	installed  bool
	// statementLabel: WithStatementLabel was given, with maxStatements.
	statementLabel bool
	maxStatements  int
}

// defaultConfig holds every default in one place.
func defaultConfig() config {
	return config{
		slow:      DefaultSlowThreshold,
		logger:    slog.Default(),
		buckets:   DefaultBuckets(),
		maxSQL:    DefaultMaxSQLLength,
		installed: true,
	}
}

// WithRegisterer registers the middleware's metrics on r. Without it, or
// with nil, nothing is registered: Stats still works, and the *Middleware
// is itself a prometheus.Collector that can be registered later.
// RegisterDBStats uses the same registerer.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(c *config) { c.registerer = r }
}

// WithSlowThreshold sets the duration at and above which a statement is
// slow: counted in db_slow_queries_total and logged. It must be positive
// and, in seconds, one of the histogram buckets, so that the slow share
// computed from the histogram agrees with the slow counter. The default is
// DefaultSlowThreshold.
func WithSlowThreshold(d time.Duration) Option {
	return func(c *config) { c.slow = d }
}

// WithLogger sets the logger of slow-query lines; nil turns them off. The
// default is slog.Default() at the time New is called.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithBuckets sets the bounds, in seconds, of the query duration histogram.
// They must be finite, positive and strictly increasing, and contain the
// slow threshold. The default is DefaultBuckets(). The slice is copied.
func WithBuckets(b []float64) Option {
	b = append([]float64(nil), b...)
	return func(c *config) { c.buckets = b }
}

// WithMaxSQLLength sets how many bytes of SQL text a slow-query line keeps
// (cut at a UTF-8 boundary, "…" appended when cut); 0 logs no SQL text at
// all. It must not be negative. The default is DefaultMaxSQLLength.
func WithMaxSQLLength(n int) Option {
	return func(c *config) { c.maxSQL = n }
}

// WithInstalled sets whether the middleware records from the start; with
// false, the wrapped driver only forwards until Install is called. The
// default is true.
func WithInstalled(installed bool) Option {
	return func(c *config) { c.installed = installed }
}

// WithStatementLabel turns on the statement label (LabelStatement) of the
// statement metrics and the counter MetricStatementOverflowTotal. A
// statement's name comes from WithStatement on its context, or else from
// the sqlc/pgx comment "-- name: GetOrder :one" at the start of its SQL
// (see StatementName); a statement without a name is recorded under
// StatementUnnamed. At most max distinct names are recorded, in the order
// they are first seen, across every database of the Middleware; a
// statement with any further name is recorded under StatementOverflow and
// counted in db_statement_overflow_total of its database. max must be
// positive; DefaultMaxStatements is a reasonable value. Each name costs,
// per database and query type it is used with, the series of one query
// type: the number of buckets + 6 (see the package documentation).
func WithStatementLabel(max int) Option {
	return func(c *config) { c.statementLabel, c.maxStatements = true, max }
}

// validate reports every problem with c at once.
func (c *config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...))
	}
	if c.slow <= 0 {
		bad("slow threshold %s: must be positive", c.slow)
	}
	if c.maxSQL < 0 {
		bad("max SQL length %d: must not be negative", c.maxSQL)
	}
	if c.statementLabel && c.maxStatements <= 0 {
		bad("statement label: maximum number of statements %d: must be positive", c.maxStatements)
	}
	if len(c.buckets) == 0 {
		bad("buckets: must not be empty")
	}
	sorted := true
	for i, b := range c.buckets {
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
			bad("buckets[%d] %v: must be finite and positive", i, b)
			sorted = false
		case i > 0 && b <= c.buckets[i-1]:
			bad("buckets[%d] %v: must be greater than buckets[%d] %v", i, b, i-1, c.buckets[i-1])
			sorted = false
		}
	}
	if sorted && c.slow > 0 && len(c.buckets) > 0 && !containsBound(c.buckets, c.slow) {
		bad("buckets %v: must contain the slow threshold %s (%v s)", c.buckets, c.slow, c.slow.Seconds())
	}
	return errors.Join(errs...)
}

// containsBound reports whether d, in seconds, is one of the bounds. The
// comparison is exact: Duration.Seconds of a whole number of milliseconds
// is the float64 nearest to the decimal, as is a literal or YAML 0.1.
func containsBound(buckets []float64, d time.Duration) bool {
	s := d.Seconds()
	for _, b := range buckets {
		if b == s {
			return true
		}
	}
	return false
}
