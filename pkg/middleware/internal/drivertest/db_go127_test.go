//go:build go1.27

package drivertest

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// TestPostgresScansArraysIntoSlices: on Go 1.27 pgx's rows implement
// driver.RowsColumnScanner and scan a PostgreSQL array into a Go slice,
// which database/sql alone cannot. Through the middleware the same scan
// must give the same result as bare, and be recorded.
func TestPostgresScansArraysIntoSlices(t *testing.T) {
	dsn := serverDSN(t, "pgx", postgresDSNEnv, defaultPostgresDSN)
	cfg, err := pgx.ParseConfig(dsn)
	must(t, err)
	scan := func(db *sql.DB) ([]int32, error) {
		defer db.Close()
		var got []int32
		err := db.QueryRow("SELECT $1::int4[]", []int32{1, 2, 3}).Scan(&got)
		return got, err
	}
	bare, bareErr := scan(sql.OpenDB(stdlib.GetConnector(*cfg)))
	if bareErr != nil || !slices.Equal(bare, []int32{1, 2, 3}) {
		t.Fatalf("bare pgx: %v %v, want [1 2 3]", bare, bareErr)
	}
	m := newTestMiddleware(t)
	got, err := scan(sql.OpenDB(m.WrapConnector(stdlib.GetConnector(*cfg))))
	if err != nil || !slices.Equal(got, bare) {
		t.Errorf("through the middleware: %v %v, want %v as bare", got, err, bare)
	}
	if s := m.Stats().Type(middleware.QuerySelect); s.Total != 1 || s.Errors != 0 {
		t.Errorf("recorded %d selects, %d errors; want 1, 0", s.Total, s.Errors)
	}
}
