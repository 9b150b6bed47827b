package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
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

// The wrappers have each exact interface (see wrapgen) exactly when the
// driver's object has it, and every other optional interface always; a
// call to an interface the driver has reaches the driver's method. What a
// wrapper does for an interface the driver lacks is database/sql's own
// fallback, which the transcript tests compare with the bare driver.

func TestWrappedConnHasTheExactInterfacesOfTheDriversAndTheRestAlways(t *testing.T) {
	m := newTestMiddleware(t)
	ctx := context.Background()
	for mask := range len(fakeConnCombos) {
		log := &callLog{}
		d := &fakeDriver{stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: log}
		inner := fakeConnCombos[mask](&fakeConn{d: d})
		w := m.wrapConn(inner, m.unnamed)
		for _, c := range connIfaces {
			has := mask&c.bit != 0
			if got := c.has(inner); got != has {
				t.Fatalf("mask %#x: fake has %s = %v, want %v (broken fake)", mask, c.name, got, has)
			}
			if got, want := c.has(w), has || c.always; got != want {
				t.Errorf("mask %#x: wrapped conn has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !has {
				continue
			}
			// The call must reach the driver's own method.
			var call string
			switch c.bit {
			case hasPinger:
				call = "Ping"
				_ = w.(driver.Pinger).Ping(ctx)
			case hasExecer:
				call = "Exec INSERT [1]"
				_, _ = w.(driver.Execer).Exec("INSERT", []driver.Value{int64(1)}) //nolint:staticcheck // the legacy interface is the point
			case hasExecerContext:
				call = "ExecContext INSERT [#1=1]"
				_, _ = w.(driver.ExecerContext).ExecContext(ctx, "INSERT", []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
			case hasQueryer, hasQueryerContext:
				call = "Rows.Close"
				var r driver.Rows
				if c.bit == hasQueryer {
					r, _ = w.(driver.Queryer).Query("SELECT", nil) //nolint:staticcheck // the legacy interface is the point
				} else {
					r, _ = w.(driver.QueryerContext).QueryContext(ctx, "SELECT", nil)
				}
				_ = r.Close()
			case hasConnPrepareContext:
				call = "PrepareContext UPDATE"
				_, _ = w.(driver.ConnPrepareContext).PrepareContext(ctx, "UPDATE")
			case hasConnBeginTx:
				call = "BeginTx {Isolation:6 ReadOnly:true}"
				_, _ = w.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{Isolation: 6, ReadOnly: true})
			case hasSessionResetter:
				call = "ResetSession"
				_ = w.(driver.SessionResetter).ResetSession(ctx)
			case hasValidator:
				call = "IsValid"
				_ = w.(driver.Validator).IsValid()
			case hasConnNamedValueChecker:
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

func TestWrappedStmtHasTheExactInterfacesOfTheDriversAndTheRestAlways(t *testing.T) {
	m := newTestMiddleware(t)
	ctx := context.Background()
	for mask := range len(fakeStmtCombos) {
		log := &callLog{}
		d := &fakeDriver{rowsMask: allRowsCaps, log: log}
		inner := fakeStmtCombos[mask](&fakeStmt{c: &fakeConn{d: d}, query: "SELECT"})
		w := m.wrapStmt(inner, "SELECT", m.unnamed, nil)
		for _, c := range stmtIfaces {
			has := mask&c.bit != 0
			if got, want := c.has(w), has || c.always; got != want {
				t.Errorf("mask %#x: wrapped stmt has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !has {
				continue
			}
			var call string
			switch c.bit {
			case hasStmtExecContext:
				call = "Stmt.ExecContext []"
				_, _ = w.(driver.StmtExecContext).ExecContext(ctx, nil)
			case hasStmtQueryContext:
				call = "Stmt.QueryContext [#1=2]"
				_, _ = w.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: int64(2)}})
			case hasStmtNamedValueChecker:
				call = "stmt.CheckNamedValue 1"
				_ = w.(driver.NamedValueChecker).CheckNamedValue(&driver.NamedValue{Ordinal: 1})
			case hasColumnConverter:
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

func TestStmtWithoutCheckerUsesTheCheckerOfItsConnection(t *testing.T) {
	m := newTestMiddleware(t)
	log := &callLog{}
	c := &fakeConn{d: &fakeDriver{log: log}}
	inner := fakeStmtCombos[0](&fakeStmt{c: c, query: "SELECT"})
	connChecker := fakeConnCombos[hasConnNamedValueChecker](c).(driver.NamedValueChecker)
	nv := &driver.NamedValue{Ordinal: 2, Value: fakeUint(7)}
	if err := m.wrapStmt(inner, "SELECT", m.unnamed, connChecker).(driver.NamedValueChecker).CheckNamedValue(nv); err != nil || nv.Value != int64(7) {
		t.Errorf("CheckNamedValue = %v, value %v; want the connection's conversion to int64(7)", err, nv.Value)
	}
	if got := log.last(); got != "conn.CheckNamedValue 2" {
		t.Errorf("driver's last call = %q, want the connection's checker", got)
	}
	if err := m.wrapStmt(inner, "SELECT", m.unnamed, nil).(driver.NamedValueChecker).CheckNamedValue(nv); err != driver.ErrSkip {
		t.Errorf("without any checker: CheckNamedValue = %v, want driver.ErrSkip itself", err)
	}
}

func TestWrappedRowsHaveTheExactInterfacesOfTheDriversAndTheRestAlways(t *testing.T) {
	m := newTestMiddleware(t)
	// One cache for all, and every combination twice in a row: the first
	// time the type differs from the cached one, the second time it is the
	// cached one.
	var caps rowsCapCache
	for i := range 2 * len(fakeRowsCombos) {
		mask := i / 2
		log := &callLog{}
		d := &fakeDriver{log: log}
		inner := fakeRowsCombos[mask](&fakeRows{d: d, sets: 2, data: oneRow})
		w := m.wrapRows(context.Background(), inner, &caps, m.unnamed.plain, kindSelect, "SELECT", 0)
		for _, c := range rowsIfaces {
			has := mask&c.bit != 0
			if got, want := c.has(w), has || c.always; got != want {
				t.Errorf("mask %#x: wrapped rows has %s = %v, want %v", mask, c.name, got, want)
				continue
			}
			if !has {
				continue
			}
			var call, got string
			switch c.bit {
			case hasRowsNextResultSet:
				call = "NextResultSet"
				r := w.(driver.RowsNextResultSet)
				got = fmt.Sprint(r.HasNextResultSet(), r.NextResultSet())
				if got != "true <nil>" {
					t.Errorf("mask %#x: HasNextResultSet, NextResultSet = %s, want true <nil>", mask, got)
				}
			case hasRowsColumnTypeScanType:
				call = "ColumnTypeScanType 0"
				got = w.(driver.RowsColumnTypeScanType).ColumnTypeScanType(0).String()
			case hasRowsColumnTypeDatabaseTypeName:
				call = "ColumnTypeDatabaseTypeName 1"
				got = w.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(1)
			case hasRowsColumnTypeLength:
				call = "ColumnTypeLength 2"
				got = fmt.Sprint(w.(driver.RowsColumnTypeLength).ColumnTypeLength(2))
			case hasRowsColumnTypeNullable:
				call = "ColumnTypeNullable 3"
				got = fmt.Sprint(w.(driver.RowsColumnTypeNullable).ColumnTypeNullable(3))
			case hasRowsColumnTypePrecisionScale:
				call = "ColumnTypePrecisionScale 4"
				got = fmt.Sprint(w.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(4))
			default:
				var ok bool
				if call, got, ok = callNewerRowsInterface(w, c.bit); !ok {
					t.Fatalf("no call for %s", c.name)
				}
			}
			if l := log.last(); l != call {
				t.Errorf("mask %#x: %s: driver's last call = %q, want %q (result %s)", mask, c.name, l, call, got)
			}
		}
		if got := w.(interface{ Unwrap() driver.Rows }).Unwrap(); got != inner {
			t.Errorf("mask %#x: Unwrap does not return the driver's rows", mask)
		}
		must(t, w.Close())
	}
}

func TestLegacyExecerAndQueryerAreForwardedAsSuch(t *testing.T) {
	m := newTestMiddleware(t)
	d := &fakeDriver{connMask: hasExecer | hasQueryer, log: &callLog{}}
	w := m.wrapConn(d.newConn(), m.unnamed)
	if _, ok := w.(driver.ExecerContext); ok {
		t.Error("wrapped legacy conn has ExecerContext; the driver has only Execer")
	}
	if _, ok := w.(driver.QueryerContext); ok {
		t.Error("wrapped legacy conn has QueryerContext; the driver has only Queryer")
	}
	e, ok1 := w.(driver.Execer)  //nolint:staticcheck // the legacy interface is the point
	q, ok2 := w.(driver.Queryer) //nolint:staticcheck // the legacy interface is the point
	if !ok1 || !ok2 {
		t.Fatalf("wrapped legacy conn: Execer %v, Queryer %v; want both", ok1, ok2)
	}
	if _, err := e.Exec("INSERT", []driver.Value{int64(7)}); err != nil {
		t.Fatal(err)
	}
	if got, want := d.log.last(), "Exec INSERT [7]"; got != want {
		t.Errorf("driver's last call = %q, want %q", got, want)
	}
	if _, err := e.Exec("DELETE SKIP", nil); err != driver.ErrSkip {
		t.Errorf("Exec of SKIP: err = %v, want driver.ErrSkip itself", err)
	}
	if _, err := q.Query("SELECT SKIP", nil); err != driver.ErrSkip {
		t.Errorf("Query of SKIP: err = %v, want driver.ErrSkip itself", err)
	}
	r, err := q.Query("SELECT", []driver.Value{"x"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.Close())
	if s := m.Stats(); s.Total != 2 || s.Type(QueryInsert).Total != 1 || s.Type(QuerySelect).Total != 1 || s.Type(QueryDelete).Total != 0 {
		t.Errorf("stats: total %d, INSERT %d, SELECT %d, DELETE %d; want 2, 1, 1, 0 (ErrSkip is not a statement)",
			s.Total, s.Type(QueryInsert).Total, s.Type(QuerySelect).Total, s.Type(QueryDelete).Total)
	}

	// Through database/sql, bare and wrapped behave the same, ErrSkip
	// fallbacks to a prepared statement included, with the legacy
	// interfaces alone and next to the context ones.
	for _, mask := range []int{hasExecer | hasQueryer, hasExecer | hasQueryerContext, hasQueryer | hasExecerContext,
		allConnCaps, allConnCaps &^ (hasExecerContext | hasQueryerContext)} {
		bareDrv := &fakeDriver{connMask: mask, log: &callLog{}}
		wrapDrv := &fakeDriver{connMask: mask, log: &callLog{}}
		bare := transcript(t, sql.OpenDB(fakeConnector{bareDrv}), false)
		wrapped := transcript(t, sql.OpenDB(newTestMiddleware(t).WrapConnector(fakeConnector{wrapDrv})), false)
		compareLines(t, fmt.Sprintf("conn mask %#x results", mask), bare, wrapped)
		compareLines(t, fmt.Sprintf("conn mask %#x driver calls", mask), bareDrv.log.snapshot(), wrapDrv.log.snapshot())
		if !slices.ContainsFunc(wrapDrv.log.snapshot(), func(c string) bool { return strings.HasPrefix(c, "Prepare") && strings.HasSuffix(c, " DELETE SKIP") }) {
			t.Errorf("conn mask %#x: the ErrSkip fallback did not prepare the statement", mask)
		}
	}
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
	// A transaction whose context ends is rolled back by database/sql,
	// which keeps the connection only if the driver's has both a
	// SessionResetter and a Validator.
	txCtx, cancelTx := context.WithCancel(ctx)
	tx, err = db.BeginTx(txCtx, nil)
	if err != nil {
		say("begin cancellable: error %v", err)
	} else {
		cancelTx()
		say("cancelled transaction: %s", settled(t, db))
		say("commit after cancel: %v", tx.Commit())
	}
	cancelTx()
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

// settled waits until database/sql has put back or closed the one
// connection of db after a cancelled transaction, and says which.
func settled(t *testing.T, db *sql.DB) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		switch s := db.Stats(); {
		case s.OpenConnections == 0:
			return "connection closed"
		case s.InUse == 0 && s.Idle == 1:
			return "connection kept"
		}
	}
	t.Fatal("the connection of a cancelled transaction was neither put back nor closed in 10s")
	return ""
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
		{"a statement without NamedValueChecker falls back to the connection's", allConnCaps, allStmtCaps &^ hasStmtNamedValueChecker, allRowsCaps},
		{"a statement with only a ColumnConverter", 0, hasColumnConverter, 0},
		{"a statement with a ColumnConverter on a connection with a checker", hasConnNamedValueChecker, hasColumnConverter, 0},
		{"a connection without BeginTx refuses options as database/sql does", allConnCaps &^ hasConnBeginTx, allStmtCaps, allRowsCaps},
		{"a connection without PrepareContext prepares with Prepare", allConnCaps &^ hasConnPrepareContext, allStmtCaps, allRowsCaps},
		{"statements without the context interfaces", allConnCaps, hasStmtNamedValueChecker | hasColumnConverter, allRowsCaps},
		{"rows with column types but no further result sets", hasExecerContext | hasQueryerContext, allStmtCaps, allRowsCaps &^ hasRowsNextResultSet},
		{"a driver with only a Pinger and a Validator", hasPinger | hasValidator, 0, hasRowsNextResultSet},
		{"a Validator without a SessionResetter loses the connection of a cancelled transaction", hasValidator, 0, 0},
		{"a SessionResetter without a Validator loses it too", hasSessionResetter, 0, 0},
		{"a SessionResetter and a Validator keep it", hasSessionResetter | hasValidator, 0, 0},
		{"a legacy driver with only Execer and Queryer", hasExecer | hasQueryer, 0, 0},
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

// everyCombination runs the transcript bare and wrapped over fake drivers
// with each of the masks, and compares them.
func everyCombination(t *testing.T, what string, n int, driverOf func(mask int) *fakeDriver) {
	t.Helper()
	for mask := range n {
		bareDrv, wrapDrv := driverOf(mask), driverOf(mask)
		bare := transcript(t, sql.OpenDB(fakeConnector{bareDrv}), false)
		wrapped := transcript(t, sql.OpenDB(newTestMiddleware(t).WrapConnector(fakeConnector{wrapDrv})), false)
		compareLines(t, fmt.Sprintf("%s mask %#x results", what, mask), bare, wrapped)
		compareLines(t, fmt.Sprintf("%s mask %#x driver calls", what, mask), bareDrv.log.snapshot(), wrapDrv.log.snapshot())
	}
}

func TestEveryConnectionCombinationBehavesAsBare(t *testing.T) {
	everyCombination(t, "conn", len(fakeConnCombos), func(mask int) *fakeDriver {
		return &fakeDriver{connMask: mask, stmtMask: allStmtCaps, rowsMask: allRowsCaps, log: &callLog{}}
	})
}

func TestEveryStatementCombinationBehavesAsBare(t *testing.T) {
	for _, connMask := range []int{0, allConnCaps} {
		everyCombination(t, fmt.Sprintf("conn %#x stmt", connMask), len(fakeStmtCombos), func(mask int) *fakeDriver {
			return &fakeDriver{connMask: connMask, stmtMask: mask, rowsMask: allRowsCaps, log: &callLog{}}
		})
	}
}

func TestEveryRowsCombinationBehavesAsBare(t *testing.T) {
	for _, connMask := range []int{0, allConnCaps} {
		everyCombination(t, fmt.Sprintf("conn %#x rows", connMask), len(fakeRowsCombos), func(mask int) *fakeDriver {
			return &fakeDriver{connMask: connMask, stmtMask: allStmtCaps, rowsMask: mask, log: &callLog{}}
		})
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
			r := m.wrapRows(ctx, inner, &rowsCapCache{}, m.unnamed.plain, kindSelect, "SELECT", clock())
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
