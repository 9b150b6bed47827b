package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// newTestMiddleware returns an unregistered middleware that logs nowhere.
func newTestMiddleware(t testing.TB, opts ...Option) *Middleware {
	t.Helper()
	m, err := New(append([]Option{WithLogger(nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrappedConnHasExactlyTheDriversInterfaces(t *testing.T) {
	m := newTestMiddleware(t)
	ctx := context.Background()
	for mask := range len(fakeConnCombos) {
		log := &callLog{}
		d := &fakeDriver{stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: log}
		inner := fakeConnCombos[mask](&fakeConn{d: d})
		w := m.wrapConn(inner)
		for _, c := range connCaps {
			want := mask&c.bit != 0
			if got := c.has(inner); got != want {
				t.Fatalf("mask %#x: fake has %s = %v, want %v (broken fake)", mask, c.name, got, want)
			}
			if got := c.has(w); got != want {
				t.Errorf("mask %#x: wrapped conn has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !want {
				continue
			}
			// The call must reach the driver's own method.
			var call string
			switch c.bit {
			case capPinger:
				call = "Ping"
				_ = w.(driver.Pinger).Ping(ctx)
			case capExecerContext:
				call = "ExecContext INSERT [#1=1]"
				_, _ = w.(driver.ExecerContext).ExecContext(ctx, "INSERT", []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
			case capQueryerContext:
				call = "Rows.Close"
				r, _ := w.(driver.QueryerContext).QueryContext(ctx, "SELECT", nil)
				_ = r.Close()
			case capConnPrepareContext:
				call = "PrepareContext UPDATE"
				_, _ = w.(driver.ConnPrepareContext).PrepareContext(ctx, "UPDATE")
			case capConnBeginTx:
				call = "BeginTx {Isolation:6 ReadOnly:true}"
				_, _ = w.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{Isolation: 6, ReadOnly: true})
			case capSessionResetter:
				call = "ResetSession"
				_ = w.(driver.SessionResetter).ResetSession(ctx)
			case capValidator:
				call = "IsValid"
				_ = w.(driver.Validator).IsValid()
			case capConnNamedValueChecker:
				call = "conn.CheckNamedValue 3"
				_ = w.(driver.NamedValueChecker).CheckNamedValue(&driver.NamedValue{Ordinal: 3})
			default:
				t.Fatalf("no call for %s", c.name)
			}
			if got := log.last(); got != call {
				t.Errorf("mask %#x: %s: driver's last call = %q, want %q", mask, c.name, got, call)
			}
		}
		if Raw(w) != inner {
			t.Errorf("mask %#x: Raw does not return the driver's conn", mask)
		}
	}
}

func TestWrappedStmtHasExactlyTheDriversInterfaces(t *testing.T) {
	m := newTestMiddleware(t)
	ctx := context.Background()
	for mask := range len(fakeStmtCombos) {
		log := &callLog{}
		d := &fakeDriver{rowsMask: allRowsCaps, log: log}
		inner := fakeStmtCombos[mask](&fakeStmt{c: &fakeConn{d: d}, query: "SELECT"})
		w := m.wrapStmt(inner, "SELECT")
		for _, c := range stmtCaps {
			want := mask&c.bit != 0
			if got := c.has(w); got != want {
				t.Errorf("mask %#x: wrapped stmt has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !want {
				continue
			}
			var call string
			switch c.bit {
			case capStmtExecContext:
				call = "Stmt.ExecContext []"
				_, _ = w.(driver.StmtExecContext).ExecContext(ctx, nil)
			case capStmtQueryContext:
				call = "Stmt.QueryContext [#1=2]"
				_, _ = w.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: int64(2)}})
			case capStmtNamedValueChecker:
				call = "stmt.CheckNamedValue 1"
				_ = w.(driver.NamedValueChecker).CheckNamedValue(&driver.NamedValue{Ordinal: 1})
			case capColumnConverter:
				call = "ColumnConverter 4"
				_ = w.(driver.ColumnConverter).ColumnConverter(4)
			default:
				t.Fatalf("no call for %s", c.name)
			}
			if got := log.last(); got != call {
				t.Errorf("mask %#x: %s: driver's last call = %q, want %q", mask, c.name, got, call)
			}
		}
		if got := w.(interface{ Unwrap() driver.Stmt }).Unwrap(); got != inner {
			t.Errorf("mask %#x: Unwrap does not return the driver's stmt", mask)
		}
	}
}

func TestWrappedRowsHaveExactlyTheDriversInterfaces(t *testing.T) {
	m := newTestMiddleware(t)
	// One cache for all, and every combination twice in a row: the first
	// time the type differs from the cached one, the second time it is the
	// cached one.
	var caps rowsCapCache
	for i := range 2 * len(fakeRowsCombos) {
		mask := i / 2
		log := &callLog{}
		d := &fakeDriver{log: log}
		inner := fakeRowsCombos[mask](&fakeRows{d: d, sets: 2})
		w := m.wrapRows(context.Background(), inner, &caps, kindSelect, "SELECT", 0)
		for _, c := range rowsCaps {
			want := mask&c.bit != 0
			if got := c.has(w); got != want {
				t.Errorf("mask %#x: wrapped rows has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !want {
				continue
			}
			var call, got string
			switch c.bit {
			case capRowsNextResultSet:
				call = "NextResultSet"
				r := w.(driver.RowsNextResultSet)
				got = fmt.Sprint(r.HasNextResultSet(), r.NextResultSet())
				if got != "true <nil>" {
					t.Errorf("mask %#x: HasNextResultSet, NextResultSet = %s, want true <nil>", mask, got)
				}
			case capRowsColumnTypeScanType:
				call = "ColumnTypeScanType 0"
				got = w.(driver.RowsColumnTypeScanType).ColumnTypeScanType(0).String()
			case capRowsColumnTypeDatabaseTypeName:
				call = "ColumnTypeDatabaseTypeName 1"
				got = w.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(1)
			case capRowsColumnTypeLength:
				call = "ColumnTypeLength 2"
				got = fmt.Sprint(w.(driver.RowsColumnTypeLength).ColumnTypeLength(2))
			case capRowsColumnTypeNullable:
				call = "ColumnTypeNullable 3"
				got = fmt.Sprint(w.(driver.RowsColumnTypeNullable).ColumnTypeNullable(3))
			case capRowsColumnTypePrecisionScale:
				call = "ColumnTypePrecisionScale 4"
				got = fmt.Sprint(w.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(4))
			default:
				t.Fatalf("no call for %s", c.name)
			}
			if l := log.last(); l != call {
				t.Errorf("mask %#x: %s: driver's last call = %q, want %q (result %s)", mask, c.name, l, call, got)
			}
		}
		if got := w.(interface{ Unwrap() driver.Rows }).Unwrap(); got != inner {
			t.Errorf("mask %#x: Unwrap does not return the driver's rows", mask)
		}
	}
}

func TestLegacyExecerAndQueryerAreCalledAsDatabaseSQLWould(t *testing.T) {
	m := newTestMiddleware(t)
	d := &fakeDriver{legacy: true, log: &callLog{}}
	w := m.wrapConn(d.newConn())
	if _, ok := w.(driver.Execer); ok { //nolint:staticcheck // the point of the test
		t.Error("wrapped conn has the legacy Execer; want only ExecerContext")
	}
	ec, ok1 := w.(driver.ExecerContext)
	qc, ok2 := w.(driver.QueryerContext)
	if !ok1 || !ok2 {
		t.Fatalf("wrapped legacy conn: ExecerContext %v, QueryerContext %v; want both", ok1, ok2)
	}
	ctx := context.Background()
	if _, err := ec.ExecContext(ctx, "INSERT", []driver.NamedValue{{Ordinal: 1, Value: int64(7)}}); err != nil {
		t.Fatal(err)
	}
	if got, want := d.log.last(), "Exec INSERT [7]"; got != want {
		t.Errorf("driver's last call = %q, want %q", got, want)
	}
	_, err := ec.ExecContext(ctx, "INSERT", []driver.NamedValue{{Name: "a", Ordinal: 1, Value: int64(7)}})
	if err == nil || err.Error() != "sql: driver does not support the use of Named Parameters" {
		t.Errorf("named argument: err = %v, want database/sql's message", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := qc.QueryContext(cancelled, "SELECT", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	if got, want := d.log.last(), "Exec INSERT [7]"; got != want {
		t.Errorf("refused calls reached the driver: last call = %q", got)
	}
	r, err := qc.QueryContext(ctx, "SELECT", []driver.NamedValue{{Ordinal: 1, Value: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if s := m.Stats(); s.Total != 2 || s.Type(QueryInsert).Total != 1 || s.Type(QuerySelect).Total != 1 {
		t.Errorf("stats: total %d, INSERT %d, SELECT %d; want 2, 1, 1", s.Total, s.Type(QueryInsert).Total, s.Type(QuerySelect).Total)
	}

	// Through database/sql, bare and wrapped behave the same.
	bare := transcript(t, sql.OpenDB(fakeConnector{&fakeDriver{legacy: true, log: &callLog{}}}), false)
	wrapped := transcript(t, sql.OpenDB(newTestMiddleware(t).WrapConnector(fakeConnector{&fakeDriver{legacy: true, log: &callLog{}}})), false)
	compareLines(t, "legacy driver", bare, wrapped)
}

// transcript runs a fixed sequence of database/sql calls that exercises
// every path of the fake driver and returns what the caller sees, one line
// per result. With deadline it also runs a statement that outlives its
// context (slow for drivers without context support, so optional).
func transcript(t *testing.T, db *sql.DB, deadline bool) []string {
	t.Helper()
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	result := func(what string, res sql.Result, err error) {
		if err != nil {
			say("%s: error %v", what, err)
			return
		}
		n, err1 := res.RowsAffected()
		id, err2 := res.LastInsertId()
		say("%s: affected %d %v, id %d %v", what, n, err1, id, err2)
	}
	readRows := func(what string, rows *sql.Rows, err error) {
		if err != nil {
			say("%s: error %v", what, err)
			return
		}
		defer rows.Close()
		cols, err := rows.ColumnTypes()
		if err != nil {
			say("%s: column types error %v", what, err)
		}
		for _, c := range cols {
			n, nok := c.Nullable()
			l, lok := c.Length()
			p, s, pok := c.DecimalSize()
			say("%s: column %s %q %v null %v/%v len %d/%v dec %d,%d/%v", what, c.Name(), c.DatabaseTypeName(), c.ScanType(), n, nok, l, lok, p, s, pok)
		}
		for set := 0; ; set++ {
			for rows.Next() {
				var v any
				if err := rows.Scan(&v); err != nil {
					say("%s: scan error %v", what, err)
				}
				say("%s: set %d row %v", what, set, v)
			}
			if !rows.NextResultSet() {
				break
			}
		}
		say("%s: rows.Err %v, Close %v", what, rows.Err(), rows.Close())
	}

	res, err := db.ExecContext(ctx, "INSERT a", 1, "two")
	result("exec", res, err)
	res, err = db.ExecContext(ctx, "UPDATE ERR")
	result("exec error", res, err)
	res, err = db.ExecContext(ctx, "DELETE SKIP", 1)
	result("exec ErrSkip fallback", res, err)
	res, err = db.ExecContext(ctx, "INSERT named", sql.Named("a", 1))
	result("exec named", res, err)
	res, err = db.ExecContext(ctx, "INSERT custom", fakeUint(5))
	result("exec custom type", res, err)
	rows, err := db.QueryContext(ctx, "SELECT", 1, 2, 3)
	readRows("query", rows, err)
	rows, err = db.QueryContext(ctx, "SELECT SKIP", int64(4))
	readRows("query ErrSkip fallback", rows, err)
	rows, err = db.QueryContext(ctx, "SELECT ERR")
	readRows("query error", rows, err)
	rows, err = db.QueryContext(ctx, "SELECT NEXTERR", 1, 2)
	readRows("next error", rows, err)
	rows, err = db.QueryContext(ctx, "SELECT MULTI", 9)
	readRows("multi", rows, err)
	var v any
	err = db.QueryRowContext(ctx, "SELECT row", fakeUint(6)).Scan(&v)
	say("query row custom type: %v %v", v, err)
	res, err = db.ExecContext(ctx, "INSERT BADCONN")
	result("bad conn retried", res, err)

	stmt, err := db.PrepareContext(ctx, "UPDATE prepared")
	if err != nil {
		say("prepare: error %v", err)
	} else {
		res, err = stmt.ExecContext(ctx, 1, 2)
		result("stmt exec", res, err)
		res, err = stmt.ExecContext(ctx, fakeUint(3))
		result("stmt exec custom type", res, err)
		rows, err = stmt.QueryContext(ctx, "a")
		readRows("stmt query", rows, err)
		say("stmt close: %v", stmt.Close())
	}
	_, err = db.PrepareContext(ctx, "PREPARE ERR")
	say("prepare error: %v", err)

	for _, opts := range []*sql.TxOptions{nil, {ReadOnly: true}, {Isolation: sql.LevelSerializable}} {
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			say("begin %+v: error %v", opts, err)
			continue
		}
		res, err = tx.ExecContext(ctx, "INSERT in tx")
		result("tx exec", res, err)
		say("commit: %v", tx.Commit())
	}
	tx, err := db.Begin()
	if err != nil {
		say("begin: error %v", err)
	} else {
		say("rollback: %v", tx.Rollback())
	}
	say("ping: %v", db.PingContext(ctx))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.ExecContext(cancelled, "INSERT cancelled")
	say("cancelled: %v", err)
	if deadline {
		timeout, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		_, err = db.ExecContext(timeout, "SELECT sleep=100ms")
		cancel()
		say("deadline: %v", err)
	}
	conn, err := db.Conn(ctx)
	if err == nil {
		_ = conn.Raw(func(dc any) error {
			say("raw: %T", Raw(dc))
			return nil
		})
		_ = conn.Close()
	}
	say("close: %v", db.Close())
	return out
}

// compareLines fails with a line diff when got differs from want.
func compareLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	n := max(len(want), len(got))
	var diffs []string
	for i := range n {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("line %d:\n  bare:    %s\n  wrapped: %s", i, w, g))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s: wrapped differs from bare:\n%s", what, strings.Join(diffs, "\n"))
	}
}

func TestDatabaseSQLSeesTheSameAsWithTheBareDriver(t *testing.T) {
	tests := []struct {
		name                         string
		connMask, stmtMask, rowsMask int
	}{
		{"a no-op driver with every optional interface", allConnCaps, allStmtCaps, allRowsCaps},
		{"a minimal driver with no optional interface", 0, 0, 0},
		{"a statement without NamedValueChecker falls back to the connection's", allConnCaps, allStmtCaps &^ capStmtNamedValueChecker, allRowsCaps},
		{"a statement with only a ColumnConverter", 0, capColumnConverter, 0},
		{"a connection without BeginTx refuses options as database/sql does", allConnCaps &^ capConnBeginTx, allStmtCaps, allRowsCaps},
		{"rows with column types but no further result sets", capExecerContext | capQueryerContext, allStmtCaps, allRowsCaps &^ capRowsNextResultSet},
		{"a driver with only a Pinger and a Validator", capPinger | capValidator, 0, capRowsNextResultSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bareDrv := &fakeDriver{connMask: tt.connMask, stmtMask: tt.stmtMask, rowsMask: tt.rowsMask, log: &callLog{}}
			wrapDrv := &fakeDriver{connMask: tt.connMask, stmtMask: tt.stmtMask, rowsMask: tt.rowsMask, log: &callLog{}}
			m := newTestMiddleware(t)
			bare := transcript(t, sql.OpenDB(fakeConnector{bareDrv}), true)
			wrapped := transcript(t, sql.OpenDB(m.WrapConnector(fakeConnector{wrapDrv})), true)
			compareLines(t, "results", bare, wrapped)
			compareLines(t, "driver calls", bareDrv.log.snapshot(), wrapDrv.log.snapshot())
			if testing.Verbose() {
				t.Logf("transcript:\n%s", strings.Join(wrapped, "\n"))
			}
		})
	}
}

func TestEveryConnectionCombinationBehavesAsBare(t *testing.T) {
	for mask := range len(fakeConnCombos) {
		bareDrv := &fakeDriver{connMask: mask, stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: &callLog{}}
		wrapDrv := &fakeDriver{connMask: mask, stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: &callLog{}}
		bare := transcript(t, sql.OpenDB(fakeConnector{bareDrv}), false)
		wrapped := transcript(t, sql.OpenDB(newTestMiddleware(t).WrapConnector(fakeConnector{wrapDrv})), false)
		compareLines(t, fmt.Sprintf("conn mask %#x results", mask), bare, wrapped)
		compareLines(t, fmt.Sprintf("conn mask %#x driver calls", mask), bareDrv.log.snapshot(), wrapDrv.log.snapshot())
	}
}

func TestRowsClosedAfterCancellationCountAsFailedOnlyIfUnfinished(t *testing.T) {
	tests := []struct {
		name     string
		readAll  bool
		wantErrs uint64
	}{
		{"rows read to the end are a success even if the context ends before Close", true, 0},
		{"rows abandoned because the context ended are a failure", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t)
			ctx, cancel := context.WithCancel(context.Background())
			inner := &fakeRows{d: &fakeDriver{}, sets: 1, data: [][]driver.Value{{int64(1)}, {int64(2)}}}
			r := m.wrapRows(ctx, inner, &rowsCapCache{}, kindSelect, "SELECT", clock())
			dest := make([]driver.Value, 1)
			for {
				err := r.Next(dest)
				if err != nil || !tt.readAll {
					break
				}
			}
			cancel()
			must(t, r.Close())
			must(t, r.Close()) // a second Close is not a second query
			if s := m.Stats().Type(QuerySelect); s.Total != 1 || s.Errors != tt.wantErrs {
				t.Errorf("recorded %d queries, %d errors; want 1, %d", s.Total, s.Errors, tt.wantErrs)
			}
		})
	}
}
