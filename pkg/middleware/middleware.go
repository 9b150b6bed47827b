package middleware

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
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
	installed     atomic.Bool
	slow          time.Duration
	maxSQL        int
	maxStatements int // 0: the statement label is off
	logger        *slog.Logger
	registerer    prometheus.Registerer

	// The statement and transaction metrics are exported by Collect from
	// the counters of the label sets: recording a statement indexes an
	// array by query type (no label lookup), updates a few atomic counters
	// and calls no client_golang code. The series of statements without
	// a name exist (at 0) from the start, so that rate() and absent() see
	// them before the first query of their type.
	bounds  []float64 // histogram upper bounds in seconds, +Inf excluded
	descs   [2]descs  // without and with LabelDBName
	labels  labelRegistry
	unnamed *database // the database of wrappers without WithDBName

	// In-process figures for Stats, across every label set.
	stats   [numKinds]durations
	txStats txStats
}

// descs are the descriptors of the exported metrics for one set of labels.
type descs struct {
	queries, slow, errors, duration, tx, overflow *prometheus.Desc
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
		slow:          cfg.slow,
		maxSQL:        cfg.maxSQL,
		maxStatements: cfg.maxStatements,
		logger:        cfg.logger,
		registerer:    cfg.registerer,
		bounds:        append([]float64(nil), cfg.buckets...),
	}
	statement := m.maxStatements > 0
	m.descs[0] = newDescs(ContractOptions{Statement: statement})
	m.descs[1] = newDescs(ContractOptions{DBName: true, Statement: statement})
	empty := map[string]struct{}{}
	m.labels.names.Store(&empty)
	m.unnamed = m.database("")
	for k := range numKinds {
		m.stats[k].init()
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

// newDescs returns the descriptors of the middleware's own metrics with
// the labels and help texts the contract o gives them, so the exported
// HELP lines and label names are the contract's; the overflow counter's is
// nil when the contract has none.
func newDescs(o ContractOptions) descs {
	var d descs
	for _, c := range ContractWith(o) {
		p := map[string]**prometheus.Desc{
			MetricQueriesTotal:           &d.queries,
			MetricSlowQueriesTotal:       &d.slow,
			MetricQueryErrorsTotal:       &d.errors,
			MetricQueryDuration:          &d.duration,
			MetricTxDuration:             &d.tx,
			MetricStatementOverflowTotal: &d.overflow,
		}[c.Name]
		if p != nil {
			*p = prometheus.NewDesc(c.Name, c.Help, c.Labels, nil)
		}
	}
	return d
}

// current returns the descriptors of the labels in use now, and whether
// they include LabelDBName.
func (m *Middleware) current() (*descs, bool) {
	if m.labels.dbNamed.Load() {
		return &m.descs[1], true
	}
	return &m.descs[0], false
}

// Describe implements prometheus.Collector. It describes the metrics with
// the labels in use when it is called: a registry calls it once, at
// registration, so a pedantic registry (prometheus.NewPedanticRegistry)
// rejects the series once WithDBName has added LabelDBName; ordinary
// registries accept them.
func (m *Middleware) Describe(ch chan<- *prometheus.Desc) {
	d, _ := m.current()
	ch <- d.queries
	ch <- d.slow
	ch <- d.errors
	ch <- d.duration
	ch <- d.tx
	if d.overflow != nil {
		ch <- d.overflow
	}
}

// Collect implements prometheus.Collector. Per series, the slow and
// error counts are read before the histogram buckets and recorded after
// them, so a scrape never shows more slow or failed statements than
// statements; db_queries_total is the histogram's count, so the two
// always agree. The sum is read last and may include a statement that is
// still being recorded. Label values follow the contract's label order:
// query_type (or outcome), then db_name, then statement.
func (m *Middleware) Collect(ch chan<- prometheus.Metric) {
	d, withDB := m.current()
	for _, db := range m.databases() {
		if !m.exported(db) {
			continue
		}
		var overflowed uint64
		for _, s := range db.sets() {
			for k := range numKinds {
				n := m.collectSeries(ch, d, s, k, withDB)
				if s == db.overflow {
					overflowed += n
				}
			}
		}
		for o := range numOutcomes {
			values := []string{string(outcomeValues[o])}
			if withDB {
				values = append(values, db.name)
			}
			h, _ := m.histogram(d.tx, &db.tx[o], db.plain.created, values)
			ch <- h
		}
		if d.overflow != nil {
			var values []string
			if withDB {
				values = []string{db.name}
			}
			ch <- m.counter(d.overflow, float64(overflowed), db.overflow.created, values)
		}
	}
}

// collectSeries sends the four statement metrics of one query type of one
// label set, unless the set is exported only once used and that type has
// not been, and returns the number of statements they count.
func (m *Middleware) collectSeries(ch chan<- prometheus.Metric, d *descs, s *labelSet, k kind, withDB bool) uint64 {
	st := &s.kinds[k]
	slow, errs := st.slow.Load(), st.errors.Load()
	n := st.count()
	if n == 0 && !s.always {
		return 0
	}
	values := []string{string(kindTypes[k])}
	if withDB {
		values = append(values, s.db.name)
	}
	if m.maxStatements > 0 {
		values = append(values, s.statement)
	}
	h, total := m.histogram(d.duration, st, s.created, values)
	ch <- m.counter(d.queries, float64(total), s.created, values)
	ch <- m.counter(d.slow, float64(slow), s.created, values)
	ch <- m.counter(d.errors, float64(errs), s.created, values)
	ch <- h
	return n
}

// histogram returns the histogram sample of st, with cumulative buckets
// from its counters and the sum read last, and its count.
func (m *Middleware) histogram(d *prometheus.Desc, st *seriesCounts, created time.Time, values []string) (prometheus.Metric, uint64) {
	var n uint64
	cum := make(map[float64]uint64, len(m.bounds))
	for i, b := range m.bounds {
		n += st.buckets[i].Load()
		cum[b] = n
	}
	n += st.buckets[len(m.bounds)].Load()
	sum := time.Duration(st.sum.Load()).Seconds()
	h, err := prometheus.NewConstHistogramWithCreatedTimestamp(d, n, sum, cum, created, values...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err), n
	}
	return h, n
}

