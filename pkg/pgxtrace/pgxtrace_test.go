package pgxtrace_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const (
	postgresDSNEnv     = "DBMON_POSTGRES_DSN"
	requireDBsEnv      = "DBMON_REQUIRE_DBS"
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// postgresDSN returns the server's DSN after checking that it answers; it
// skips the test when it does not, unless DBMON_REQUIRE_DBS=1.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv(requireDBsEnv) == "1" {
			tb.Fatalf("postgres unreachable with %s=%q and %s=1: %v", postgresDSNEnv, dsn, requireDBsEnv, err)
		}
		tb.Skipf("skipping: postgres unreachable (%v); set %s to its DSN, or %s=1 to make this a failure", err, postgresDSNEnv, requireDBsEnv)
	}
	return dsn
}

var tableSeq atomic.Int64

func tableName() string {
	return fmt.Sprintf("dbmon_pgx_%d_%d", os.Getpid(), tableSeq.Add(1))
}

// newPool returns a pool traced into a new middleware registered on reg.
func newPool(t *testing.T, dsn string, reg prometheus.Registerer) (*pgxpool.Pool, *middleware.Middleware) {
	t.Helper()
	m, err := middleware.New(middleware.WithRegisterer(reg), middleware.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = pgxtrace.New(m)
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, m
}

// byType returns total, errors per query type.
func byType(m *middleware.Middleware) map[middleware.QueryType][2]uint64 {
	out := map[middleware.QueryType][2]uint64{}
	for _, ts := range m.Stats().ByType {
		if ts.Total != 0 || ts.Errors != 0 {
			out[ts.Type] = [2]uint64{ts.Total, ts.Errors}
		}
	}
	return out
}

func wantTypes(t *testing.T, m *middleware.Middleware, want map[middleware.QueryType][2]uint64) {
	t.Helper()
	got := byType(m)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded (total, errors) by type = %v, want %v", got, want)
	}
}

// series renders a gathered registry as one line per series: name, labels
// and, for counters and histograms, the count (durations differ between
// two runs; counts must not). Created timestamps are left out.
func series(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			line := fmt.Sprintf("%s %s{%s}", mf.GetType(), mf.GetName(), strings.Join(labels, ","))
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				line += fmt.Sprintf(" %v", mt.GetCounter().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := mt.GetHistogram()
				line += fmt.Sprintf(" count=%d buckets=%d", h.GetSampleCount(), len(h.GetBucket()))
			}
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

// The same statements through pgxpool with the tracer and through
// database/sql (pgx's stdlib driver) with the middleware produce the same
// series with the same counts.
func TestPoolAndDatabaseSQLProduceTheSameSeries(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	table := tableName()
	script := func(exec func(q string, args ...any) error, query func(q string, args ...any) error) {
		steps := []struct {
			q     string
			args  []any
			query bool
			fails bool
		}{
			{q: "CREATE TABLE " + table + " (id int PRIMARY KEY, v text)"},
			{q: "INSERT INTO " + table + " VALUES ($1, $2)", args: []any{1, "a"}},
			{q: "INSERT INTO " + table + " VALUES ($1, $2)", args: []any{1, "dup"}, fails: true},
			{q: "UPDATE " + table + " SET v = $1 WHERE id = $2", args: []any{"b", 1}},
			{q: "SELECT v FROM " + table + " WHERE id = $1", args: []any{1}, query: true},
			{q: "SELEC 1", query: true, fails: true},
			{q: "DELETE FROM " + table + " WHERE id = $1", args: []any{1}},
			{q: "DROP TABLE " + table},
		}
		for _, s := range steps {
			var err error
			if s.query {
				err = query(s.q, s.args...)
			} else {
				err = exec(s.q, s.args...)
			}
			if (err != nil) != s.fails {
				t.Fatalf("%s: err = %v, want failure %v", s.q, err, s.fails)
			}
		}
	}

	pgxReg := prometheus.NewRegistry()
	pool, _ := newPool(t, dsn, pgxReg)
	if err := pgxReg.Register(pgxtrace.NewStatsCollector(pool, "app")); err != nil {
		t.Fatal(err)
	}
	script(func(q string, args ...any) error {
		_, err := pool.Exec(ctx, q, args...)
		return err
	}, func(q string, args ...any) error {
		rows, err := pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		return rows.Err()
	})

	sqlReg := prometheus.NewRegistry()
	m, err := middleware.New(middleware.WithRegisterer(sqlReg), middleware.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(stdlib.GetConnector(*cfg)))
	defer db.Close()
	if err := m.RegisterDBStats(db, "app"); err != nil {
		t.Fatal(err)
	}
	script(func(q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}, func(q string, args ...any) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return rows.Err()
	})

	// Pool gauges and counters depend on each pool's history; their names,
	// types and labels must match, their values not.
	strip := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Contains(l, " go_sql_") {
				l = l[:strings.LastIndex(l, "}")+1]
			}
			out = append(out, l)
		}
		return out
	}
	got, want := strip(series(t, pgxReg)), strip(series(t, sqlReg))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pgxpool series:\n%s\n\ndatabase/sql series:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(strings.Join(got, "\n"), `COUNTER db_query_errors_total{query_type=OTHER} 1`) {
		t.Errorf("the syntax error is not an OTHER error:\n%s", strings.Join(got, "\n"))
	}
}

