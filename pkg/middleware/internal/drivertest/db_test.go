package drivertest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// The database tests run the same calls on a bare and an instrumented
// *sql.DB against real servers and compare what the caller sees, line by
// line, then check what the middleware recorded.

const (
	postgresDSNEnv     = "DBMON_POSTGRES_DSN"
	mysqlDSNEnv        = "DBMON_MYSQL_DSN"
	requireDBsEnv      = "DBMON_REQUIRE_DBS"
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test"
)

// serverDSN returns the DSN of a server from env (or def) after checking
// that it answers; it skips the test when it does not, unless
// DBMON_REQUIRE_DBS=1, which makes an unreachable server a failure.
func serverDSN(t *testing.T, driverName, env, def string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		dsn = def
	}
	db, err := sql.Open(driverName, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
		_ = db.Close()
	}
	if err != nil {
		if os.Getenv(requireDBsEnv) == "1" {
			t.Fatalf("%s server unreachable with %s=%q and %s=1: %v", driverName, env, dsn, requireDBsEnv, err)
		}
		t.Skipf("skipping: %s server unreachable (%v); set %s to its DSN, or %s=1 to make this a failure", driverName, err, env, requireDBsEnv)
	}
	return dsn
}

var tableSeq atomic.Int64

// tableName returns a table name unique to this process and call, so that
// tests of other packages and parallel runs never share a table.
func tableName(prefix string) string {
	return fmt.Sprintf("dbmon_mw_%s_%d_%d", prefix, os.Getpid(), tableSeq.Add(1))
}

// dialect is what differs between the servers in the shared script.
type dialect struct {
	ph        func(n int) string // the n-th placeholder, 1-based
	create    string             // CREATE TABLE, %s is the table
	sleep     string             // a SELECT that takes about 150 ms
	longSleep string             // a SELECT that takes 3 s
	// extra runs driver-specific statements (argument types) through r.
	extra func(r *recorder, table string)
}

// recorder runs statements, writes what the caller sees, and counts what
// the middleware should record, per query type.
type recorder struct {
	t     *testing.T
	db    *sql.DB
	ctx   context.Context
	out   []string
	total map[middleware.QueryType]uint64
	errs  map[middleware.QueryType]uint64
	// commits and rollbacks count the transactions that ended so.
	commits, rollbacks uint64
}

// end records how a transaction ended and returns err.
func (r *recorder) end(commit bool, err error) error {
	switch {
	case err != nil:
	case commit:
		r.commits++
	default:
		r.rollbacks++
	}
	return err
}

func newRecorder(t *testing.T, db *sql.DB) *recorder {
	return &recorder{t: t, db: db, ctx: context.Background(), total: map[middleware.QueryType]uint64{}, errs: map[middleware.QueryType]uint64{}}
}

func (r *recorder) say(format string, args ...any) {
	r.out = append(r.out, fmt.Sprintf(format, args...))
}

// counted notes one statement that reached the driver.
func (r *recorder) counted(query string, err error) {
	qt := middleware.Classify(query)
	r.total[qt]++
	if err != nil {
		r.errs[qt]++
	}
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func (r *recorder) exec(what string, e execer, query string, args ...any) {
	res, err := e.ExecContext(r.ctx, query, args...)
	r.counted(query, err)
	if err != nil {
		r.say("%s: error %v", what, err)
		return
	}
	n, err := res.RowsAffected()
	r.say("%s: affected %d %v", what, n, err)
}

func (r *recorder) query(what string, q queryer, query string, args ...any) {
	rows, err := q.QueryContext(r.ctx, query, args...)
	if err != nil {
		r.counted(query, err)
		r.say("%s: error %v", what, err)
		return
	}
	r.dump(what, rows)
	r.counted(query, rows.Err())
}

// dump writes the column types and rows of rows and closes them.
func (r *recorder) dump(what string, rows *sql.Rows) {
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		r.say("%s: column types: %v", what, err)
	}
	for _, c := range cols {
		n, nok := c.Nullable()
		l, lok := c.Length()
		p, s, pok := c.DecimalSize()
		r.say("%s: column %s %s %v null %v/%v len %d/%v dec %d,%d/%v", what, c.Name(), c.DatabaseTypeName(), c.ScanType(), n, nok, l, lok, p, s, pok)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			r.say("%s: scan: %v", what, err)
			continue
		}
		var b strings.Builder
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, " %T(%v)", v, v)
		}
		r.say("%s: row%s", what, b.String())
	}
	r.say("%s: rows.Err %v", what, rows.Err())
}

