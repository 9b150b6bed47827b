package middleware

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// labelsOf returns a sample's labels as a map.
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// valueOf returns a counter's value or a histogram's count.
func valueOf(m *dto.Metric) float64 {
	if h := m.GetHistogram(); h != nil {
		return float64(h.GetSampleCount())
	}
	return m.GetCounter().GetValue()
}

// gathered returns, per family, each sample's value keyed by its labels
// written as name=value pairs in the contract's order, and fails the test
// when a family's samples do not carry exactly the contract's labels.
func gathered(t *testing.T, reg *prometheus.Registry, o ContractOptions) map[string]map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	contract := map[string][]string{}
	for _, d := range ContractWith(o) {
		contract[d.Name] = d.Labels
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		want, ok := contract[mf.GetName()]
		if !ok {
			t.Errorf("exported metric %s is not in the contract %+v", mf.GetName(), o)
			continue
		}
		out[mf.GetName()] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			l := labelsOf(m)
			if !slices.Equal(slices.Sorted(maps.Keys(l)), slices.Sorted(slices.Values(want))) {
				// client_golang drops nothing: an empty value is still a label here.
				t.Errorf("%s: labels %v, contract %+v says %v", mf.GetName(), l, o, want)
			}
			var key []string
			for _, n := range want {
				key = append(key, n+"="+l[n])
			}
			out[mf.GetName()][strings.Join(key, ",")] = valueOf(m)
		}
	}
	for name := range contract {
		if _, ok := out[name]; !ok && !strings.HasPrefix(name, "go_sql_") {
			t.Errorf("contract %+v: metric %s is not exported", o, name)
		}
	}
	return out
}

func TestDBNameLabelsEverySeriesOfTheMiddlewareOnceOneWrapperHasAName(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	plain := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer plain.Close()
	must(t, plain.QueryRow("SELECT 1").Scan(new(int64)))
	// No wrapper has a name yet: no series has db_name.
	got := gathered(t, reg, ContractOptions{})
	if v := got[MetricQueriesTotal]["query_type=SELECT"]; v != 1 {
		t.Errorf("before any name: SELECT count %v, want 1", v)
	}

	orders := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}, WithDBName("orders")))
	defer orders.Close()
	billing := sql.OpenDB(m.WrapDSN(noopDriver(), "billing-dsn", WithDBName("billing")))
	defer billing.Close()
	for range 3 {
		must(t, orders.QueryRow("SELECT 1").Scan(new(int64)))
	}
	_, err = billing.Exec("UPDATE t SET v = 1")
	must(t, err)
	_, err = billing.Exec("DELETE ERR")
	if !errors.Is(err, errFake) {
		t.Fatalf("DELETE ERR: %v", err)
	}
	tx, err := orders.Begin()
	must(t, err)
	must(t, tx.Commit())
	must(t, m.RegisterDBStats(orders, "orders"))
	must(t, m.RegisterDBStats(billing, "billing"))

	// Every series now has db_name; the unnamed wrapper's have it empty.
	got = gathered(t, reg, ContractOptions{DBName: true})
	for _, c := range []struct {
		metric, key string
		want        float64
	}{
		{MetricQueriesTotal, "query_type=SELECT,db_name=", 1},
		{MetricQueriesTotal, "query_type=SELECT,db_name=orders", 3},
		{MetricQueriesTotal, "query_type=UPDATE,db_name=billing", 1},
		{MetricQueriesTotal, "query_type=UPDATE,db_name=orders", 0},
		{MetricQueryErrorsTotal, "query_type=DELETE,db_name=billing", 1},
		{MetricQueryDuration, "query_type=SELECT,db_name=orders", 3},
		{MetricTxDuration, "outcome=commit,db_name=orders", 1},
		{MetricTxDuration, "outcome=commit,db_name=billing", 0},
		{MetricTxDuration, "outcome=commit,db_name=", 0},
		{MetricPoolMaxOpen, "db_name=orders", 0},
	} {
		v, ok := got[c.metric][c.key]
		if !ok || v != c.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", c.metric, c.key, v, ok, c.want)
		}
	}
	// Each database has every query type and outcome from the start.
	if n := len(got[MetricQueriesTotal]); n != 3*len(QueryTypes) {
		t.Errorf("%d db_queries_total series, want %d (3 databases × %d types)", n, 3*len(QueryTypes), len(QueryTypes))
	}
	if n := len(got[MetricTxDuration]); n != 3*len(TxOutcomes) {
		t.Errorf("%d transaction series, want %d", n, 3*len(TxOutcomes))
	}
	if s := m.Stats(); s.Total != 6 || s.Errors != 1 || s.Tx.Commits != 1 {
		t.Errorf("Stats total/errors/commits %d/%d/%d, want 6/1/1 across databases", s.Total, s.Errors, s.Tx.Commits)
	}
}

