package pgxtrace_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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

// An acquire that gives up waiting for a full pool (its deadline passes)
// counts as a wait, for at least the time until its deadline, as in
// database/sql; one whose context had ended before it started does not,
// and neither does one under a pool without the tracer.
func TestStatsCollectorCountsWaitsThatGaveUp(t *testing.T) {
	dsn := postgresDSN(t)
	// Untraced, traced by default (no timing of acquires, nothing counted)
	// and traced WithGiveUpWaits (counted, as database/sql does).
	for _, mode := range []string{"untraced", "traced", "traced-give-ups"} {
		traced := mode == "traced-give-ups"
		t.Run(mode, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxConns = 1
			if mode != "untraced" {
				m, err := middleware.New(middleware.WithRegisterer(nil), middleware.WithLogger(nil))
				if err != nil {
					t.Fatal(err)
				}
				var opts []pgxtrace.Option
				if traced {
					opts = append(opts, pgxtrace.WithGiveUpWaits())
				}
				// Combined with another tracer, as a service may do.
				cfg.ConnConfig.Tracer = multitracer.New(pgxtrace.New(m, opts...), noopTracer{})
			}
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
			defer held.Release()
			s := gather(t, c)
			count0, dur0 := value(s["go_sql_wait_count_total"]), value(s["go_sql_wait_duration_seconds_total"])

			ended, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := pool.Acquire(ended); !errors.Is(err, context.Canceled) {
				t.Fatalf("acquire under an ended context: %v, want context.Canceled", err)
			}
			const timeout = 50 * time.Millisecond
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			if _, err := pool.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("acquire from a full pool: %v, want context.DeadlineExceeded", err)
			}
			s = gather(t, c)
			count, dur := value(s["go_sql_wait_count_total"])-count0, value(s["go_sql_wait_duration_seconds_total"])-dur0
			if !traced {
				if count != 0 || dur != 0 {
					t.Errorf("%s: waits +%v, +%vs; want +0, +0s", mode, count, dur)
				}
				return
			}
			if count != 1 {
				t.Errorf("go_sql_wait_count_total +%v after one wait that gave up, want +1", count)
			}
			if dur < timeout.Seconds() {
				t.Errorf("go_sql_wait_duration_seconds_total +%v after a wait of %v, want at least that", dur, timeout)
			}
		})
	}
}

// The same waits through database/sql, as the reference: one wait that
// gave up counts once, an ended context none.
func TestDatabaseSQLCountsWaitsThatGaveUp(t *testing.T) {
	dsn := postgresDSN(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	db.SetMaxOpenConns(1)
	held, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.Conn(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("conn under an ended context: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := db.Conn(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("conn from a full pool: %v", err)
	}
	if st := db.Stats(); st.WaitCount != 1 || st.WaitDuration < 50*time.Millisecond {
		t.Errorf("database/sql: WaitCount %d, WaitDuration %v; want 1, ≥ 50ms", st.WaitCount, st.WaitDuration)
	}
}

// noopTracer is another tracer beside pgxtrace's in a multitracer.
type noopTracer struct{}

func (noopTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (noopTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (noopTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return context.WithValue(ctx, noopTracer{}, 1)
}
func (noopTracer) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {}