func TestBatchRecordsEachQueuedQueryWithItsType(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	table := tableName()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE "+table)

	b := &pgx.Batch{}
	b.Queue("INSERT INTO "+table+" VALUES ($1)", 1)
	b.Queue("INSERT INTO "+table+" VALUES ($1)", 2)
	b.Queue("UPDATE "+table+" SET id = 3 WHERE id = $1", 2)
	b.Queue("SELECT id FROM " + table)
	b.Queue("DELETE FROM "+table+" WHERE id = $1", 3)
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {1, 0}, // CREATE TABLE
		middleware.QueryInsert: {2, 0},
		middleware.QueryUpdate: {1, 0},
		middleware.QuerySelect: {1, 0},
		middleware.QueryDelete: {1, 0},
	})

	// A failing query in a batch is an error of its type.
	b = &pgx.Batch{}
	b.Queue("INSERT INTO "+table+" VALUES ($1)", 10)
	b.Queue("INSERT INTO "+table+" VALUES ($1)", 10)
	if err := pool.SendBatch(ctx, b).Close(); err == nil {
		t.Fatal("duplicate key in batch: no error")
	}
	got := byType(m)[middleware.QueryInsert]
	if got[1] != 1 || got[0] != 4 {
		t.Errorf("INSERT (total, errors) after a failing batch = %v, want [4 1]", got)
	}

	// A batch that fails before any query runs (pgx prepares every query
	// first, and one has a syntax error) still records each queued query,
	// failed, with its type.
	b = &pgx.Batch{}
	b.Queue("SELECT 1")
	b.Queue("SELEC 2")
	b.Queue("DELETE FROM " + table)
	if err := pool.SendBatch(ctx, b).Close(); err == nil {
		t.Fatal("batch with a syntax error: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {2, 1},
		middleware.QueryInsert: {4, 1},
		middleware.QueryUpdate: {1, 0},
		middleware.QuerySelect: {2, 1},
		middleware.QueryDelete: {2, 1},
	})
}

