package middleware

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Middleware times, classifies, counts and exports the statements of the
// database/sql drivers it wraps. One Middleware can wrap any number of
// connectors and drivers; they share its metrics and Stats. It is safe for
// concurrent use.
type Middleware struct {
	installed  atomic.Bool
	slow       time.Duration
	maxSQL     int
	logger     *slog.Logger
	registerer prometheus.Registerer

	// The statement metrics are exported by Collect from the counters in
	// stats: recording a statement indexes an array by query type (no
	// label lookup), updates a few atomic counters that serve both the
	// metrics and Stats, and calls no client_golang code. Every series
	// exists (at 0) from the start, so that rate() and absent() see it
	// before the first query of its type.
	bounds                                     []float64 // histogram upper bounds in seconds, +Inf excluded
	queriesDesc, slowDesc, errorsDesc, durDesc *prometheus.Desc
	stats                                      [numKinds]kindStats
	created                                    time.Time // the series' creation time, exported with them

	// Transactions are far fewer than statements: client_golang's own
	// histogram, with each outcome's child resolved once in New.
	txDuration *prometheus.HistogramVec
	txSeries   [numOutcomes]prometheus.Observer
	txStats    txStats
}

// kindStats are the figures of one query type. The total is the count of
// the exported histogram, whose buckets (one per bound, not cumulative,
// and one above the last) are counted here; durations is the finer
// histogram of Stats.
type kindStats struct {
	slow, errors atomic.Uint64
	buckets      []atomic.Uint64
	durations    durations
}

// txStats are the in-process figures of transactions.
type txStats struct {
	outcomes  [numOutcomes]atomic.Uint64
	durations durations
}

// outcome is a TxOutcome as an index.
type outcome uint8

const (
	txCommit outcome = iota
	txRollback
	txError
	numOutcomes
)

var outcomeValues = [numOutcomes]TxOutcome{TxCommit, TxRollback, TxError}

// New returns a Middleware configured by opts. It returns an error wrapping
// ErrInvalidOption, listing every bad option, when the options are invalid,
// and the registerer's error when the metrics cannot be registered (for
// example because another Middleware already registered them on the same
// registry). It does not panic.
func New(opts ...Option) (*Middleware, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new middleware: %w", err)
	}
	m := &Middleware{
		slow:        cfg.slow,
		maxSQL:      cfg.maxSQL,
		logger:      cfg.logger,
		registerer:  cfg.registerer,
		bounds:      append([]float64(nil), cfg.buckets...),
		created:     time.Now(),
		queriesDesc: desc(MetricQueriesTotal),
		slowDesc:    desc(MetricSlowQueriesTotal),
		errorsDesc:  desc(MetricQueryErrorsTotal),
		durDesc:     desc(MetricQueryDuration),
		txDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricTxDuration, Help: help(MetricTxDuration), Buckets: cfg.buckets,
		}, []string{LabelOutcome}),
	}
	for k := range numKinds {
		m.stats[k].buckets = make([]atomic.Uint64, len(m.bounds)+1)
		m.stats[k].durations.init()
	}
	for o := range numOutcomes {
		m.txSeries[o] = m.txDuration.WithLabelValues(string(outcomeValues[o]))
	}
	m.txStats.durations.init()
	m.installed.Store(cfg.installed)
	if m.registerer != nil {
		if err := m.registerer.Register(m); err != nil {
			return nil, fmt.Errorf("register query metrics: %w", err)
		}
	}
	return m, nil
}

// help returns the contract's help text of a metric, so the exported HELP
// lines are the contract's.
func help(name string) string {
	for _, d := range Contract() {
		if d.Name == name {
			return d.Help
		}
	}
	panic("middleware: metric " + name + " is not in the contract") // a programming error caught by the tests
}

// desc returns the descriptor of a statement metric of the contract, with
// the query_type label.
func desc(name string) *prometheus.Desc {
	return prometheus.NewDesc(name, help(name), []string{LabelQueryType}, nil)
}

// Describe implements prometheus.Collector.
func (m *Middleware) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.queriesDesc
	ch <- m.slowDesc
	ch <- m.errorsDesc
	ch <- m.durDesc
	m.txDuration.Describe(ch)
}

// Collect implements prometheus.Collector. Per query type, the slow and
// error counts are read before the histogram buckets and recorded after
// them, so a scrape never shows more slow or failed statements than
// statements; db_queries_total is the histogram's count, so the two
// always agree. The sum is read last and may include a statement that is
// still being recorded.
func (m *Middleware) Collect(ch chan<- prometheus.Metric) {
	for k := range numKinds {
		st := &m.stats[k]
		v := string(kindTypes[k])
		slow, errs := st.slow.Load(), st.errors.Load()
		var n uint64
		cum := make(map[float64]uint64, len(m.bounds))
		for i, b := range m.bounds {
			n += st.buckets[i].Load()
			cum[b] = n
		}
		n += st.buckets[len(m.bounds)].Load()
		sum := time.Duration(st.durations.sum.Load()).Seconds()
		ch <- m.counter(m.queriesDesc, float64(n), v)
		ch <- m.counter(m.slowDesc, float64(slow), v)
		ch <- m.counter(m.errorsDesc, float64(errs), v)
		h, err := prometheus.NewConstHistogramWithCreatedTimestamp(m.durDesc, n, sum, cum, m.created, v)
		if err != nil {
			h = prometheus.NewInvalidMetric(m.durDesc, err)
		}
		ch <- h
	}
	m.txDuration.Collect(ch)
}

