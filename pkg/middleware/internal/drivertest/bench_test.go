package drivertest

import (
	"database/sql"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// The SQLite benchmarks run every operation on a bare *sql.DB and on one
// wrapped by a registered Middleware, as sub-benchmarks impl=bare and
// impl=middleware, so that benchstat -col /impl shows the overhead side by
// side; the no-op driver's are in the middleware's own module. See
// BENCHMARKS.md there.

// sqliteDBs returns bare and instrumented in-memory SQLite databases with a
// table of 1000 rows; one connection each, so the memory database lives as
// long as the *sql.DB. Both open their connections as sql.Open does for a
// driver without a Connector.
func sqliteDBs(b *testing.B) map[string]*sql.DB {
	b.Helper()
	m, err := middleware.New(middleware.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	bare, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	dbs := map[string]*sql.DB{
		"bare":       bare,
		"middleware": sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, ":memory:")),
	}
	b.Cleanup(func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	})
	for _, db := range dbs {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, name TEXT NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000) " +
			"INSERT INTO t (id, v, name) SELECT i, i * 7, 'name-' || i FROM n"); err != nil {
			b.Fatal(err)
		}
	}
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

func BenchmarkSQLitePointSelect(b *testing.B) {
	eachImpl(b, sqliteDBs(b), func(b *testing.B, db *sql.DB) {
		var (
			v    int64
			name string
			i    int64
		)
		for b.Loop() {
			i = i%1000 + 1
			if err := db.QueryRow("SELECT v, name FROM t WHERE id = ?", i).Scan(&v, &name); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSQLitePointUpdate(b *testing.B) {
	eachImpl(b, sqliteDBs(b), func(b *testing.B, db *sql.DB) {
		var i int64
		for b.Loop() {
			i = i%1000 + 1
			if _, err := db.Exec("UPDATE t SET v = v + 1 WHERE id = ?", i); err != nil {
				b.Fatal(err)
			}
		}
	})
}
