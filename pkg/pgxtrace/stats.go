package pgxtrace

import (
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
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
//	go_sql_wait_count_total            EmptyAcquireCount (acquires that waited because no connection was idle)
//	go_sql_wait_duration_seconds_total EmptyAcquireWaitTime (the time those acquires waited)
//	go_sql_max_idle_time_closed_total  MaxIdleDestroyCount (closed after MaxConnIdleTime)
//	go_sql_max_lifetime_closed_total   MaxLifetimeDestroyCount (closed after MaxConnLifetime)
//	go_sql_max_idle_closed_total       always 0: pgxpool has no limit on idle connections (database/sql's SetMaxIdleConns), so it never closes one for that reason
//
// pgxpool's AcquireCount, AcquireDuration (which includes acquires that
// did not wait), CanceledAcquireCount, ConstructingConns and NewConnsCount
// have no database/sql equivalent and are not exported.
func NewStatsCollector(pool *pgxpool.Pool, dbName string) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, nil, prometheus.Labels{middleware.LabelDBName: dbName})
	}
	return &statsCollector{
		pool:              pool,
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
	counter(c.waitCount, float64(s.EmptyAcquireCount()))
	counter(c.waitDuration, s.EmptyAcquireWaitTime().Seconds())
	counter(c.maxIdleClosed, 0)
	counter(c.maxIdleTimeClosed, float64(s.MaxIdleDestroyCount()))
	counter(c.maxLifetimeClosed, float64(s.MaxLifetimeDestroyCount()))
}