func TestUnnamedDatabaseIsNotExportedWhenEveryWrapperHasAName(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}, WithDBName("a")))
	defer a.Close()
	sql.Register("middleware-labels-test", m.WrapDriver(noopDriver(), WithDBName("b")))
	b, err := sql.Open("middleware-labels-test", "x")
	must(t, err)
	defer b.Close()
	_, err = b.Exec("INSERT 1")
	must(t, err)
	got := gathered(t, reg, ContractOptions{DBName: true})
	for key := range got[MetricQueriesTotal] {
		if strings.HasSuffix(key, "db_name=") {
			t.Errorf("series of the unnamed database %s exported though no wrapper is unnamed", key)
		}
	}
	if v := got[MetricQueriesTotal]["query_type=INSERT,db_name=b"]; v != 1 {
		t.Errorf("INSERT through WrapDriver(…, WithDBName(b)) = %v, want 1", v)
	}
	// Observe records into the unnamed database, which then appears.
	m.Observe(t.Context(), "SELECT 1", time.Millisecond, nil)
	got = gathered(t, reg, ContractOptions{DBName: true})
	if v, ok := got[MetricQueriesTotal]["query_type=SELECT,db_name="]; !ok || v != 1 {
		t.Errorf("after Observe: unnamed SELECT = %v (present %v), want 1", v, ok)
	}
	m.Database("a").Observe(t.Context(), "SELECT 1", time.Millisecond, nil)
	got = gathered(t, reg, ContractOptions{DBName: true})
	if v := got[MetricQueriesTotal]["query_type=SELECT,db_name=a"]; v != 1 {
		t.Errorf("Database(a).Observe: SELECT = %v, want 1", v)
	}
}

func TestStatementNames(t *testing.T) {
	ctx := t.Context()
	named := WithStatement(ctx, "FromContext")
	for _, c := range []struct {
		ctx   context.Context
		query string
		want  string
	}{
		{ctx, "-- name: GetOrder :one\nSELECT 1", "GetOrder"},
		{ctx, " \n\t--name:GetOrder\nSELECT 1", "GetOrder"},
		{ctx, "-- name: get_order_2 :many", "get_order_2"},
		{ctx, "-- name: Größe :one", "Größe"},
		{named, "-- name: GetOrder :one\nSELECT 1", "FromContext"},
		{WithStatement(ctx, ""), "-- name: GetOrder :one", "GetOrder"},
		{ctx, "SELECT 1 -- name: Late", ""},
		{ctx, "/* name: X */ SELECT 1", ""},
		{ctx, "-- name: 2Fast :one", ""},
		{ctx, "-- name: :one", ""},
		{ctx, "-- Name: X", ""},
		{ctx, "--", ""},
		{nil, "-- name: X", "X"},
	} {
		if got := StatementName(c.ctx, c.query); got != c.want {
			t.Errorf("StatementName(%q) = %q, want %q", c.query, got, c.want)
		}
	}
}

func TestNewRejectsANonPositiveStatementMaximum(t *testing.T) {
	for _, max := range []int{0, -1} {
		if _, err := New(WithStatementLabel(max)); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "statement") {
			t.Errorf("WithStatementLabel(%d): err = %v, want ErrInvalidOption naming the statement label", max, err)
		}
	}
}