func TestCopyFromIsOneInsert(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	table := tableName()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE "+table)
	n, err := pool.CopyFrom(ctx, pgx.Identifier{table}, []string{"id"}, pgx.CopyFromRows([][]any{{1}, {2}, {3}}))
	if err != nil || n != 3 {
		t.Fatalf("CopyFrom = %d, %v", n, err)
	}
	// A duplicate key fails the whole copy: one failed INSERT.
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, []string{"id"}, pgx.CopyFromRows([][]any{{4}, {1}})); err == nil {
		t.Fatal("CopyFrom with a duplicate key: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {1, 0},
		middleware.QueryInsert: {2, 1},
	})

	// Into a missing table, pgx fails while describing the columns (a
	// preparation inside the copy) and does not report the copy's end: the
	// failure is still the copy's, one failed INSERT, and the next copy on
	// the connection is recorded normally.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"no_such_table_dbmon"}, []string{"id"}, pgx.CopyFromRows([][]any{{1}})); err == nil {
		t.Fatal("CopyFrom into a missing table: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {1, 0},
		middleware.QueryInsert: {3, 2},
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, []string{"id"}, pgx.CopyFromRows([][]any{{7}})); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {1, 0},
		middleware.QueryInsert: {4, 2},
	})
}

func TestCancelledQueryIsAnError(t *testing.T) {
	dsn := postgresDSN(t)
	pool, m := newPool(t, dsn, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := pool.Exec(ctx, "SELECT pg_sleep(5)")
	if err == nil {
		t.Fatal("cancelled pg_sleep: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QuerySelect: {1, 1}})

	// Cancelled while waiting for rows: the query ends when its Rows close.
	ctx2, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel2()
	rows, err := pool.Query(ctx2, "SELECT pg_sleep(5)")
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	if err == nil {
		t.Fatal("rows of a cancelled query: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QuerySelect: {2, 2}})
}

func TestPrepareFailureCountsOnceAndSuccessNotAtAll(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Conn().Prepare(ctx, "ok", "SELECT $1::int"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Conn().Prepare(ctx, "bad", "UPDATE no_such_table_dbmon SET a = 1"); err == nil {
		t.Fatal("preparing against a missing table: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QueryUpdate: {1, 1}})

	// A preparation inside a query (the default exec mode prepares) that
	// fails is the query's error, counted once.
	if _, err := conn.Exec(ctx, "DELETE FROM no_such_table_dbmon WHERE a = $1", 1); err == nil {
		t.Fatal("DELETE from a missing table: no error")
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QueryUpdate: {1, 1}, middleware.QueryDelete: {1, 1}})
}

func TestUninstalledRecordsNothing(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	m.Uninstall()
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{})
	m.Install()
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QuerySelect: {1, 0}})
}

func TestTracingAQueryDoesNotAllocate(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(middleware.WithRegisterer(nil), middleware.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	tr := pgxtrace.New(m)
	cfg.Tracer = tr
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The tracer's own calls, on a live connection, as pgx makes them.
	boom := errors.New("boom")
	table := pgx.Identifier{"t"}
	n := testing.AllocsPerRun(200, func() {
		c := tr.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: "SELECT 1"})
		tr.TraceQueryEnd(c, conn, pgx.TraceQueryEndData{})
		c = tr.TraceBatchStart(ctx, conn, pgx.TraceBatchStartData{})
		tr.TraceBatchQuery(c, conn, pgx.TraceBatchQueryData{SQL: "INSERT INTO t VALUES (1)", Err: boom})
		tr.TraceBatchEnd(c, conn, pgx.TraceBatchEndData{})
		c = tr.TraceCopyFromStart(ctx, conn, pgx.TraceCopyFromStartData{TableName: table})
		tr.TraceCopyFromEnd(c, conn, pgx.TraceCopyFromEndData{})
		c = tr.TracePrepareStart(ctx, conn, pgx.TracePrepareStartData{SQL: "SELECT 1"})
		tr.TracePrepareEnd(c, conn, pgx.TracePrepareEndData{Err: boom})
		// By default no acquire is timed, even under a context that can end
		// (a request's): a query through a pool allocates nothing either.
		c = tr.TraceAcquireStart(ctx, nil, pgxpool.TraceAcquireStartData{})
		tr.TraceAcquireEnd(c, nil, pgxpool.TraceAcquireEndData{})
	})
	if n != 0 {
		t.Errorf("tracing allocates %v times per run", n)
	}
}
