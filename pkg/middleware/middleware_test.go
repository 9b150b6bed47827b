package middleware

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want []string // substrings of the error, one per expected problem
	}{
		{"unsorted buckets are rejected", []Option{WithBuckets([]float64{0.1, 0.05, 1})}, []string{"buckets[1] 0.05: must be greater than buckets[0] 0.1"}},
		{"duplicate buckets are rejected", []Option{WithBuckets([]float64{0.1, 0.1})}, []string{"buckets[1] 0.1: must be greater"}},
		{"empty buckets are rejected", []Option{WithBuckets(nil)}, []string{"buckets: must not be empty"}},
		{"a negative bucket is rejected", []Option{WithBuckets([]float64{-1, 0.1})}, []string{"buckets[0] -1: must be finite and positive"}},
		{"an infinite bucket is rejected", []Option{WithBuckets([]float64{0.1, posInf()})}, []string{"buckets[1] +Inf: must be finite and positive"}},
		{"buckets without the slow threshold are rejected", []Option{WithBuckets([]float64{0.05, 0.2})}, []string{"must contain the slow threshold 100ms (0.1 s)"}},
		{"a custom threshold must be a bucket too", []Option{WithSlowThreshold(300 * time.Millisecond)}, []string{"must contain the slow threshold 300ms"}},
		{"a zero threshold is rejected", []Option{WithSlowThreshold(0)}, []string{"slow threshold 0s: must be positive"}},
		{"a negative SQL length is rejected", []Option{WithMaxSQLLength(-1)}, []string{"max SQL length -1: must not be negative"}},
		{"every problem is reported at once", []Option{WithSlowThreshold(-time.Second), WithMaxSQLLength(-5), WithBuckets([]float64{2, 1})},
			[]string{"slow threshold -1s", "max SQL length -5", "buckets[1] 1: must be greater"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.opts...)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error", m)
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("error %q does not wrap ErrInvalidOption", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func posInf() float64 { return 1 / zero }

var zero = 0.0

func TestNewAcceptsValidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"no options use the defaults", nil},
		{"a threshold that is a default bucket", []Option{WithSlowThreshold(250 * time.Millisecond)}},
		{"custom buckets containing the threshold", []Option{WithSlowThreshold(50 * time.Millisecond), WithBuckets([]float64{0.01, 0.05, 0.3})}},
		{"a zero SQL length", []Option{WithMaxSQLLength(0)}},
		{"a nil option is ignored", []Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDefaultBucketsHoldTheThresholds(t *testing.T) {
	b := DefaultBuckets()
	for _, want := range []float64{DefaultSlowThreshold.Seconds(), 0.1, 0.25, 0.5, 1} {
		if !slices.Contains(b, want) {
			t.Errorf("DefaultBuckets() %v lacks %v", b, want)
		}
	}
	b[0] = 42
	if DefaultBuckets()[0] == 42 {
		t.Error("DefaultBuckets returns a shared slice")
	}
}

func TestRegisteringTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(WithRegisterer(reg)); err != nil {
		t.Fatal(err)
	}
	_, err := New(WithRegisterer(reg))
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second New on the same registry: err = %v, want AlreadyRegisteredError", err)
	}
}

// family returns the gathered metric family name, or nil.
func family(t *testing.T, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// series returns the gathered sample of family name whose label has value.
func series(t *testing.T, g prometheus.Gatherer, name, label, value string) *dto.Metric {
	t.Helper()
	mf := family(t, g, name)
	if mf == nil {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				return m
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return nil
}

// sample returns the counter value, or the histogram's sample count, of
// the series of family name whose label has value.
func sample(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	m := series(t, g, name, label, value)
	if h := m.GetHistogram(); h != nil {
		return float64(h.GetSampleCount())
	}
	return m.GetCounter().GetValue()
}

func TestMetricsMatchTheContract(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	if err := m.RegisterDBStats(db, "main"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf
	}
	for _, d := range Contract() {
		mf, ok := got[d.Name]
		if !ok {
			t.Errorf("contract metric %s is not exported", d.Name)
			continue
		}
		delete(got, d.Name)
		want := map[MetricKind]dto.MetricType{KindCounter: dto.MetricType_COUNTER, KindGauge: dto.MetricType_GAUGE, KindHistogram: dto.MetricType_HISTOGRAM}[d.Kind]
		if mf.GetType() != want {
			t.Errorf("%s: type %s, contract says %s", d.Name, mf.GetType(), d.Kind)
		}
		if mf.GetHelp() != d.Help {
			t.Errorf("%s: help %q, contract says %q", d.Name, mf.GetHelp(), d.Help)
		}
		for _, m := range mf.GetMetric() {
			var names []string
			for _, lp := range m.GetLabel() {
				names = append(names, lp.GetName())
			}
			if !slices.Equal(names, d.Labels) {
				t.Errorf("%s: labels %v, contract says %v", d.Name, names, d.Labels)
			}
		}
	}
	for name := range got {
		t.Errorf("exported metric %s is not in the contract", name)
	}
	// Every query type and outcome has its series before any traffic.
	for _, qt := range QueryTypes {
		for _, name := range []string{MetricQueriesTotal, MetricSlowQueriesTotal, MetricQueryErrorsTotal, MetricQueryDuration} {
			if v := sample(t, reg, name, LabelQueryType, string(qt)); v != 0 {
				t.Errorf("%s{%s=%q} = %v before any query", name, LabelQueryType, qt, v)
			}
		}
	}
	for _, o := range TxOutcomes {
		sample(t, reg, MetricTxDuration, LabelOutcome, string(o))
	}
	// The histogram's buckets are the configured ones.
	h := family(t, reg, MetricQueryDuration).GetMetric()[0].GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if !slices.Equal(bounds, DefaultBuckets()) {
		t.Errorf("histogram bounds %v, want %v", bounds, DefaultBuckets())
	}
}

func TestPoolMetricNamesAreTheCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	db.SetMaxOpenConns(7)
	if err := m.RegisterDBStats(db, "orders"); err != nil {
		t.Fatal(err)
	}
	var exported []string
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "go_sql_") {
			exported = append(exported, mf.GetName())
			for _, s := range mf.GetMetric() {
				if l := s.GetLabel(); len(l) != 1 || l[0].GetName() != LabelDBName || l[0].GetValue() != "orders" {
					t.Errorf("%s: labels %v, want %s=orders", mf.GetName(), l, LabelDBName)
				}
			}
		}
	}
	want := []string{MetricPoolMaxOpen, MetricPoolOpen, MetricPoolInUse, MetricPoolIdle, MetricPoolWaitCount,
		MetricPoolWaitDuration, MetricPoolMaxIdleClosed, MetricPoolMaxIdleTimeClosed, MetricPoolMaxLifetimeClosed}
	slices.Sort(exported)
	slices.Sort(want)
	if !slices.Equal(exported, want) {
		t.Errorf("collector exports %v, contract has %v", exported, want)
	}
	if v := testutil.ToFloat64(gaugeOf(t, reg, MetricPoolMaxOpen)); v != 7 {
		t.Errorf("%s = %v, want 7", MetricPoolMaxOpen, v)
	}
	if err := m.RegisterDBStats(db, "orders"); err == nil || !strings.Contains(err.Error(), `register pool metrics of "orders"`) {
		t.Errorf("registering a name twice: err = %v", err)
	}
	unregistered := newTestMiddleware(t)
	if err := unregistered.RegisterDBStats(db, "x"); err != nil {
		t.Errorf("RegisterDBStats without a registerer: %v, want nil", err)
	}
}

