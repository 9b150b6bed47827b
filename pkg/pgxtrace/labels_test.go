package pgxtrace_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
)

// Named statements of a named database through pgxpool with the tracer
// and through database/sql with the middleware produce the same series,
// db_name and statement labels included, with the same counts.
func TestLabelsAreTheSameThroughPoolAndDatabaseSQL(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	script := func(t *testing.T, query func(ctx context.Context, q string) error, commit func() error) {
		t.Helper()
		if err := commit(); err != nil {
			t.Fatalf("transaction: %v", err)
		}
		for _, s := range []struct {
			ctx context.Context
			q   string
		}{
			{middleware.WithStatement(ctx, "GetOne"), "SELECT 1"},
			{middleware.WithStatement(ctx, "GetOne"), "SELECT 1"},
			{ctx, "-- name: GetTwo :one\nSELECT 2"}, // beyond the two names
			{middleware.WithStatement(ctx, "Third"), "SELECT 3"},
			{ctx, "-- name: Fourth :one\nSELEC 4"}, // beyond, and failing
			{ctx, "SELECT 5"},                      // no name
		} {
			err := query(s.ctx, s.q)
			if fails := strings.Contains(s.q, "SELEC "); (err != nil) != fails {
				t.Fatalf("%q: err = %v, want failure %v", s.q, err, fails)
			}
		}
	}
	newMiddleware := func(reg prometheus.Registerer) *middleware.Middleware {
		m, err := middleware.New(middleware.WithRegisterer(reg), middleware.WithLogger(nil), middleware.WithStatementLabel(2))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	pgxReg := prometheus.NewRegistry()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = pgxtrace.New(newMiddleware(pgxReg), pgxtrace.WithDBName("orders"))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	script(t, func(ctx context.Context, q string) error {
		var v int
		return pool.QueryRow(ctx, q).Scan(&v)
	}, func() error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "-- name: InTx :exec\nSELECT 1"); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})

	sqlReg := prometheus.NewRegistry()
	m := newMiddleware(sqlReg)
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(m.WrapConnector(stdlib.GetConnector(*connCfg), middleware.WithDBName("orders")))
	defer db.Close()
	script(t, func(ctx context.Context, q string) error {
		var v int
		return db.QueryRowContext(ctx, q).Scan(&v)
	}, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "-- name: InTx :exec\nSELECT 1"); err != nil {
			return err
		}
		return tx.Commit()
	})

	got, want := series(t, pgxReg), series(t, sqlReg)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pgxpool series:\n%s\n\ndatabase/sql series:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all := strings.Join(got, "\n")
	for _, line := range []string{
		`COUNTER db_queries_total{db_name=orders,query_type=SELECT,statement=GetOne} 2`,
		`COUNTER db_queries_total{db_name=orders,query_type=SELECT,statement=_overflow} 2`, // GetTwo and Third: InTx and GetOne came first
		`COUNTER db_query_errors_total{db_name=orders,query_type=OTHER,statement=_overflow} 1`,
		`COUNTER db_queries_total{db_name=orders,query_type=SELECT,statement=_unnamed} 1`,
		`COUNTER db_statement_overflow_total{db_name=orders} 3`,
		`COUNTER db_queries_total{db_name=orders,query_type=SELECT,statement=InTx} 1`,
		`HISTOGRAM db_transaction_duration_seconds{db_name=orders,outcome=commit} count=1`,
	} {
		if !strings.Contains(all, line) {
			t.Errorf("missing %s in:\n%s", line, all)
		}
	}
}