func TestStatementLabelIsBoundedAndCountsTheOverflow(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil), WithStatementLabel(2))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	defer db.Close()
	ctx := t.Context()
	o := ContractOptions{Statement: true}
	got := gathered(t, reg, o)
	if v, ok := got[MetricStatementOverflowTotal][""]; !ok || v != 0 {
		t.Errorf("overflow counter before traffic = %v (present %v), want 0", v, ok)
	}
	if n := len(got[MetricQueriesTotal]); n != len(QueryTypes) {
		t.Errorf("%d series before traffic, want the %d of %s", n, len(QueryTypes), StatementUnnamed)
	}

	query := func(ctx context.Context, q string) {
		t.Helper()
		must(t, db.QueryRowContext(ctx, q).Scan(new(int64)))
	}
	query(ctx, "SELECT 1")                                                         // _unnamed
	query(ctx, "-- name: GetOrder :one\nSELECT 1")                                 // from the comment
	query(WithStatement(ctx, "GetOrder"), "SELECT 1")                              // the same name from the context
	query(WithStatement(ctx, "ListOrders"), "-- name: Other :many\nSELECT 1")      // the context wins: second name
	query(WithStatement(ctx, "Third"), "SELECT 1")                                 // beyond the maximum
	query(ctx, "-- name: Fourth :one\nSELECT 1")                                   // beyond the maximum
	_, err = db.ExecContext(ctx, "-- name: UpdateOrder :exec\nUPDATE t SET v = 1") // beyond the maximum
	must(t, err)
	stmt, err := db.PrepareContext(ctx, "-- name: GetOrder :one\nSELECT 1")
	must(t, err)
	must(t, stmt.QueryRowContext(ctx).Scan(new(int64)))                              // the prepared statement's comment
	must(t, stmt.QueryRowContext(WithStatement(ctx, "ListOrders")).Scan(new(int64))) // the context wins
	must(t, stmt.Close())

	got = gathered(t, reg, o)
	want := map[string]float64{
		"query_type=SELECT,statement=_unnamed":   1,
		"query_type=SELECT,statement=GetOrder":   3,
		"query_type=SELECT,statement=ListOrders": 2,
		"query_type=SELECT,statement=_overflow":  2,
		"query_type=UPDATE,statement=_overflow":  1,
	}
	for _, qt := range QueryTypes[1:] {
		if qt != QueryUpdate {
			want["query_type="+string(qt)+",statement=_unnamed"] = 0
		}
	}
	want["query_type=UPDATE,statement=_unnamed"] = 0
	want["query_type=SELECT,statement=_unnamed"] = 1
	if !maps.Equal(got[MetricQueriesTotal], want) {
		t.Errorf("db_queries_total:\n got %v\nwant %v", got[MetricQueriesTotal], want)
	}
	if v := got[MetricStatementOverflowTotal][""]; v != 3 {
		t.Errorf("%s = %v, want 3", MetricStatementOverflowTotal, v)
	}
	// A name admitted on one database is admitted on another; a new name is not.
	m.Database("other").Observe(WithStatement(ctx, "ListOrders"), "SELECT 1", time.Millisecond, nil)
	m.Database("other").Observe(WithStatement(ctx, "Fifth"), "SELECT 1", time.Millisecond, nil)
	got = gathered(t, reg, ContractOptions{DBName: true, Statement: true})
	for key, w := range map[string]float64{
		"query_type=SELECT,db_name=other,statement=ListOrders": 1,
		"query_type=SELECT,db_name=other,statement=_overflow":  1,
		"query_type=SELECT,db_name=,statement=ListOrders":      2,
	} {
		if v := got[MetricQueriesTotal][key]; v != w {
			t.Errorf("db_queries_total{%s} = %v, want %v", key, v, w)
		}
	}
	if v := got[MetricStatementOverflowTotal]["db_name=other"]; v != 1 {
		t.Errorf("%s{db_name=other} = %v, want 1", MetricStatementOverflowTotal, v)
	}
}