// counter returns a counter sample with the series' creation time (as
// client_golang's own counters carry it), or an invalid metric that makes
// the scrape report the error.
func (m *Middleware) counter(d *prometheus.Desc, v float64, created time.Time, values []string) prometheus.Metric {
	c, err := prometheus.NewConstMetricWithCreatedTimestamp(d, prometheus.CounterValue, v, created, values...)
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

// record accounts for one statement of kind k in the label set s that
// took d and ended with err (nil on success). The bucket is counted first
// and the slow and error counts last: see Collect and Stats.
func (m *Middleware) record(ctx context.Context, s *labelSet, k kind, d time.Duration, err error, query string) {
	if d < 0 {
		d = 0 // a clock step backwards is not a negative duration
	}
	st := &s.kinds[k]
	st.buckets[bucketIndex(m.bounds, d.Seconds())].Add(1)
	st.sum.Add(int64(d))
	m.stats[k].observe(d)
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
// query_type, duration, statement (when the statement has a name, whether
// or not the statement label is on, and even when the label folded it into
// StatementOverflow) and sql, the statement's Fingerprint: literals
// replaced by ?, so that no value written into the SQL text reaches the
// log. Bound parameter values are never logged either: they can hold
// personal data, and the middleware never looks at them.
func (m *Middleware) logSlow(ctx context.Context, k kind, d time.Duration, query string) {
	attrs := [4]slog.Attr{
		slog.String(LabelQueryType, string(kindTypes[k])),
		slog.Duration("duration", d),
	}
	n := 2
	if name := StatementName(ctx, query); name != "" {
		attrs[n] = slog.String(LabelStatement, strings.ToValidUTF8(name, "\uFFFD"))
		n++
	}
	sql := ""
	if m.maxSQL > 0 {
		sql = truncate(Fingerprint(query), m.maxSQL)
	}
	attrs[n] = slog.String("sql", sql)
	m.logger.LogAttrs(ctx, slog.LevelWarn, "slow query", attrs[:n+1]...)
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

// recordTx accounts for one transaction of db.
func (m *Middleware) recordTx(db *database, o outcome, d time.Duration) {
	if d < 0 {
		d = 0
	}
	st := &db.tx[o]
	st.buckets[bucketIndex(m.bounds, d.Seconds())].Add(1)
	st.sum.Add(int64(d))
	m.txStats.durations.observe(d)
	m.txStats.outcomes[o].Add(1) // after the histogram: see Stats
}

// Stats returns a snapshot of what the middleware recorded since New. It
// is safe to call during traffic; it copies about 100 KiB of counters, so
// call it for a summary or a debug page, not per query.
func (m *Middleware) Stats() Stats {
	s := Stats{ByType: make([]TypeStats, 0, numKinds)}
	all := newHistSnapshot()
	dbs := m.databases()
	for k := range numKinds {
		// slow and errors are incremented after the histogram and read
		// before it, so a snapshot never has more slow queries than
		// queries; the sums are added before the histogram and read
		// after it, so they include every counted statement.
		ts := TypeStats{Type: kindTypes[k]}
		for _, db := range dbs {
			for _, set := range db.sets() {
				ts.Slow += set.kinds[k].slow.Load()
				ts.Errors += set.kinds[k].errors.Load()
			}
		}
		h := newHistSnapshot()
		h.add(&m.stats[k])
		for _, db := range dbs {
			for _, set := range db.sets() {
				h.sum += set.kinds[k].sum.Load()
			}
		}
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
	for _, db := range dbs {
		for o := range db.tx {
			tx.sum += db.tx[o].sum.Load()
		}
	}
	s.Tx = TxStats{
		Commits:   m.txStats.outcomes[txCommit].Load(),
		Rollbacks: m.txStats.outcomes[txRollback].Load(),
		Errors:    m.txStats.outcomes[txError].Load(),
		Duration:  tx.stats(),
	}
	return s
}