// script runs the statements every server supports and returns the
// recorder.
func script(t *testing.T, db *sql.DB, d dialect, table string) *recorder {
	t.Helper()
	r := newRecorder(t, db)
	ctx := r.ctx
	p := d.ph
	if _, err := db.ExecContext(ctx, fmt.Sprintf(d.create, table)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	r.counted(d.create, nil)
	insert := fmt.Sprintf("INSERT INTO %s (id, name, amount) VALUES (%s, %s, %s)", table, p(1), p(2), p(3))
	for i, name := range []string{"ann", "bob", "cy"} {
		r.exec("insert", db, insert, i+1, name, 10.5*float64(i+1))
	}
	selectAll := fmt.Sprintf("SELECT id, name, amount FROM %s ORDER BY id", table)
	r.query("select", db, selectAll)
	r.exec("update", db, fmt.Sprintf("UPDATE %s SET amount = amount + 1 WHERE id >= %s", table, p(1)), 2)
	r.exec("delete", db, fmt.Sprintf("DELETE FROM %s WHERE id = %s", table, p(1)), 3)
	r.exec("delete nothing", db, fmt.Sprintf("DELETE FROM %s WHERE id = %s", table, p(1)), 99)

	// Prepared statements.
	stmt, err := db.PrepareContext(ctx, insert)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for _, id := range []int{10, 11} {
		res, err := stmt.ExecContext(ctx, id, fmt.Sprint("p", id), 1)
		r.counted(insert, err)
		if err == nil {
			n, _ := res.RowsAffected()
			r.say("stmt exec %d: affected %d", id, n)
		} else {
			r.say("stmt exec %d: error %v", id, err)
		}
	}
	_ = stmt.Close()
	byID := fmt.Sprintf("SELECT name FROM %s WHERE id = %s", table, p(1))
	sel, err := db.PrepareContext(ctx, byID)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for _, id := range []int{10, 999} {
		var name string
		err := sel.QueryRowContext(ctx, id).Scan(&name)
		r.counted(byID, nil) // no rows is not a failed query
		r.say("stmt query row %d: %q %v", id, name, err)
	}
	_ = sel.Close()

	// Transactions.
	count := fmt.Sprintf("SELECT COUNT(*) FROM %s", table)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	r.exec("tx insert", tx, insert, 20, "tx", 2)
	r.say("commit: %v", r.end(true, tx.Commit()))
	r.query("after commit", db, count)
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	r.exec("tx insert", tx, insert, 21, "rolled back", 2)
	r.say("rollback: %v", r.end(false, tx.Rollback()))
	r.query("after rollback", db, count)
	tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		r.say("begin read-only: %v", err)
	} else {
		r.query("read-only select", tx, count)
		r.exec("read-only insert", tx, insert, 22, "ro", 2)
		r.say("read-only rollback: %v", r.end(false, tx.Rollback()))
	}
	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		r.say("begin serializable: %v", err)
	} else {
		r.query("serializable select", tx, count)
		r.say("serializable commit: %v", r.end(true, tx.Commit()))
	}

	// Errors come back unchanged.
	r.exec("syntax error", db, "SELEC 1")
	r.exec("duplicate key", db, insert, 10, "again", 1)
	r.exec("not null", db, insert, 30, nil, 1)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.ExecContext(cancelled, insert, 40, "cancelled", 1) // refused before the driver
	r.say("cancelled context: %v", err)

	if d.extra != nil {
		d.extra(r, table)
	}
	r.query("final", db, selectAll)
	dropTable(t, db, table)
	return r
}

