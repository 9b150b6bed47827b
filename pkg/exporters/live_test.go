package exporters

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite the scraped family lists under testdata/ from the running exporters")

// The live tests run Debian's exporter binaries against the local servers.
// Without a binary or a server they skip, unless DBMON_REQUIRE_EXPORTERS=1
// makes that a failure.
const (
	requireEnv      = "DBMON_REQUIRE_EXPORTERS"
	postgresBinary  = "/usr/bin/prometheus-postgres-exporter"
	mysqldBinary    = "/usr/bin/prometheus-mysqld-exporter"
	postgresDSN     = "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable"
	mysqlDSN        = "root:@tcp(127.0.0.1:3306)/"
	mysqlTestDB     = "test"
	scrapeDeadline  = 20 * time.Second
	statementLimit  = 30 * time.Second
	pollInterval    = 200 * time.Millisecond
	deadlockTimeout = 15 * time.Second
)

// live is one exporter under test: its contract, binary and data source,
// and the SQL driver the test uses to reach the same server.
type live struct {
	contract  Contract
	binary    string
	dsn       string // the exporter's DATA_SOURCE_NAME
	driver    string // database/sql driver of the test's own connections
	driverDSN string
	// serverVersion is a query returning the server's version string.
	serverVersion string
	// createTable makes an InnoDB/heap table with rows 1 and 2.
	createTable string
	lockRow     string // SELECT … FOR UPDATE of one row, one placeholder
	placeholder string
}

func liveExporters() []live {
	return []live{
		{
			contract: PostgreSQL, binary: postgresBinary, dsn: postgresDSN,
			driver: "pgx", driverDSN: postgresDSN,
			serverVersion: "SELECT 'PostgreSQL ' || current_setting('server_version')",
			createTable:   "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL)",
			lockRow:       "SELECT v FROM %s WHERE id = $1 FOR UPDATE",
		},
		{
			contract: MySQL, binary: mysqldBinary, dsn: mysqlDSN,
			driver: "mysql", driverDSN: mysqlDSN + mysqlTestDB,
			serverVersion: "SELECT VERSION()",
			createTable:   "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB",
			lockRow:       "SELECT v FROM %s WHERE id = ? FOR UPDATE",
		},
	}
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireEnv)
	}
	t.Skipf("skipping: %s; set %s=1 to make this a failure", msg, requireEnv)
}

// open checks the binary and the server and returns a database handle.
func (l live) open(t *testing.T) *sql.DB {
	t.Helper()
	if _, err := os.Stat(l.binary); err != nil {
		skipOrFail(t, "%s not installed", l.binary)
	}
	db, err := sql.Open(l.driver, l.driverDSN)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		skipOrFail(t, "%s server unreachable: %v", l.driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var tableSeq atomic.Int64

// table creates a table unique to this process holding rows 1 and 2, and
// drops it when the test ends.
func (l live) table(t *testing.T, db *sql.DB) string {
	t.Helper()
	name := fmt.Sprintf("dbmon_exporters_%d_%d", os.Getpid(), tableSeq.Add(1))
	ctx := context.Background()
	for _, q := range []string{fmt.Sprintf(l.createTable, name), "INSERT INTO " + name + " (id, v) VALUES (1, 10), (2, 20)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP TABLE "+name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}

// exporter is a running exporter process.
type exporter struct {
	url string
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the exporter with the contract's run settings on a free
// loopback port and waits until its up metric is 1.
func (l live) start(t *testing.T) *exporter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	args := append([]string{"--web.listen-address=" + addr}, l.contract.Run.Args()...)
	cmd := exec.Command(l.binary, args...)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+l.dsn)
	e := &exporter{url: "http://" + addr + "/metrics", log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", l.binary, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", l.contract.Exporter, e.log.String())
		}
	})
	deadline := time.Now().Add(scrapeDeadline)
	for {
		mfs, err := e.scrape()
		if err == nil {
			if v, ok := sum(mfs, l.contract.Up, nil); ok && v == 1 {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s is not 1 after %v (last error: %v)", l.contract.Exporter, l.contract.Up, scrapeDeadline, err)
		}
		time.Sleep(pollInterval)
	}
}

