package pgxtrace_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// gather returns the go_sql_* families of c, by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if mf.GetType() == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// The collector has client_golang's DBStats families exactly: names, help,
// types and labels.
func TestStatsCollectorHasTheDBStatsFamilies(t *testing.T) {
	dsn := postgresDSN(t)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	got := gather(t, pgxtrace.NewStatsCollector(pool, "app"))
	want := gather(t, collectors.NewDBStatsCollector(&sql.DB{}, "app"))
	if len(got) != len(want) {
		t.Fatalf("%d families, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
			t.Errorf("%s: help %q type %v, want %q %v", name, g.GetHelp(), g.GetType(), w.GetHelp(), w.GetType())
		}
		gl, wl := g.GetMetric()[0].GetLabel(), w.GetMetric()[0].GetLabel()
		if len(gl) != 1 || gl[0].GetName() != wl[0].GetName() || gl[0].GetValue() != wl[0].GetValue() {
			t.Errorf("%s: labels %v, want %v", name, gl, wl)
		}
	}
}

// Waiting for a connection of a full pool shows in the wait counters, and
// the gauges follow the pool.
func TestStatsCollectorCountsWaits(t *testing.T) {
	dsn := postgresDSN(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c := pgxtrace.NewStatsCollector(pool, "app")
	held, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := gather(t, c)
	for name, want := range map[string]float64{
		"go_sql_max_open_connections": 1, "go_sql_open_connections": 1,
		"go_sql_in_use_connections": 1, "go_sql_idle_connections": 0,
	} {
		if got := value(s[name]); got != want {
			t.Errorf("%s = %v while holding the only connection, want %v", name, got, want)
		}
	}
	waitCount := value(s["go_sql_wait_count_total"])
	done := make(chan error)
	go func() {
		c, err := pool.Acquire(t.Context())
		if err == nil {
			c.Release()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	held.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An acquire that finds an idle connection does not wait.
	idle, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	idle.Release()
	s = gather(t, c)
	if got := value(s["go_sql_wait_count_total"]); got != waitCount+1 {
		t.Errorf("go_sql_wait_count_total = %v after one wait, want %v", got, waitCount+1)
	}
	if got := value(s["go_sql_wait_duration_seconds_total"]); got <= 0 {
		t.Errorf("go_sql_wait_duration_seconds_total = %v after a wait, want > 0", got)
	}
	if got := value(s["go_sql_idle_connections"]); got != 1 {
		t.Errorf("go_sql_idle_connections = %v after release, want 1", got)
	}
}