// counter returns a counter sample with the series' creation time (as
// client_golang's own counters carry it), or an invalid metric that makes
// the scrape report the error.
func (m *Middleware) counter(d *prometheus.Desc, v float64, label string) prometheus.Metric {
	c, err := prometheus.NewConstMetricWithCreatedTimestamp(d, prometheus.CounterValue, v, m.created, label)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return c
}

// RegisterDBStats registers the connection-pool metrics of db (the
// Metric* pool names of the contract, from client_golang's
// collectors.NewDBStatsCollector) on the middleware's registerer, with
// dbName as the value of their db_name label. Pool figures are read from
// db.Stats() at scrape time, so they cost nothing per query. Call it once
// per *sql.DB, with distinct names for distinct pools; registering a name
// twice returns the registry's AlreadyRegisteredError, wrapped. Without a
// registerer it does nothing and returns nil.
func (m *Middleware) RegisterDBStats(db *sql.DB, dbName string) error {
	if m.registerer == nil {
		return nil
	}
	if err := m.registerer.Register(collectors.NewDBStatsCollector(db, dbName)); err != nil {
		return fmt.Errorf("register pool metrics of %q: %w", dbName, err)
	}
	return nil
}

// Install resumes recording on every connection the middleware wraps,
// including connections opened while it was uninstalled.
func (m *Middleware) Install() { m.installed.Store(true) }

// Uninstall stops recording without reopening the database: wrapped
// connections then only forward to the driver (one atomic load of
// overhead per call, and query results are not wrapped at all). A
// statement or transaction that started while installed is still recorded
// when it ends. Metrics and Stats keep their values.
func (m *Middleware) Uninstall() { m.installed.Store(false) }

// Installed reports whether the middleware is recording.
func (m *Middleware) Installed() bool { return m.installed.Load() }

// SlowThreshold returns the duration at and above which a statement is slow.
func (m *Middleware) SlowThreshold() time.Duration { return m.slow }

// epoch is the origin of the middleware's clock.
var epoch = time.Now()

// clock returns the monotonic time since epoch. It reads one clock where
// time.Now reads two (wall and monotonic), and a statement is timed with
// two readings, so on virtual machines, where a clock read costs tens of
// nanoseconds, this halves the timing overhead.
func clock() time.Duration { return time.Since(epoch) }

// record accounts for one statement of kind k that took d and ended with
// err (nil on success).
func (m *Middleware) record(ctx context.Context, k kind, d time.Duration, err error, query string) {
	st := &m.stats[k]
	st.buckets[bucketIndex(m.bounds, d.Seconds())].Add(1)
	st.durations.observe(d)
	if err != nil {
		st.errors.Add(1)
	}
	if d >= m.slow {
		st.slow.Add(1)
		if m.logger != nil {
			m.logSlow(ctx, k, d, query)
		}
	}
}

// bucketIndex returns the index of the first bound that is at least v
// (Prometheus buckets are "less than or equal"), or len(bounds) when v
// exceeds them all. The handful of default bounds makes a linear scan the
// fastest search, as in client_golang.
func bucketIndex(bounds []float64, v float64) int {
	for i, b := range bounds {
		if v <= b {
			return i
		}
	}
	return len(bounds)
}

// logSlow writes the slow-query line. Its message and attribute names are
// part of the product (runbooks search for them): "slow query" with
// query_type, duration and sql. Bound parameter values are never logged:
// they can hold personal data, and the middleware never looks at them.
func (m *Middleware) logSlow(ctx context.Context, k kind, d time.Duration, query string) {
	m.logger.LogAttrs(ctx, slog.LevelWarn, "slow query",
		slog.String(LabelQueryType, string(kindTypes[k])),
		slog.Duration("duration", d),
		slog.String("sql", truncate(query, m.maxSQL)),
	)
}

// truncate cuts s to at most n bytes at a UTF-8 boundary, marking the cut
// with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n == 0 {
		return ""
	}
	return s[:n] + "…"
}

// recordTx accounts for one transaction.
func (m *Middleware) recordTx(o outcome, d time.Duration) {
	m.txSeries[o].Observe(d.Seconds())
	m.txStats.durations.observe(d)
	m.txStats.outcomes[o].Add(1) // after the histogram: see Stats
}

// Stats returns a snapshot of what the middleware recorded since New. It
// is safe to call during traffic; it copies about 100 KiB of counters, so
// call it for a summary or a debug page, not per query.
func (m *Middleware) Stats() Stats {
	s := Stats{ByType: make([]TypeStats, 0, numKinds)}
	all := newHistSnapshot()
	for k := range numKinds {
		st := &m.stats[k]
		// slow and errors are incremented after the histogram and read
		// before it, so a snapshot never has more slow queries than queries.
		ts := TypeStats{Type: kindTypes[k], Slow: st.slow.Load(), Errors: st.errors.Load()}
		h := newHistSnapshot()
		h.add(&st.durations)
		all.merge(h)
		ts.Duration = h.stats()
		ts.Total = ts.Duration.Count
		s.ByType = append(s.ByType, ts)
		s.Slow += ts.Slow
		s.Errors += ts.Errors
	}
	s.Duration = all.stats()
	s.Total = s.Duration.Count
	tx := newHistSnapshot()
	tx.add(&m.txStats.durations)
	s.Tx = TxStats{
		Commits:   m.txStats.outcomes[txCommit].Load(),
		Rollbacks: m.txStats.outcomes[txRollback].Load(),
		Errors:    m.txStats.outcomes[txError].Load(),
		Duration:  tx.stats(),
	}
	return s
}
