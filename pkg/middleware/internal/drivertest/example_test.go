package drivertest_test

import (
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// An application instruments an embedded SQLite database, registers the
// query and pool metrics, and prints a summary.
func Example() {
	reg := prometheus.NewRegistry()
	m, err := middleware.New(middleware.WithRegisterer(reg))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dbmonctl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db := sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, filepath.Join(dir, "app.db")))
	defer db.Close()
	if err := m.RegisterDBStats(db, "app"); err != nil {
		log.Fatal(err)
	}

	for _, q := range []string{
		"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
		"INSERT INTO users (name) VALUES ('ann'), ('bob')",
		"UPDATE users SET name = 'cy' WHERE id = 2",
	} {
		if _, err := db.Exec(q); err != nil {
			log.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow("/* app=example */ SELECT count(*) FROM users").Scan(&n); err != nil {
		log.Fatal(err)
	}

	s := m.Stats()
	fmt.Println("users:", n)
	fmt.Println("statements:", s.Total)
	for _, ts := range s.ByType {
		fmt.Printf("%s %d\n", ts.Type, ts.Total)
	}
	// Output:
	// users: 2
	// statements: 4
	// SELECT 1
	// INSERT 1
	// UPDATE 1
	// DELETE 0
	// OTHER 1
}