func dropTable(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
		t.Errorf("drop table %s: %v", table, err)
	}
}

// compareWithBare runs the script on bare and wrapped, compares them and
// checks the middleware's counts against the script's.
func compareWithBare(t *testing.T, m *middleware.Middleware, bare, wrapped *sql.DB, d dialect, prefix string) {
	t.Helper()
	table := tableName(prefix)
	want := script(t, bare, d, table)
	got := script(t, wrapped, d, table)
	compareLines(t, "script", want.out, got.out)
	if testing.Verbose() {
		t.Logf("script output:\n%s", strings.Join(got.out, "\n"))
	}
	s := m.Stats()
	dropCount := uint64(1) // the DROP TABLE after the script is OTHER
	for _, qt := range middleware.QueryTypes {
		wantTotal, wantErrs := got.total[qt], got.errs[qt]
		if qt == middleware.QueryOther {
			wantTotal += dropCount
		}
		if ts := s.Type(qt); ts.Total != wantTotal || ts.Errors != wantErrs {
			t.Errorf("%s: recorded %d statements, %d errors; the script ran %d, %d", qt, ts.Total, ts.Errors, wantTotal, wantErrs)
		}
	}
	if s.Tx.Commits != got.commits || s.Tx.Rollbacks != got.rollbacks || s.Tx.Errors != 0 {
		t.Errorf("transactions: recorded %+v; the script committed %d, rolled back %d", s.Tx, got.commits, got.rollbacks)
	}
}