// gaugeOf returns a collector that yields the single gauge named name.
func gaugeOf(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	mf := family(t, g, name)
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("want one series of %s", name)
	}
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
	gauge.Set(mf.GetMetric()[0].GetGauge().GetValue())
	return gauge
}

// slowLines returns the slow-query records a JSON handler wrote.
func slowLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "slow query" {
			out = append(out, rec)
		}
	}
	return out
}

func TestQueriesAreCountedClassifiedAndTimed(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	m, err := New(WithRegisterer(reg), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))),
		WithSlowThreshold(50*time.Millisecond), WithMaxSQLLength(40))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	ctx := context.Background()
	exec := func(q string, args ...any) error { _, err := db.ExecContext(ctx, q, args...); return err }

	must(t, exec("INSERT INTO t VALUES (?)", 1))
	must(t, exec("-- c\nINSERT INTO t VALUES (?)", 2))
	must(t, exec("UPDATE t SET a = 1"))
	if err := exec("DELETE ERR"); !errors.Is(err, errFake) {
		t.Fatalf("err = %v, want errFake unchanged", err)
	}
	must(t, exec("CREATE TABLE x"))
	// ErrSkip from the connection is not counted; the prepared execution is.
	must(t, exec("DELETE SKIP"))
	// A query's time runs to Rows.Close, so a slow iteration is slow.
	rows, err := db.QueryContext(ctx, "SELECT v FROM t", 1, 2)
	must(t, err)
	time.Sleep(60 * time.Millisecond)
	for rows.Next() {
	}
	must(t, rows.Close())
	// A statement slow in the driver, with a long SQL text.
	long := "SELECT sleep=60ms " + strings.Repeat("x", 100)
	must(t, exec(long))
	// An error during iteration counts as an error of the query.
	rows, err = db.QueryContext(ctx, "SELECT NEXTERR", 1, 2)
	must(t, err)
	for rows.Next() {
	}
	if !errors.Is(rows.Err(), errFake) {
		t.Fatalf("rows.Err() = %v, want errFake", rows.Err())
	}
	// ErrBadConn passes through to database/sql, which retries on new
	// connections; each attempt reached the driver and counts.
	_, err = db.ExecContext(ctx, "UPDATE BADCONN")
	if err != nil {
		t.Fatalf("ErrBadConn was not retried: %v", err)
	}
	// Pings and session resets are not queries.
	must(t, db.PingContext(ctx))

	want := map[QueryType]struct{ total, slow, errs float64 }{
		QuerySelect: {3, 2, 1},
		QueryInsert: {2, 0, 0},
		QueryUpdate: {3, 0, 1}, // UPDATE t, then BADCONN's failed attempt and its retry
		QueryDelete: {2, 0, 1},
		QueryOther:  {1, 0, 0},
	}
	s := m.Stats()
	for qt, w := range want {
		v := string(qt)
		got := [4]float64{
			sample(t, reg, MetricQueriesTotal, LabelQueryType, v),
			sample(t, reg, MetricSlowQueriesTotal, LabelQueryType, v),
			sample(t, reg, MetricQueryErrorsTotal, LabelQueryType, v),
			sample(t, reg, MetricQueryDuration, LabelQueryType, v),
		}
		if got != [4]float64{w.total, w.slow, w.errs, w.total} {
			t.Errorf("%s: total, slow, errors, histogram count = %v, want %v %v %v %v", qt, got, w.total, w.slow, w.errs, w.total)
		}
		ts := s.Type(qt)
		if [3]float64{float64(ts.Total), float64(ts.Slow), float64(ts.Errors)} != [3]float64{w.total, w.slow, w.errs} {
			t.Errorf("Stats %s: %d %d %d, want %v", qt, ts.Total, ts.Slow, ts.Errors, w)
		}
	}
	if s.Total != 11 || s.Slow != 2 || s.Errors != 3 {
		t.Errorf("Stats totals: %d %d %d, want 11 2 3", s.Total, s.Slow, s.Errors)
	}
	if sel := s.Type(QuerySelect).Duration; sel.Max < 60*time.Millisecond || sel.Min > 50*time.Millisecond {
		t.Errorf("SELECT durations %+v: want max ≥ 60ms (iteration included) and a fast min", sel)
	}

	lines := slowLines(t, &logs)
	if len(lines) != 2 {
		t.Fatalf("%d slow-query lines, want 2:\n%s", len(lines), logs.String())
	}
	first, second := lines[0], lines[1]
	if first["query_type"] != "SELECT" || first["sql"] != "SELECT v FROM t" || first["level"] != "WARN" {
		t.Errorf("first slow line %v", first)
	}
	if d, ok := first["duration"].(float64); !ok || time.Duration(d) < 60*time.Millisecond {
		t.Errorf("first slow line duration %v, want ≥ 60ms in nanoseconds", first["duration"])
	}
	// The SQL is the fingerprint (60ms is a number), then truncated.
	if want := ("SELECT sleep=? " + strings.Repeat("x", 100))[:40] + "…"; second["sql"] != want {
		t.Errorf("truncated sql = %q, want %q", second["sql"], want)
	}
	if strings.Contains(logs.String(), "\"1\"") || strings.Contains(logs.String(), "args") {
		t.Errorf("slow-query lines mention arguments:\n%s", logs.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTransactionsAreTimedByOutcome(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	must(t, err)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	for range 2 {
		tx, err := db.Begin()
		must(t, err)
		_, err = tx.Exec("INSERT x")
		must(t, err)
		must(t, tx.Commit())
	}
	tx, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	must(t, err)
	must(t, tx.Rollback())
	if c, r, e := sample(t, reg, MetricTxDuration, LabelOutcome, "commit"),
		sample(t, reg, MetricTxDuration, LabelOutcome, "rollback"),
		sample(t, reg, MetricTxDuration, LabelOutcome, "error"); c != 2 || r != 1 || e != 0 {
		t.Errorf("transactions commit %v rollback %v error %v, want 2 1 0", c, r, e)
	}
	s := m.Stats()
	if s.Tx.Commits != 2 || s.Tx.Rollbacks != 1 || s.Tx.Errors != 0 || s.Tx.Duration.Count != 3 {
		t.Errorf("Stats.Tx = %+v", s.Tx)
	}
	if s.Total != 2 || s.Type(QueryInsert).Total != 2 {
		t.Errorf("Begin/Commit/Rollback were counted as queries: total %d", s.Total)
	}
}

func TestUninstallStopsRecordingOnLiveConnections(t *testing.T) {
	m := newTestMiddleware(t, WithInstalled(false))
	d := noopDriver()
	db := sql.OpenDB(m.WrapConnector(fakeConnector{d}))
	defer db.Close()
	db.SetMaxOpenConns(1)
	run := func() {
		t.Helper()
		_, err := db.Exec("INSERT x")
		must(t, err)
		var v int
		must(t, db.QueryRow("SELECT 1").Scan(&v))
		stmt, err := db.Prepare("UPDATE x")
		must(t, err)
		_, err = stmt.Exec()
		must(t, err)
		must(t, stmt.Close())
		tx, err := db.Begin()
		must(t, err)
		must(t, tx.Commit())
	}
	run()
	if s := m.Stats(); s.Total != 0 || s.Tx.Commits != 0 || m.Installed() {
		t.Fatalf("recorded while not installed: %+v", s)
	}
	m.Install()
	run()
	if s := m.Stats(); s.Total != 3 || s.Tx.Commits != 1 {
		t.Fatalf("after Install: total %d, commits %d; want 3, 1", s.Total, s.Tx.Commits)
	}
	// A query started while installed is recorded even if it ends after.
	rows, err := db.Query("SELECT 1")
	must(t, err)
	m.Uninstall()
	must(t, rows.Close())
	run()
	if s := m.Stats(); s.Total != 4 || s.Tx.Commits != 1 {
		t.Fatalf("after Uninstall: total %d, commits %d; want 4, 1", s.Total, s.Tx.Commits)
	}
}

func TestConcurrentQueriesAreAllCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	must(t, err)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	db.SetMaxOpenConns(4)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Readers of stats and metrics run alongside the writers.
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				s := m.Stats()
				if s.Slow > s.Total {
					t.Errorf("snapshot with more slow than total: %+v", s)
				}
				_, _ = reg.Gather()
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if (w+i)%2 == 0 {
					_, err = db.Exec("INSERT x", i)
				} else {
					var v any
					err = db.QueryRow("SELECT x", i).Scan(&v)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	s := m.Stats()
	if s.Total != workers*each || s.Type(QueryInsert).Total != workers*each/2 || s.Type(QuerySelect).Total != workers*each/2 {
		t.Errorf("Stats total %d (INSERT %d, SELECT %d), want %d", s.Total, s.Type(QueryInsert).Total, s.Type(QuerySelect).Total, workers*each)
	}
	if got := sample(t, reg, MetricQueriesTotal, LabelQueryType, "INSERT") + sample(t, reg, MetricQueriesTotal, LabelQueryType, "SELECT"); got != workers*each {
		t.Errorf("%s = %v, want %d", MetricQueriesTotal, got, workers*each)
	}
}

func TestInstallToggleRacesWithQueries(t *testing.T) {
	m := newTestMiddleware(t)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if w == 0 && i%10 == 0 {
					if m.Installed() {
						m.Uninstall()
					} else {
						m.Install()
					}
				}
				var v any
				if err := db.QueryRow("SELECT x", i).Scan(&v); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := m.Stats(); s.Total == 0 || s.Total > 800 {
		t.Errorf("total %d, want between 1 and 800", s.Total)
	}
}

func TestWrapDriverAndWrapDSN(t *testing.T) {
	m := newTestMiddleware(t)
	plain := &fakeDriver{connMask: allConnCaps, stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: &callLog{}}
	ctxDrv := &contextFakeDriver{fakeDriver: plain}
	tests := []struct {
		name      string
		connector func() driver.Connector
		wantCalls []string
	}{
		{"WrapDSN opens a driver without DriverContext with Open", func() driver.Connector { return m.WrapDSN(plain, "dsn-1") }, []string{"Open dsn-1"}},
		{"WrapDSN uses DriverContext when the driver has it", func() driver.Connector { return m.WrapDSN(ctxDrv, "dsn-2") }, []string{"OpenConnector dsn-2", "Connect"}},
		{"WrapConnector uses the connector", func() driver.Connector { return m.WrapConnector(fakeConnector{plain}) }, []string{"Connect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain.log = &callLog{}
			db := sql.OpenDB(tt.connector())
			must(t, db.Ping())
			got := plain.log.snapshot()
			if !slices.Equal(got[:len(tt.wantCalls)], tt.wantCalls) {
				t.Errorf("driver calls %v, want prefix %v", got, tt.wantCalls)
			}
			must(t, db.Close())
		})
	}
	// A wrapped driver is a DriverContext exactly when the driver is.
	if _, ok := m.WrapDriver(plain).(driver.DriverContext); ok {
		t.Error("wrapped plain driver has OpenConnector")
	}
	wd, ok := m.WrapDriver(ctxDrv).(driver.DriverContext)
	if !ok {
		t.Fatal("wrapped DriverContext driver lacks OpenConnector")
	}
	c, err := wd.OpenConnector("dsn-3")
	must(t, err)
	if c.Driver() != wd.(driver.Driver) {
		t.Error("the wrapped connector's Driver is not the wrapped driver")
	}
	before := m.Stats().Total
	db := sql.OpenDB(c)
	_, err = db.Exec("INSERT x")
	must(t, err)
	must(t, db.Close())
	if m.Stats().Total != before+1 {
		t.Error("a connection of OpenConnector is not instrumented")
	}
	// OpenConnector's error surfaces on first use, unchanged.
	ctxDrv.fail = true
	db = sql.OpenDB(m.WrapDSN(ctxDrv, "dsn-4"))
	if err := db.Ping(); !errors.Is(err, errFake) {
		t.Errorf("Ping with a failed OpenConnector: %v, want errFake", err)
	}
	_ = db.Close()
	// A connector that is an io.Closer is closed with the database.
	cc := &closingFakeConnector{fakeConnector: fakeConnector{plain}}
	w := m.WrapConnector(cc)
	if _, ok := w.(interface{ Close() error }); !ok {
		t.Fatal("wrapped closing connector is not an io.Closer")
	}
	if _, ok := m.WrapConnector(fakeConnector{plain}).(interface{ Close() error }); ok {
		t.Error("wrapped connector is an io.Closer but the connector is not")
	}
	must(t, sql.OpenDB(w).Close())
	if !cc.closed {
		t.Error("DB.Close did not close the wrapped connector")
	}
}

func TestRawReachesTheDriversConnection(t *testing.T) {
	m := newTestMiddleware(t)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	conn, err := db.Conn(context.Background())
	must(t, err)
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		if _, ok := dc.(*fakeConn); ok {
			return fmt.Errorf("database/sql handed out the bare connection")
		}
		if want := reflect.TypeOf(noopDriver().newConn()); reflect.TypeOf(Raw(dc)) != want {
			return fmt.Errorf("Raw returned %T, want the driver's %v", Raw(dc), want)
		}
		if Raw(Raw(dc)) != Raw(dc) {
			return fmt.Errorf("Raw of a bare connection is not itself")
		}
		return nil
	})
	must(t, err)
}
