package pgxtrace

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// NewStatsCollector returns a prometheus.Collector that exports pool's
// figures, read from pool.Stat() at scrape time, under the names, help
// texts and db_name label of client_golang's collectors.NewDBStatsCollector
// (the contract's middleware.MetricPool* names), so the dashboards and
// alerts written for database/sql pools work unchanged. Register one per
// pool, with distinct names for distinct pools.
//
// The mapping from pgxpool.Stat:
//
//	go_sql_max_open_connections        MaxConns
//	go_sql_open_connections            TotalConns (acquired, idle and being established, as database/sql counts a connection being opened)
//	go_sql_in_use_connections          AcquiredConns
//	go_sql_idle_connections            IdleConns
//	go_sql_wait_count_total            EmptyAcquireCount (acquires that waited because no connection was idle), plus the acquires that gave up waiting
//	go_sql_wait_duration_seconds_total EmptyAcquireWaitTime (the time those acquires waited), plus the time the acquires that gave up waited
//	go_sql_max_idle_time_closed_total  MaxIdleDestroyCount (closed after MaxConnIdleTime)
//	go_sql_max_lifetime_closed_total   MaxLifetimeDestroyCount (closed after MaxConnLifetime)
//	go_sql_max_idle_closed_total       always 0: pgxpool has no limit on idle connections (database/sql's SetMaxIdleConns), so it never closes one for that reason
//
// pgxpool counts only the acquires that succeeded in EmptyAcquireCount and
// EmptyAcquireWaitTime, where database/sql counts a wait that the caller's
// context ended too. Those are the waits of a pool too small for its load,
// when requests time out, so they must not vanish from the figures: when
// the pool's ConnConfig.Tracer is a Tracer (or a multitracer.Tracer holding
// one), which pgxpool calls as an AcquireTracer, the acquires that ended
// with the context's cancellation or deadline and their time are added to
// both counters. Without it the two counters hold the successful waits
// only.
//
// pgxpool's AcquireCount, AcquireDuration (which includes acquires that
// did not wait), CanceledAcquireCount (which includes acquires whose
// context had ended before they started), ConstructingConns and
// NewConnsCount have no database/sql equivalent and are not exported.
func NewStatsCollector(pool *pgxpool.Pool, dbName string) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, nil, prometheus.Labels{middleware.LabelDBName: dbName})
	}
	return &statsCollector{
		pool:              pool,
		waits:             tracerOf(pool.Config().ConnConfig.Tracer).waitsOf(pool),
		maxOpen:           d(middleware.MetricPoolMaxOpen, "Maximum number of open connections to the database."),
		open:              d(middleware.MetricPoolOpen, "The number of established connections both in use and idle."),
		inUse:             d(middleware.MetricPoolInUse, "The number of connections currently in use."),
		idle:              d(middleware.MetricPoolIdle, "The number of idle connections."),
		waitCount:         d(middleware.MetricPoolWaitCount, "The total number of connections waited for."),
		waitDuration:      d(middleware.MetricPoolWaitDuration, "The total time blocked waiting for a new connection."),
		maxIdleClosed:     d(middleware.MetricPoolMaxIdleClosed, "The total number of connections closed due to SetMaxIdleConns."),
		maxIdleTimeClosed: d(middleware.MetricPoolMaxIdleTimeClosed, "The total number of connections closed due to SetConnMaxIdleTime."),
		maxLifetimeClosed: d(middleware.MetricPoolMaxLifetimeClosed, "The total number of connections closed due to SetConnMaxLifetime."),
	}
}

type statsCollector struct {
	pool                                                *pgxpool.Pool
	waits                                               *failedWaits // nil without a Tracer
	maxOpen, open, inUse, idle                          *prometheus.Desc
	waitCount, waitDuration                             *prometheus.Desc
	maxIdleClosed, maxIdleTimeClosed, maxLifetimeClosed *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDuration,
		c.maxIdleClosed, c.maxIdleTimeClosed, c.maxLifetimeClosed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxOpen, float64(s.MaxConns()))
	gauge(c.open, float64(s.TotalConns()))
	gauge(c.inUse, float64(s.AcquiredConns()))
	gauge(c.idle, float64(s.IdleConns()))
	waits, waited := s.EmptyAcquireCount(), s.EmptyAcquireWaitTime()
	if c.waits != nil {
		waits += c.waits.count.Load()
		waited += time.Duration(c.waits.nanos.Load())
	}
	counter(c.waitCount, float64(waits))
	counter(c.waitDuration, waited.Seconds())
	counter(c.maxIdleClosed, 0)
	counter(c.maxIdleTimeClosed, float64(s.MaxIdleDestroyCount()))
	counter(c.maxLifetimeClosed, float64(s.MaxLifetimeDestroyCount()))
}

// failedWaits counts the acquires of one pool that ended because their
// context did, and the time they waited.
type failedWaits struct {
	count, nanos atomic.Int64
}

// acquireCtx carries the start of an acquire from TraceAcquireStart to
// TraceAcquireEnd.
type acquireCtx struct {
	context.Context
	start time.Duration
}

// acquireKey finds an acquireCtx under contexts that other tracers of a
// multitracer derived from it.
type acquireKey struct{}

// Value implements context.Context.
func (c *acquireCtx) Value(key any) any {
	if key == (acquireKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// TraceAcquireStart implements pgxpool.AcquireTracer; it does nothing
// unless the Tracer was made WithGiveUpWaits. Then only an acquire that
// can give up waiting is timed: its context can end and has not ended yet
// (pgxpool returns at once from an acquire whose context has ended, which
// database/sql does not count as a wait either). Timing it allocates the
// context that carries its start, once per acquire; an acquire under a
// context that cannot end (context.Background) costs nothing.
func (t *Tracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	if !t.giveUps || ctx.Done() == nil || ctx.Err() != nil {
		return ctx
	}
	return &acquireCtx{Context: ctx, start: clock()}
}

// TraceAcquireEnd implements pgxpool.AcquireTracer: an acquire that ended
// with its context's cancellation or deadline counts as a wait of the pool,
// for the time it took. A successful acquire is in pgxpool.Stat already
// (as a wait if it waited); any other failure (a closed pool, a connection
// that could not be established) is not a wait, as in database/sql.
func (t *Tracer) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if data.Err == nil || !(errors.Is(data.Err, context.Canceled) || errors.Is(data.Err, context.DeadlineExceeded)) {
		return
	}
	a, ok := ctx.(*acquireCtx)
	if !ok {
		if a, ok = ctx.Value(acquireKey{}).(*acquireCtx); !ok {
			return
		}
	}
	w := t.waitsOf(pool)
	w.count.Add(1)
	w.nanos.Add(int64(clock() - a.start))
}

// waitsOf returns pool's failed waits, creating them; nil for a nil Tracer.
func (t *Tracer) waitsOf(pool *pgxpool.Pool) *failedWaits {
	if t == nil {
		return nil
	}
	if w, ok := t.waits.Load(pool); ok {
		return w.(*failedWaits)
	}
	w, _ := t.waits.LoadOrStore(pool, new(failedWaits))
	return w.(*failedWaits)
}

// tracerOf returns the Tracer among a pool's tracers, or nil.
func tracerOf(tr pgx.QueryTracer) *Tracer {
	switch v := tr.(type) {
	case *Tracer:
		return v
	case *multitracer.Tracer:
		for _, a := range v.PoolAcquireTracers {
			if t, ok := a.(*Tracer); ok {
				return t
			}
		}
	}
	return nil
}
