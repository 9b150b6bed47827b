package middleware

import (
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
