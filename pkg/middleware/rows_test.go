package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
)

func TestClosedRowsWrapperIsReusedByTheNextQuery(t *testing.T) {
	m := newTestMiddleware(t)
	var caps rowsCapCache
	d := &fakeDriver{log: &callLog{}}
	newRows := func(mask int) driver.Rows {
		return fakeRowsCombos[mask](&fakeRows{d: d, sets: 1, data: [][]driver.Value{{int64(1)}}})
	}
	first := m.wrapRows(context.Background(), newRows(0), &caps, m.unnamed.plain, kindSelect, "SELECT 1", clock())
	must(t, first.Close())
	must(t, first.Close()) // before the next query, a second Close still reaches the driver
	if got := d.log.snapshot(); len(got) != 2 || got[0] != "Rows.Close" || got[1] != "Rows.Close" {
		t.Fatalf("driver calls = %q, want two Rows.Close", got)
	}
	if s := m.Stats(); s.Total != 1 {
		t.Fatalf("after one query closed twice: %d recorded, want 1", s.Total)
	}

	second := m.wrapRows(context.Background(), newRows(0), &caps, m.unnamed.plain, kindSelect, "SELECT 2", clock())
	if second != first {
		t.Fatal("the closed wrapper was not reused by the next query with the same rows type")
	}
	// Reused, it is a fresh wrapper: not done, no error, reads the new rows.
	dest := make([]driver.Value, 1)
	must(t, second.Next(dest))
	if dest[0] != int64(1) {
		t.Fatalf("Next of the reused wrapper = %v, want 1", dest[0])
	}
	third := m.wrapRows(context.Background(), newRows(0), &caps, m.unnamed.plain, kindSelect, "SELECT 3", clock())
	if third == second {
		t.Fatal("a wrapper in use was handed out again")
	}
	must(t, second.Close())
	// Rows with other optional interfaces, but the same exact ones (none
	// of the fakes' before Go 1.27), reuse the idle wrapper: it has every
	// interface that is not exact. Go 1.27's RowsColumnScanner is exact:
	// see TestRowsColumnScannerIsForwardedExactlyWhenTheDriverHasIt.
	fourth := m.wrapRows(context.Background(), newRows(rowsFakeWithSameExactInterfaces(0)), &caps, m.unnamed.plain, kindSelect, "SELECT 4", clock())
	if fourth != second {
		t.Fatal("the idle wrapper was not reused by rows with the same exact interfaces")
	}
	if _, ok := fourth.(driver.RowsNextResultSet); !ok {
		t.Fatal("the wrapper lacks RowsNextResultSet, which it always has")
	}
	must(t, third.Close())
	must(t, fourth.Close())
	if s := m.Stats(); s.Total != 4 {
		t.Fatalf("recorded %d queries, want 4", s.Total)
	}
}

// TestOverlappingRowsOnOneConnection keeps several result sets open on one
// connection (in a transaction), so wrappers are handed back and reused
// while others are still being read.
func TestOverlappingRowsOnOneConnection(t *testing.T) {
	m := newTestMiddleware(t)
	db := sql.OpenDB(m.WrapConnector(fakeConnector{noopDriver()}))
	t.Cleanup(func() { _ = db.Close() })
	tx, err := db.Begin()
	must(t, err)
	defer func() { _ = tx.Rollback() }()
	query := func(args ...any) *sql.Rows {
		t.Helper()
		r, err := tx.Query("SELECT v", args...)
		must(t, err)
		return r
	}
	readAll := func(r *sql.Rows) []int64 {
		t.Helper()
		var got []int64
		for r.Next() {
			var v int64
			must(t, r.Scan(&v))
			got = append(got, v)
		}
		must(t, r.Err())
		return got
	}
	a := query(int64(1), int64(2))
	b := query(int64(3), int64(4))
	must(t, a.Close())
	c := query(int64(5)) // may reuse a's wrapper while b is open
	if got := readAll(b); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Errorf("b = %v, want [3 4]", got)
	}
	if got := readAll(c); len(got) != 1 || got[0] != 5 {
		t.Errorf("c = %v, want [5]", got)
	}
	if _, err := a.Columns(); err == nil {
		t.Error("a closed sql.Rows answered Columns after its wrapper was reused")
	}
	stmt, err := tx.Prepare("SELECT v")
	must(t, err)
	for i := range int64(3) {
		r, err := stmt.Query(i, i+1)
		must(t, err)
		if got := readAll(r); len(got) != 2 || got[0] != i || got[1] != i+1 {
			t.Errorf("prepared query %d = %v, want [%d %d]", i, got, i, i+1)
		}
	}
	if s := m.Stats().Type(QuerySelect); s.Total != 6 || s.Errors != 0 {
		t.Errorf("recorded %d selects, %d errors; want 6, 0", s.Total, s.Errors)
	}
}

// TestQueryAllocatesNoMoreThanBare checks the zero-allocation claim on the
// no-op driver: once a connection has returned rows, a QueryRow through
// the middleware allocates exactly what it allocates on the bare driver.
func TestQueryAllocatesNoMoreThanBare(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	allocs := func(db *sql.DB) float64 {
		db.SetMaxOpenConns(1)
		var v int64
		run := func() {
			if err := db.QueryRow("SELECT v", int64(1)).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("UPDATE t SET v = 1"); err != nil {
				t.Fatal(err)
			}
		}
		run() // open the connection
		return testing.AllocsPerRun(200, run)
	}
	bareDB := sql.OpenDB(fakeConnector{benchDriver()})
	t.Cleanup(func() { _ = bareDB.Close() })
	wrapped := sql.OpenDB(newTestMiddleware(t).WrapConnector(fakeConnector{benchDriver()}))
	t.Cleanup(func() { _ = wrapped.Close() })
	bare, mw := allocs(bareDB), allocs(wrapped)
	if mw > bare {
		t.Errorf("QueryRow and Exec allocate %.1f times through the middleware, %.1f bare", mw, bare)
	}
}

func TestConnectionRemembersTheLastClassification(t *testing.T) {
	m := newTestMiddleware(t)
	c := &conn{m: m, db: m.unnamed}
	dynamic := func(s string) string { return string([]byte(s)) } // same text, new bytes
	steps := []struct {
		query string
		want  kind
	}{
		{"", kindOther}, // the zero memo must not turn an empty statement into a SELECT
		{"SELECT 1", kindSelect},
		{"SELECT 1", kindSelect},
		{"DELETE 1", kindDelete}, // same length, other text
		{dynamic("UPDATE 1"), kindUpdate},
		{dynamic("INSERT 1"), kindInsert},
		{"", kindOther},
		{"DELETE 1", kindDelete},
	}
	for i, s := range steps {
		if got, _ := c.target(t.Context(), s.query); got != s.want {
			t.Errorf("step %d: target(%q) = %v, want %v", i, s.query, kindTypes[got], kindTypes[s.want])
		}
	}
}

// rowsFakeWithSameExactInterfaces returns a fake rows mask with every
// optional interface that the wrapper always has and the exact interfaces
// of mask.
func rowsFakeWithSameExactInterfaces(mask int) int {
	for _, c := range rowsIfaces {
		if c.always {
			mask |= c.bit
		}
	}
	return mask
}