// body fetches one scrape.
func (e *exporter) body() ([]byte, error) {
	resp, err := http.Get(e.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", e.url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func (e *exporter) scrape() (map[string]*dto.MetricFamily, error) {
	b, err := e.body()
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(bytes.NewReader(b))
}

// sum adds the values of the series of name whose labels include match;
// ok is false when there is none.
func sum(mfs map[string]*dto.MetricFamily, name string, match map[string]string) (float64, bool) {
	mf, found := mfs[name]
	if !found {
		return 0, false
	}
	total, ok := 0.0, false
series:
	for _, m := range mf.GetMetric() {
		ls := map[string]string{}
		for _, lp := range m.GetLabel() {
			ls[lp.GetName()] = lp.GetValue()
		}
		for k, v := range match {
			if ls[k] != v {
				continue series
			}
		}
		ok = true
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total, ok
}

// waitFor scrapes until cond holds on the value of name{match}, and
// returns that value; it fails the test after d.
func (e *exporter) waitFor(t *testing.T, d time.Duration, name string, match map[string]string, what string, cond func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(d)
	last := "no scrape"
	for {
		mfs, err := e.scrape()
		if err != nil {
			last = err.Error()
		} else if v, ok := sum(mfs, name, match); !ok {
			last = "no series"
		} else if cond(v) {
			return v
		} else {
			last = fmt.Sprint(v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v: %s not seen within %v (last: %s)", name, match, what, d, last)
		}
		time.Sleep(pollInterval)
	}
}

func testdataPath(c Contract, version string) string {
	return filepath.Join("testdata", c.Exporter+"-"+version+".txt")
}

// TestLive runs each exporter as its contract says, checks that it is a
// supported version exporting every contract metric with the declared type
// and labels, and that its full family list equals the one under testdata/
// for that version (-update rewrites it).
func TestLive(t *testing.T) {
	for _, l := range liveExporters() {
		t.Run(l.contract.Exporter, func(t *testing.T) {
			c := l.contract
			db := l.open(t)
			// pg_stat_user_tables has a series per user table and none
			// without one.
			l.table(t, db)
			var server string
			if err := db.QueryRow(l.serverVersion).Scan(&server); err != nil {
				t.Fatal(err)
			}
			e := l.start(t)
			b, err := e.body()
			if err != nil {
				t.Fatal(err)
			}
			fams, err := ParseScrape(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			parser := expfmt.NewTextParser(model.LegacyValidation)
			mfs, err := parser.TextToMetricFamilies(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			version := buildVersion(mfs, c.BuildInfo)
			t.Logf("%s %s against %s: %d families", c.Exporter, version, server, len(fams))

			if *update {
				header := []string{
					fmt.Sprintf("Families (name, TYPE, label names) of a scrape of %s %s", c.Exporter, version),
					fmt.Sprintf("run with %s against %s, one user table, no replica.", strings.Join(c.Run.Args(), " "), server),
					"Written by: go test ./pkg/exporters -run TestLive -update",
				}
				var buf bytes.Buffer
				if err := WriteFamilies(&buf, header, fams); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(testdataPath(c, version), buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !c.Supports(version) {
				t.Fatalf("%s %s is not a supported version (%v): add it to the contract's Versions once its scraped list (-update) carries every contract metric", c.Exporter, version, c.Versions)
			}
			for _, err := range c.Check(fams, NeedReplica) {
				t.Error(err)
			}
			names := map[string]bool{}
			for _, f := range fams {
				names[f.Name] = true
			}
			for _, m := range c.Metrics {
				if slicesContains(m.Needs, NeedReplica) && names[m.Name] {
					t.Errorf("%s is exported by a primary; the contract says only a replica exports it", m.Name)
				}
			}
			if c.Pack == PostgreSQL.Pack {
				if v, ok := sum(mfs, "pg_replication_lag", nil); !ok || v != 0 {
					t.Errorf("pg_replication_lag on a primary = %v (present %v), want 0", v, ok)
				}
			}

			want, err := readTestdata(c, version)
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffFamilies(want, fams); diff != "" {
				t.Errorf("%s differs from the live scrape of %s %s against %s (- file, + live); rerun with -update if the exporter or server changed:\n%s", testdataPath(c, version), c.Exporter, version, server, diff)
			}
		})
	}
}

func slicesContains(ns []Need, n Need) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

func buildVersion(mfs map[string]*dto.MetricFamily, buildInfo string) string {
	mf, ok := mfs[buildInfo]
	if !ok || len(mf.GetMetric()) == 0 {
		return ""
	}
	for _, lp := range mf.GetMetric()[0].GetLabel() {
		if lp.GetName() == "version" {
			return lp.GetValue()
		}
	}
	return ""
}

func readTestdata(c Contract, version string) ([]Family, error) {
	f, err := os.Open(testdataPath(c, version))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fams, err := ReadFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", testdataPath(c, version), err)
	}
	return fams, nil
}

// diffFamilies lists the lines only in a (-) or only in b (+).
func diffFamilies(a, b []Family) string {
	in := func(fs []Family) map[string]bool {
		m := map[string]bool{}
		for _, f := range fs {
			m[f.String()] = true
		}
		return m
	}
	ia, ib := in(a), in(b)
	var out strings.Builder
	for _, f := range a {
		if !ib[f.String()] {
			fmt.Fprintf(&out, "- %s\n", f)
		}
	}
	for _, f := range b {
		if !ia[f.String()] {
			fmt.Fprintf(&out, "+ %s\n", f)
		}
	}
	return out.String()
}

// lockProbe holds two transactions of the test's own, each holding one row
// lock, as in every textbook deadlock.
type lockProbe struct {
	t     *testing.T
	l     live
	table string
	a, b  *sql.Tx
}

func (l live) lockProbe(t *testing.T, db *sql.DB) *lockProbe {
	t.Helper()
	p := &lockProbe{t: t, l: l, table: l.table(t, db)}
	var err error
	ctx := context.Background()
	if p.a, err = db.BeginTx(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p.b, err = db.BeginTx(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.a.Rollback(); _ = p.b.Rollback() })
	p.lock(p.a, 1)
	p.lock(p.b, 2)
	return p
}

func (p *lockProbe) lock(tx *sql.Tx, id int) {
	p.t.Helper()
	if err := p.lockErr(tx, id); err != nil {
		p.t.Fatalf("lock row %d: %v", id, err)
	}
}

func (p *lockProbe) lockErr(tx *sql.Tx, id int) error {
	ctx, cancel := context.WithTimeout(context.Background(), statementLimit)
	defer cancel()
	var v int
	return tx.QueryRowContext(ctx, fmt.Sprintf(p.l.lockRow, p.table), id).Scan(&v)
}

// provoke makes b wait for a's row (a lock wait), calls during while b is
// blocked, then makes a wait for b's row (a deadlock), rolls both back and
// returns the two statements' errors: exactly one must be the server's
// deadlock error.
func (p *lockProbe) provoke(during func()) (errA, errB error) {
	done := make(chan error, 1)
	go func() { done <- p.lockErr(p.b, 1) }()
	during()
	select {
	case err := <-done:
		p.t.Fatalf("b took a's row lock without waiting (err %v)", err)
	default:
	}
	errA = p.lockErr(p.a, 2)
	errB = <-done
	// End both transactions: a PostgreSQL backend reports its statistics
	// (the deadlock count among them) only once it is out of a transaction.
	for _, tx := range []*sql.Tx{p.a, p.b} {
		if err := tx.Rollback(); err != nil {
			p.t.Fatalf("rollback: %v", err)
		}
	}
	return errA, errB
}

// TestLiveLocks provokes a lock wait and a deadlock on each server and shows
// that the exporter's lock signals move: the ones the server packs' alerts
// are built on.
func TestLiveLocks(t *testing.T) {
	t.Run(PostgreSQL.Exporter, func(t *testing.T) {
		l := liveExporters()[0]
		db := l.open(t)
		e := l.start(t)
		onTest := map[string]string{"datname": "test"}
		before := e.waitFor(t, scrapeDeadline, "pg_stat_database_deadlocks", onTest, "a value", func(float64) bool { return true })
		p := l.lockProbe(t, db)
		exclusive := map[string]string{"datname": "test", "mode": "accessexclusivelock"}
		mfs, err := e.scrape()
		if err != nil {
			t.Fatal(err)
		}
		idle, _ := sum(mfs, "pg_locks_count", exclusive)
		errA, errB := p.provoke(func() {
			// pg_locks_count leaves out locks without a database, so the
			// waiter's ShareLock on the holder's transaction id is not
			// counted; the tuple lock the waiter holds while it waits
			// (AccessExclusiveLock on the tuple) is.
			v := e.waitFor(t, scrapeDeadline, "pg_locks_count", exclusive, "a lock wait", func(v float64) bool { return v >= idle+1 })
			t.Logf("pg_locks_count{datname=\"test\",mode=\"accessexclusivelock\"}: %v before, %v while blocked", idle, v)
			d := e.waitFor(t, scrapeDeadline, "pg_stat_activity_max_tx_duration", map[string]string{"datname": "test", "state": "active"}, "the waiting transaction", func(v float64) bool { return v > 0 })
			t.Logf("while blocked: pg_stat_activity_max_tx_duration{datname=\"test\",state=\"active\"} = %v", d)
		})
		requireOneDeadlock(t, errA, errB, "40P01")
		after := e.waitFor(t, deadlockTimeout, "pg_stat_database_deadlocks", onTest, "the deadlock", func(v float64) bool { return v > before })
		t.Logf("pg_stat_database_deadlocks{datname=\"test\"}: %v -> %v", before, after)
	})
	t.Run(MySQL.Exporter, func(t *testing.T) {
		l := liveExporters()[1]
		db := l.open(t)
		e := l.start(t)
		mfs, err := e.scrape()
		if err != nil {
			t.Fatal(err)
		}
		deadlocks, _ := sum(mfs, "mysql_global_status_innodb_deadlocks", nil)
		waits, _ := sum(mfs, "mysql_global_status_innodb_row_lock_waits", nil)
		p := l.lockProbe(t, db)
		errA, errB := p.provoke(func() {
			v := e.waitFor(t, scrapeDeadline, "mysql_global_status_innodb_row_lock_current_waits", nil, "a lock wait", func(v float64) bool { return v >= 1 })
			t.Logf("while blocked: mysql_global_status_innodb_row_lock_current_waits = %v", v)
			// The blocked statement runs (command execute: the driver
			// prepares it on the server) and ages: the processlist
			// collector's seconds, which the mysql pack's long-transaction
			// alert reads, move.
			query := map[string]string{"command": "execute"}
			n := e.waitFor(t, scrapeDeadline, "mysql_info_schema_processlist_threads", query, "the blocked statement", func(v float64) bool { return v >= 1 })
			s := e.waitFor(t, scrapeDeadline, "mysql_info_schema_processlist_seconds", query, "the blocked statement's age", func(v float64) bool { return v >= 1 })
			t.Logf("while blocked: mysql_info_schema_processlist_threads{command=\"execute\"} = %v, _seconds = %v", n, s)
		})
		requireOneDeadlock(t, errA, errB, "1213")
		d := e.waitFor(t, deadlockTimeout, "mysql_global_status_innodb_deadlocks", nil, "the deadlock", func(v float64) bool { return v > deadlocks })
		w := e.waitFor(t, deadlockTimeout, "mysql_global_status_innodb_row_lock_waits", nil, "the lock waits", func(v float64) bool { return v >= waits+1 })
		t.Logf("mysql_global_status_innodb_deadlocks: %v -> %v; mysql_global_status_innodb_row_lock_waits: %v -> %v", deadlocks, d, waits, w)
	})
}

// requireOneDeadlock checks that exactly one of the two statements failed,
// with the server's deadlock error code.
func requireOneDeadlock(t *testing.T, errA, errB error, code string) {
	t.Helper()
	var failed []error
	for _, err := range []error{errA, errB} {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0].Error(), code) {
		t.Fatalf("want exactly one deadlock error (%s), got a: %v, b: %v", code, errA, errB)
	}
	t.Logf("deadlock victim: %v", failed[0])
}