func TestSlowQueryLogNamesTheStatementAndWritesAFingerprint(t *testing.T) {
	var logs bytes.Buffer
	m, err := New(WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithStatementLabel(1),
		WithSlowThreshold(time.Millisecond), WithBuckets([]float64{0.001}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	m.Observe(ctx, "-- name: GetUser :one\nSELECT * FROM users WHERE email = 'alice@example.com' AND id IN (1, 2, 3)", time.Second, nil)
	m.Observe(WithStatement(ctx, "Overflowed"), "UPDATE users SET  name = 'Bob' WHERE id = $1", time.Second, nil)
	m.Observe(ctx, "DELETE FROM t WHERE id = 987654", time.Second, nil)
	lines := slowLines(t, &logs)
	if len(lines) != 3 {
		t.Fatalf("%d slow lines, want 3:\n%s", len(lines), logs.String())
	}
	for i, want := range []map[string]any{
		{"statement": "GetUser", "sql": "SELECT * FROM users WHERE email = ? AND id IN (?+)", "query_type": "SELECT"},
		{"statement": "Overflowed", "sql": "UPDATE users SET name = ? WHERE id = $1", "query_type": "UPDATE"},
		{"statement": nil, "sql": "DELETE FROM t WHERE id = ?", "query_type": "DELETE"},
	} {
		for k, v := range want {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
	}
	for _, secret := range []string{"alice", "Bob", "987654"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the literal %q:\n%s", secret, logs.String())
		}
	}
}

// TestStatementNamesUnderConcurrency records many names from many
// goroutines, on two databases, while scraping: exactly the maximum number
// of names is admitted, nothing is lost, and the overflow counter is the
// count of the overflow series.
func TestStatementNamesUnderConcurrency(t *testing.T) {
	const maxNames, workers, perWorker = 10, 8, 400
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil), WithStatementLabel(maxNames))
	if err != nil {
		t.Fatal(err)
	}
	dbs := []*sql.DB{
		sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}, WithDBName("a"))),
		sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}, WithDBName("b"))),
	}
	for _, db := range dbs {
		defer db.Close()
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				scraped <- nil
				return
			default:
			}
			if _, err := reg.Gather(); err != nil {
				scraped <- err
				return
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			for i := range perWorker {
				ctx := WithStatement(context.Background(), fmt.Sprintf("S%d", (w*perWorker+i)%37))
				if err := db.QueryRowContext(ctx, "SELECT 1").Scan(new(int64)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-scraped; err != nil {
		t.Fatalf("gather during traffic: %v", err)
	}
	got := gathered(t, reg, ContractOptions{DBName: true, Statement: true})
	names := map[string]bool{}
	var total, overflowSeries float64
	for key, v := range got[MetricQueriesTotal] {
		total += v
		name := key[strings.LastIndex(key, "=")+1:]
		switch name {
		case StatementOverflow:
			overflowSeries += v
		case StatementUnnamed:
		default:
			names[name] = true
		}
	}
	if len(names) != maxNames {
		t.Errorf("%d distinct names recorded, want %d: %v", len(names), maxNames, names)
	}
	if total != workers*perWorker {
		t.Errorf("%v statements recorded, want %d", total, workers*perWorker)
	}
	overflow := got[MetricStatementOverflowTotal]["db_name=a"] + got[MetricStatementOverflowTotal]["db_name=b"]
	if overflow != overflowSeries || overflow == 0 {
		t.Errorf("overflow counters %v, overflow series %v: want equal and positive", overflow, overflowSeries)
	}
}

// TestLabelsAddNoAllocation runs QueryRow and Exec with both labels on,
// named by the context and by a comment, and compares the allocations with
// the bare driver's.
func TestLabelsAddNoAllocation(t *testing.T) {
	m := newTestMiddleware(t, WithRegisterer(prometheus.NewRegistry()), WithStatementLabel(DefaultMaxStatements))
	bareDB := sql.OpenDB(fakeConnector{benchDriver()})
	t.Cleanup(func() { _ = bareDB.Close() })
	wrapped := sql.OpenDB(m.WrapConnector(fakeConnector{benchDriver()}, WithDBName("orders")))
	t.Cleanup(func() { _ = wrapped.Close() })
	// Contexts without Done: with a cancellable one, database/sql starts a
	// goroutine per query, and whether the runtime has a free goroutine to
	// reuse depends on timing, not on the middleware.
	bg := context.Background()
	ctx := WithStatement(bg, "GetOrder")
	allocs := func(db *sql.DB) float64 {
		return testing.AllocsPerRun(200, func() {
			var v int64
			if err := db.QueryRowContext(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(bg, "-- name: GetOrderByComment :one\nSELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
		})
	}
	allocs(wrapped) // admits the names: the first use of a name allocates its series
	bare, mw := allocs(bareDB), allocs(wrapped)
	if mw > bare {
		t.Errorf("with db_name and statement on: %.1f allocations per run, %.1f bare", mw, bare)
	}
	if s := m.Stats(); s.Total == 0 {
		t.Fatal("nothing recorded")
	}
}

func TestDatabaseRecordsTransactionsUnderItsName(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil), WithStatementLabel(1))
	if err != nil {
		t.Fatal(err)
	}
	orders := m.Database("orders")
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		orders.ObserveTx(TxCommit, time.Millisecond)
		orders.ObserveTx(TxOutcome("abandoned"), time.Millisecond)
		orders.Observe(ctx, "-- name: GetOrder :one\nSELECT 1", time.Millisecond, nil)
		m.ObserveTx(TxRollback, time.Millisecond)
	}); n != 0 {
		t.Errorf("Database.ObserveTx and Observe allocate %v times per run", n)
	}
	got := gathered(t, reg, ContractOptions{DBName: true, Statement: true})
	for key, want := range map[string]float64{
		"outcome=commit,db_name=orders":   101,
		"outcome=error,db_name=orders":    101,
		"outcome=rollback,db_name=":       101,
		"outcome=rollback,db_name=orders": 0,
	} {
		if v := got[MetricTxDuration][key]; v != want {
			t.Errorf("%s{%s} = %v, want %v", MetricTxDuration, key, v, want)
		}
	}
	if v := got[MetricQueriesTotal]["query_type=SELECT,db_name=orders,statement=GetOrder"]; v != 101 {
		t.Errorf("GetOrder on orders = %v, want 101", v)
	}
	if tx := m.Stats().Tx; tx.Commits != 101 || tx.Rollbacks != 101 || tx.Errors != 101 {
		t.Errorf("Stats.Tx %+v, want 101 of each", tx)
	}
}