// slowAndCancelled checks that a slow statement is counted slow and logged
// once, and that a statement cancelled by its context's deadline fails as
// with the bare driver and counts as an error.
func slowAndCancelled(t *testing.T, bare *sql.DB, open func(*middleware.Middleware) *sql.DB, d dialect) {
	t.Helper()
	var logs bytes.Buffer
	m, err := middleware.New(middleware.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	must(t, err)
	db := open(m)
	defer db.Close()
	var v any
	must(t, db.QueryRow(d.sleep).Scan(&v))
	s := m.Stats().Type(middleware.QuerySelect)
	if s.Total != 1 || s.Slow != 1 || s.Duration.Min < 150*time.Millisecond {
		t.Errorf("slow query: total %d slow %d min %v; want 1, 1, ≥ 150ms", s.Total, s.Slow, s.Duration.Min)
	}
	lines := slowLines(t, &logs)
	if len(lines) != 1 {
		t.Fatalf("%d slow-query lines, want 1:\n%s", len(lines), logs.String())
	}
	// The log carries the fingerprint: the sleep's literal is a ?.
	if lines[0]["query_type"] != "SELECT" || lines[0]["sql"] != middleware.Fingerprint(d.sleep) || strings.Contains(lines[0]["sql"].(string), "0.15") {
		t.Errorf("slow-query line %v", lines[0])
	}

	run := func(db *sql.DB) (error, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		var v any
		err := db.QueryRowContext(ctx, d.longSleep).Scan(&v)
		return err, time.Since(start)
	}
	bareErr, _ := run(bare)
	gotErr, took := run(db)
	if bareErr == nil || gotErr == nil {
		t.Fatalf("cancelled statement: bare err %v, wrapped err %v; want errors", bareErr, gotErr)
	}
	if errors.Is(gotErr, context.DeadlineExceeded) != errors.Is(bareErr, context.DeadlineExceeded) {
		t.Errorf("cancelled statement: wrapped err %q, bare err %q", gotErr, bareErr)
	}
	if took > 2*time.Second {
		t.Errorf("cancelled statement took %v: the context was not honoured", took)
	}
	if s := m.Stats().Type(middleware.QuerySelect); s.Errors != 1 {
		t.Errorf("cancelled statement: %d SELECT errors recorded, want 1", s.Errors)
	}
}

func TestPostgres(t *testing.T) {
	dsn := serverDSN(t, "pgx", postgresDSNEnv, defaultPostgresDSN)
	cfg, err := pgx.ParseConfig(dsn)
	must(t, err)
	d := dialect{
		ph:        func(n int) string { return fmt.Sprintf("$%d", n) },
		create:    "CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, amount NUMERIC(10,2))",
		sleep:     "SELECT pg_sleep(0.15)",
		longSleep: "SELECT pg_sleep(3)",
		extra: func(r *recorder, table string) {
			var num pgtype.Numeric
			must(r.t, num.Scan("12.345"))
			id := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8}
			r.query("pgx types", r.db, "SELECT $1::int8[] AS ints, $2::text[] AS texts, $3::numeric + 1 AS num, $4::uuid AS id, $5::point AS pt",
				[]int64{1, 2, 3}, []string{"a", "b c"}, num, id, pgPoint{1.5, -2})
			var ints []int64
			tm := pgtype.NewMap()
			err := r.db.QueryRowContext(r.ctx, "SELECT ARRAY[4,5,6]::int8[]").Scan(tm.SQLScanner(&ints))
			r.counted("SELECT", err)
			r.say("array scan: %v %v", ints, err)
			// Before Go 1.27 database/sql refuses this scan, bare as
			// wrapped; from 1.27 pgx's RowsColumnScanner does it.
			var int4s []int32
			err = r.db.QueryRowContext(r.ctx, "SELECT $1::int4[]", []int32{7, 8}).Scan(&int4s)
			r.counted("SELECT", nil) // a refused scan is not a failed query
			r.say("int4[] into []int32: %v %v", int4s, err)
			var ts pgtype.Timestamptz
			err = r.db.QueryRowContext(r.ctx, "SELECT $1::timestamptz", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)).Scan(&ts)
			r.counted("SELECT", err)
			r.say("timestamptz: %v %v", ts.Time.UTC(), err)
			conn, err := r.db.Conn(r.ctx)
			must(r.t, err)
			err = conn.Raw(func(dc any) error {
				pc, ok := middleware.Raw(dc).(*stdlib.Conn)
				if !ok {
					return fmt.Errorf("raw connection is %T", middleware.Raw(dc))
				}
				var one int
				return pc.Conn().QueryRow(r.ctx, "SELECT 1").Scan(&one) // not through database/sql: not recorded
			})
			r.say("raw pgx conn: %v", err)
			_ = conn.Close()
		},
	}
	bare, err := sql.Open("pgx", dsn)
	must(t, err)
	defer bare.Close()

	t.Run("results are the bare driver's", func(t *testing.T) {
		m := newTestMiddleware(t)
		wrapped := sql.OpenDB(m.WrapConnector(stdlib.GetConnector(*cfg)))
		defer wrapped.Close()
		compareWithBare(t, m, bare, wrapped, d, "pg")
	})
	t.Run("slow and cancelled statements", func(t *testing.T) {
		slowAndCancelled(t, bare, func(m *middleware.Middleware) *sql.DB {
			return sql.OpenDB(m.WrapDSN(stdlib.GetDefaultDriver(), dsn))
		}, d)
	})
}

// pgPoint is a custom argument type that converts itself for the driver.
type pgPoint struct{ x, y float64 }

func (p pgPoint) Value() (driver.Value, error) { return fmt.Sprintf("(%g,%g)", p.x, p.y), nil }

