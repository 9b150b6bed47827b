//go:build go1.27

package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"testing"
)

// Go 1.27 added driver.RowsColumnScanner: database/sql then calls NextRow
// instead of Next and lets the driver scan each column into the caller's
// destination, so a driver can fill types database/sql cannot convert
// (pgx scans PostgreSQL arrays into Go slices).

type fakeRowsRowsColumnScanner fakeRows

func (r *fakeRowsRowsColumnScanner) NextRow() error {
	r.d.log.add("NextRow")
	return (*fakeRows)(r).advance()
}

// ScanColumn scans like database/sql, and also into a *[]int64, which
// database/sql cannot fill from a driver.Value: a scan that succeeds only
// when database/sql calls the driver's ScanColumn. It logs whether it got
// database/sql's scan context.
func (r *fakeRowsRowsColumnScanner) ScanColumn(scanCtx driver.ScanContext, index int, dest any) error {
	r.d.log.add("ScanColumn %d context %v", index, scanCtx != driver.ScanContext{})
	v := r.data[r.i-1][index]
	if d, ok := dest.(*[]int64); ok {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("fake: cannot scan %T into *[]int64", v)
		}
		*d = []int64{n, n}
		return nil
	}
	return sql.ConvertAssign(scanCtx, dest, v)
}

// callNewerRowsInterface calls, on w, the method of a rows interface that
// only newer Go versions have.
func callNewerRowsInterface(w driver.Rows, bit int) (call, result string, ok bool) {
	if bit != hasRowsColumnScanner {
		return "", "", false
	}
	s := w.(driver.RowsColumnScanner)
	var v any
	err := s.NextRow()
	return "ScanColumn 0 context false", fmt.Sprint(err, s.ScanColumn(driver.ScanContext{}, 0, &v), v), true
}

func TestRowsColumnScannerIsForwardedExactlyWhenTheDriverHasIt(t *testing.T) {
	m := newTestMiddleware(t)
	var caps rowsCapCache
	d := &fakeDriver{log: &callLog{}}
	plain := m.wrapRows(context.Background(), fakeRowsCombos[allRowsCaps&^hasRowsColumnScanner](&fakeRows{d: d, sets: 1, data: oneRow}), &caps, m.unnamed.plain, kindSelect, "SELECT", clock())
	if _, ok := plain.(driver.RowsColumnScanner); ok {
		t.Error("rows without RowsColumnScanner got a wrapper with it")
	}
	must(t, plain.Close())
	scanner := m.wrapRows(context.Background(), fakeRowsCombos[hasRowsColumnScanner](&fakeRows{d: d, sets: 1, data: oneRow}), &caps, m.unnamed.plain, kindSelect, "SELECT", clock())
	if _, ok := scanner.(driver.RowsColumnScanner); !ok {
		t.Fatal("rows with RowsColumnScanner got a wrapper without it")
	}
	if scanner == plain {
		t.Error("the idle wrapper without RowsColumnScanner was reused for rows with it")
	}
	must(t, scanner.Close())
}

// TestScanThroughTheDriversScanColumn scans into a destination only the
// fake's ScanColumn can fill, through database/sql: it works bare and must
// work wrapped, and database/sql's scan context must reach the driver.
func TestScanThroughTheDriversScanColumn(t *testing.T) {
	scan := func(db *sql.DB) ([]int64, error) {
		defer db.Close()
		var got []int64
		err := db.QueryRow("SELECT", int64(4)).Scan(&got)
		return got, err
	}
	bareDrv := &fakeDriver{connMask: allConnCaps, stmtMask: allStmtCaps, rowsMask: hasRowsColumnScanner, log: &callLog{}}
	wrapDrv := &fakeDriver{connMask: allConnCaps, stmtMask: allStmtCaps, rowsMask: hasRowsColumnScanner, log: &callLog{}}
	m := newTestMiddleware(t)
	bare, bareErr := scan(sql.OpenDB(fakeConnector{bareDrv}))
	got, err := scan(sql.OpenDB(m.WrapConnector(fakeConnector{wrapDrv})))
	if bareErr != nil || !slices.Equal(bare, []int64{4, 4}) {
		t.Fatalf("bare: %v %v, want [4 4] (broken fake)", bare, bareErr)
	}
	if err != nil || !slices.Equal(got, bare) {
		t.Errorf("wrapped: %v %v, want %v as bare", got, err, bare)
	}
	compareLines(t, "driver calls", bareDrv.log.snapshot(), wrapDrv.log.snapshot())
	if !slices.Contains(wrapDrv.log.snapshot(), "ScanColumn 0 context true") {
		t.Errorf("database/sql's scan context did not reach the driver: %q", wrapDrv.log.snapshot())
	}
	if s := m.Stats().Type(QuerySelect); s.Total != 1 || s.Errors != 0 {
		t.Errorf("recorded %d selects, %d errors; want 1, 0", s.Total, s.Errors)
	}
}

// TestNextRowErrorsCountAsFailedQueries: NextRow replaces Next, so its
// errors fail the query as Next's do; ScanColumn's are the caller's
// conversion errors and do not.
func TestNextRowErrorsCountAsFailedQueries(t *testing.T) {
	m := newTestMiddleware(t)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{&fakeDriver{connMask: allConnCaps, stmtMask: allStmtCaps, rowsMask: hasRowsColumnScanner, log: &callLog{}}}))
	defer db.Close()
	rows, err := db.Query("SELECT NEXTERR", 1, 2)
	must(t, err)
	for rows.Next() {
	}
	if rows.Err() == nil {
		t.Fatal("no error from NEXTERR")
	}
	must(t, rows.Close())
	var bad []int64
	if err := db.QueryRow("SELECT", "text").Scan(&bad); err == nil {
		t.Fatal("the fake scanned a string into []int64")
	}
	if s := m.Stats().Type(QuerySelect); s.Total != 2 || s.Errors != 1 {
		t.Errorf("recorded %d selects, %d errors; want 2, 1", s.Total, s.Errors)
	}
}
