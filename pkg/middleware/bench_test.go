package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The benchmarks run every operation on a bare *sql.DB and on one wrapped
// by a registered Middleware, as sub-benchmarks impl=bare and
// impl=middleware, so that benchstat -col /impl shows the overhead side by
// side. These run on the no-op fake driver; the SQLite ones, which need a
// real driver, are in the internal/drivertest module. See BENCHMARKS.md.

// benchDBs returns a bare and an instrumented *sql.DB over connectors made
// by connect.
func benchDBs(b *testing.B, connect func() driver.Connector) map[string]*sql.DB {
	b.Helper()
	m, err := New(WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	dbs := map[string]*sql.DB{
		"bare":       sql.OpenDB(connect()),
		"middleware": sql.OpenDB(m.WrapConnector(connect())),
	}
	b.Cleanup(func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	})
	return dbs
}

// eachImpl runs fn as the sub-benchmarks impl=bare and impl=middleware.
func eachImpl(b *testing.B, dbs map[string]*sql.DB, fn func(b *testing.B, db *sql.DB)) {
	for _, impl := range []string{"bare", "middleware"} {
		b.Run("impl="+impl, func(b *testing.B) {
			b.ReportAllocs()
			fn(b, dbs[impl])
		})
	}
}

func noopConnector() driver.Connector { return fakeConnector{benchDriver()} }

func BenchmarkNoopQueryRow(b *testing.B) {
	eachImpl(b, benchDBs(b, noopConnector), func(b *testing.B, db *sql.DB) {
		var v int64
		for b.Loop() {
			if err := db.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNoopExec(b *testing.B) {
	eachImpl(b, benchDBs(b, noopConnector), func(b *testing.B, db *sql.DB) {
		for b.Loop() {
			if _, err := db.Exec("UPDATE t SET v = v + 1 WHERE id = 1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNoopPreparedExec(b *testing.B) {
	eachImpl(b, benchDBs(b, noopConnector), func(b *testing.B, db *sql.DB) {
		stmt, err := db.Prepare("UPDATE t SET v = v + 1 WHERE id = ?")
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		for b.Loop() {
			if _, err := stmt.Exec(int64(1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNoopQueryRowParallel(b *testing.B) {
	eachImpl(b, benchDBs(b, noopConnector), func(b *testing.B, db *sql.DB) {
		b.RunParallel(func(pb *testing.PB) {
			var v int64
			for pb.Next() {
				if err := db.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkNoopLabels runs QueryRow and Exec with the opt-in labels off,
// with db_name, with the statement label (the name from the context), and
// with both, as sub-benchmarks labels=…, so that benchstat -col /labels
// compares them with labels off.
func BenchmarkNoopLabels(b *testing.B) {
	bg := context.Background()
	named := WithStatement(bg, "GetOrder")
	for _, c := range []struct {
		name  string
		opts  []Option
		wrap  []WrapOption
		ctx   context.Context
		query string
	}{
		{"off", nil, nil, bg, "SELECT v FROM t WHERE id = 1"},
		{"db_name", nil, []WrapOption{WithDBName("orders")}, bg, "SELECT v FROM t WHERE id = 1"},
		{"statement", []Option{WithStatementLabel(DefaultMaxStatements)}, nil, named, "SELECT v FROM t WHERE id = 1"},
		{"statement_comment", []Option{WithStatementLabel(DefaultMaxStatements)}, nil, bg, "-- name: GetOrder :one\nSELECT v FROM t WHERE id = 1"},
		{"both", []Option{WithStatementLabel(DefaultMaxStatements)}, []WrapOption{WithDBName("orders")}, named, "SELECT v FROM t WHERE id = 1"},
	} {
		m, err := New(append([]Option{WithRegisterer(prometheus.NewRegistry())}, c.opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(m.WrapConnector(noopConnector(), c.wrap...))
		b.Cleanup(func() { _ = db.Close() })
		b.Run("op=QueryRow/labels="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var v int64
			for b.Loop() {
				if err := db.QueryRowContext(c.ctx, c.query).Scan(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=Exec/labels="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.ExecContext(c.ctx, "UPDATE t SET v = v + 1 WHERE id = 1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