func TestMySQL(t *testing.T) {
	dsn := serverDSN(t, "mysql", mysqlDSNEnv, defaultMySQLDSN)
	cfg, err := mysql.ParseDSN(dsn)
	must(t, err)
	d := dialect{
		ph:        func(int) string { return "?" },
		create:    "CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(10,2), big BIGINT UNSIGNED)",
		sleep:     "SELECT SLEEP(0.15)",
		longSleep: "SELECT SLEEP(3)",
		extra: func(r *recorder, table string) {
			upd := fmt.Sprintf("UPDATE %s SET big = ? WHERE id = ?", table)
			r.exec("uint64 max", r.db, upd, uint64(math.MaxUint64), 10)
			var big uint64
			q := fmt.Sprintf("SELECT big FROM %s WHERE id = ?", table)
			err := r.db.QueryRowContext(r.ctx, q, 10).Scan(&big)
			r.counted(q, err)
			r.say("uint64 back: %d %v", big, err)
		},
	}
	bare, err := sql.Open("mysql", dsn)
	must(t, err)
	defer bare.Close()
	open := func(m *middleware.Middleware) *sql.DB {
		c, err := mysql.NewConnector(cfg)
		must(t, err)
		return sql.OpenDB(m.WrapConnector(c))
	}
	t.Run("results are the bare driver's", func(t *testing.T) {
		m := newTestMiddleware(t)
		wrapped := open(m)
		defer wrapped.Close()
		compareWithBare(t, m, bare, wrapped, d, "my")
	})
	t.Run("slow and cancelled statements", func(t *testing.T) {
		slowAndCancelled(t, bare, open, d)
	})
}

// registered guards the one sql.Register of the test binary.
var registeredMiddleware = func() *middleware.Middleware {
	m, err := middleware.New(middleware.WithLogger(nil))
	if err != nil {
		panic(err)
	}
	sql.Register("sqlite-dbmonctl-test", m.WrapDriver(&sqlite.Driver{}))
	return m
}()

func TestSQLite(t *testing.T) {
	dir := t.TempDir()
	d := dialect{
		ph:     func(int) string { return "?" },
		create: "CREATE TABLE %s (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC, data BLOB, at DATETIME)",
		extra: func(r *recorder, table string) {
			at := time.Date(2024, 2, 29, 12, 30, 0, 0, time.UTC)
			r.exec("blob and time", r.db, fmt.Sprintf("UPDATE %s SET data = ?, at = ? WHERE id = ?", table), []byte{0, 1, 2, 255}, at, 10)
			r.query("blob and time back", r.db, fmt.Sprintf("SELECT data, at FROM %s WHERE id = ?", table), 10)
			r.query("with cte", r.db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3) SELECT i FROM n")
		},
	}
	open := func(t *testing.T, name string) *sql.DB {
		db, err := sql.Open("sqlite", filepath.Join(dir, name))
		must(t, err)
		db.SetMaxOpenConns(1)
		return db
	}
	t.Run("results are the bare driver's through WrapDSN", func(t *testing.T) {
		bare := open(t, "bare.db")
		defer bare.Close()
		m := newTestMiddleware(t)
		wrapped := sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, filepath.Join(dir, "wrapped.db")))
		wrapped.SetMaxOpenConns(1)
		defer wrapped.Close()
		compareWithBare(t, m, bare, wrapped, d, "lite")
	})
	t.Run("results are the bare driver's through sql.Register", func(t *testing.T) {
		bare := open(t, "bare2.db")
		defer bare.Close()
		m := registeredMiddleware
		before := m.Stats()
		if before.Total != 0 {
			t.Fatalf("registered middleware used elsewhere: %d", before.Total)
		}
		wrapped, err := sql.Open("sqlite-dbmonctl-test", filepath.Join(dir, "wrapped2.db"))
		must(t, err)
		wrapped.SetMaxOpenConns(1)
		defer wrapped.Close()
		compareWithBare(t, m, bare, wrapped, d, "lite")
	})
	t.Run("a cancelled context stops a long query", func(t *testing.T) {
		m := newTestMiddleware(t)
		db := sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, ":memory:"))
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		// An endless recursive CTE: only the interrupt ends it.
		rows, err := db.QueryContext(ctx, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n) SELECT count(*) FROM n")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			_ = rows.Close()
		}
		if err == nil {
			t.Fatal("endless query succeeded")
		}
		if s := m.Stats().Type(middleware.QuerySelect); s.Total != 1 || s.Errors != 1 {
			t.Errorf("cancelled query recorded as total %d errors %d, want 1 1 (err %v)", s.Total, s.Errors, err)
		}
	})
}
