//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/exporters"
)

// The replication drill: a primary and a replica of each engine, started
// from scratch in temporary directories (the local servers are left
// alone), both exporters scraping all four, Prometheus evaluating the
// generated replication-lag rules and Alertmanager delivering to the
// capture servers. Replay is held back on each replica while its primary
// keeps writing — PostgreSQL's replay paused, MariaDB's SQL thread blocked
// on a table lock — until the lag warnings are delivered; then replay
// resumes and the drill waits for their resolution. While the replicas lag
// it runs the lag panels' and the overview's server queries through
// Prometheus' HTTP API, and it checks the replicas' scrapes against the
// exporter contracts and the family lists under pkg/exporters/testdata
// (-update rewrites those).
//
// It needs PostgreSQL 15's server binaries, MariaDB's, both exporters and
// setpriv (util-linux: the servers refuse to run as root); without them it
// skips, unless DBMON_REQUIRE_EXPORTERS=1.

var updateScrapes = flag.Bool("update", false, "rewrite the replicas' scraped family lists under pkg/exporters/testdata")

const (
	pgBinDir         = "/usr/lib/postgresql/15/bin"
	mariadbInstallDB = "/usr/bin/mariadb-install-db"
	mariadbServer    = "/usr/sbin/mariadbd"
	setpriv          = "/usr/bin/setpriv"
	// lagWarning is the drill's warning level of both lag alerts, in
	// seconds; the critical level is an hour, so only the warning fires.
	lagWarning = 5
	// replConnection is the MariaDB replication connection's name (a
	// multi-source connection), which the MySQL lag alert carries as the
	// connection_name label.
	replConnection = "drill"
	// heartbeat is how often each primary writes a row: a replica's lag is
	// measured against the primary's events, so the primaries must keep
	// writing for the lag to grow while replay is held back, and to fall
	// back to near 0 once it resumes.
	heartbeat = 500 * time.Millisecond
)

// replicationConfig turns both packs on, each exporter job scraping a
// primary and its replica; the lag warning fires after 5s behind for 2s.
// Every other threshold keeps its default (minutes), so nothing else fires
// within the drill; the middleware's target is the address of no process
// (no demo runs: the drill is about the servers).
const replicationConfig = `server_packs: [postgresql, mysql]
server:
  postgresql:
    exporter: {job_name: postgres, targets: [%q, %q]}
    replication_lag:
      warning: {threshold: %d, for: 2s}
      critical: {threshold: 3600, for: 2s}
  mysql:
    exporter: {job_name: mysql, targets: [%q, %q]}
    replication_lag:
      warning: {threshold: %d, for: 2s}
      critical: {threshold: 3600, for: 2s}
` + drillDelivery

// serviceDir is a temporary directory owned by the system account name,
// under which a database server runs as that account; t.Cleanup removes it
// after the processes started later are killed (cleanups run last in,
// first out).
func serviceDir(t *testing.T, account string) string {
	t.Helper()
	u, err := user.Lookup(account)
	if err != nil {
		skipOrFailExporters(t, "no %s account to run the server as: %v", account, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "dbmon-replication-"+account+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// as returns the command line running bin with args as account (setpriv
// execs bin in place, so the process startProc kills is the server). The
// kernel clears the parent-death signal when the user changes, so unlike
// the drill's other processes the servers outlive a test binary that is
// itself killed; t.Cleanup stops them in every other case.
func as(account, bin string, args ...string) []string {
	return append([]string{"--reuid=" + account, "--regid=" + account, "--init-groups", "--", bin}, args...)
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// waitDB pings dsn until the server answers, failing if p exits first.
func waitDB(t *testing.T, p *proc, driver, dsn string, within time.Duration) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	end := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return db
		}
		if p.exited() {
			t.Fatalf("%s exited before it accepted connections (%v):\n%s", p.name, p.err, tail(p.log, 25))
		}
		if time.Now().After(end) {
			t.Fatalf("%s does not accept connections within %v: %v\n%s", p.name, within, err, tail(p.log, 25))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// execAll runs statements on db, failing the test on the first error.
func execAll(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, what string, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := db.ExecContext(ctx, q)
		cancel()
		if err != nil {
			t.Fatalf("%s: %s: %v", what, q, err)
		}
	}
}

// waitTrue polls query, a single boolean, on db until it is true.
func waitTrue(t *testing.T, db *sql.DB, what, query string, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	var last error
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = db.QueryRowContext(ctx, query).Scan(&ok)
		cancel()
		if last == nil && ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v (%s; last error %v)", what, within, query, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pair is a primary and its replica of one engine, and their exporters.
type pair struct {
	engine            string // as the tables name it
	primary, replica  *sql.DB
	primaryExp        string // the primary's exporter, host:port
	replicaExp        string // the replica's exporter, host:port
	replicaServer     string // the replica's version string
	heartbeatStmt     string // one write on the primary
	warning, critical string // the lag alerts
	lagMetric         string
	// labels the warning must carry besides alertname, severity and team.
	labels map[string]string
}

// startPostgresPair initialises a primary (initdb), takes a streaming
// standby from it with pg_basebackup -R, and runs both as postgres on
// free loopback ports.
func startPostgresPair(t *testing.T) *pair {
	t.Helper()
	dir := serviceDir(t, "postgres")
	primaryDir, standbyDir := filepath.Join(dir, "primary"), filepath.Join(dir, "standby")
	primaryPort, standbyPort := portOf(t, freePort(t)), portOf(t, freePort(t))
	if out, code := run(t, dir, nil, setpriv, as("postgres", filepath.Join(pgBinDir, "initdb"), "-D", primaryDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")...); code != 0 {
		t.Fatalf("initdb exited %d:\n%s", code, out)
	}
	// initdb's pg_hba.conf already lets loopback replication in with the
	// trust method; this line says so whatever a later initdb writes.
	hba, err := os.OpenFile(filepath.Join(primaryDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hba.WriteString("host replication postgres 127.0.0.1/32 trust\n")
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	server := func(name, data, port string) *proc {
		p := startProc(t, dir, name, setpriv, as("postgres", filepath.Join(pgBinDir, "postgres"),
			"-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
			"-c", "shared_buffers=16MB", "-c", "max_connections=20")...)
		// A fast shutdown before startProc's SIGKILL: a killed postmaster
		// leaves its System V shared memory segment behind.
		t.Cleanup(func() { stopPostgres(t, p) })
		return p
	}
	dsn := func(port string) string {
		return "postgresql://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	}
	p := &pair{engine: "PostgreSQL", warning: "PostgresReplicationLagWarning", critical: "PostgresReplicationLagCritical",
		lagMetric: "pg_replication_lag", heartbeatStmt: "INSERT INTO dbmon_heartbeat (at) VALUES (now())"}
	p.primary = waitDB(t, server("postgres-primary", primaryDir, primaryPort), "pgx", dsn(primaryPort), time.Minute)
	execAll(t, p.primary, "primary", "CREATE TABLE dbmon_heartbeat (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
	if out, code := run(t, dir, nil, setpriv, as("postgres", filepath.Join(pgBinDir, "pg_basebackup"),
		"-h", "127.0.0.1", "-p", primaryPort, "-U", "postgres", "-D", standbyDir, "-R", "-X", "stream", "-c", "fast", "--no-sync")...); code != 0 {
		t.Fatalf("pg_basebackup exited %d:\n%s", code, out)
	}
	p.replica = waitDB(t, server("postgres-standby", standbyDir, standbyPort), "pgx", dsn(standbyPort), time.Minute)
	waitTrue(t, p.replica, "the standby is in recovery, streaming from the primary",
		"SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')", time.Minute)
	if err := p.replica.QueryRow("SELECT 'PostgreSQL ' || current_setting('server_version')").Scan(&p.replicaServer); err != nil {
		t.Fatal(err)
	}

	p.primaryExp, p.replicaExp = freePort(t), freePort(t)
	for _, e := range []struct{ name, addr, port string }{{"postgres_exporter-primary", p.primaryExp, primaryPort}, {"postgres_exporter-standby", p.replicaExp, standbyPort}} {
		x := startProc(t, dir, e.name, "env", append([]string{"DATA_SOURCE_NAME=" + dsn(e.port), pgExporterBin, "--web.listen-address=" + e.addr}, exporters.PostgreSQL.Run.Args()...)...)
		waitReady(t, x, "http://"+e.addr+"/metrics", 30*time.Second)
	}
	p.labels = map[string]string{"job": "postgres", "instance": p.replicaExp}
	return p
}

// stopPostgres asks the postmaster for a fast shutdown (SIGINT) and waits
// for it to exit.
func stopPostgres(t *testing.T, p *proc) {
	if p.exited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Logf("%s: %v", p.name, err)
		return
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Logf("%s did not shut down within 30s of SIGINT; killing it", p.name)
	}
}

// pausePostgres holds replay back on the standby; the returned func resumes it.
func (p *pair) pausePostgres(t *testing.T) func() {
	t.Helper()
	execAll(t, p.replica, "standby", "SELECT pg_wal_replay_pause()")
	return func() { execAll(t, p.replica, "standby", "SELECT pg_wal_replay_resume()") }
}

// startMariaDBPair initialises two data directories, runs a primary with
// a binary log and a replica following it through the named replication
// connection, both as mysql on free loopback ports.
func startMariaDBPair(t *testing.T) *pair {
	t.Helper()
	dir := serviceDir(t, "mysql")
	primaryPort, replicaPort := portOf(t, freePort(t)), portOf(t, freePort(t))
	server := func(name, port string, extra ...string) *proc {
		data := filepath.Join(dir, name)
		if out, code := run(t, dir, nil, mariadbInstallDB, "--no-defaults", "--datadir="+data, "--user=mysql",
			"--auth-root-authentication-method=normal", "--skip-test-db"); code != 0 {
			t.Fatalf("mariadb-install-db for the %s exited %d:\n%s", name, code, out)
		}
		args := append([]string{"--no-defaults", "--datadir=" + data, "--user=mysql",
			"--port=" + port, "--bind-address=127.0.0.1", "--socket=" + filepath.Join(dir, name+".sock"),
			"--pid-file=" + filepath.Join(dir, name+".pid"), "--skip-name-resolve",
			"--innodb-buffer-pool-size=16M", "--max-connections=20"}, extra...)
		return startProc(t, dir, "mariadb-"+name, mariadbServer, args...)
	}
	dsn := func(port string) string { return "root:@tcp(127.0.0.1:" + port + ")/" }
	p := &pair{engine: "MariaDB", warning: "MySQLReplicationLagWarning", critical: "MySQLReplicationLagCritical",
		lagMetric: "mysql_slave_status_seconds_behind_master", heartbeatStmt: "INSERT INTO dbmon.heartbeat (at) VALUES (NOW(6))"}
	p.primary = waitDB(t, server("primary", primaryPort, "--server-id=1", "--log-bin="+filepath.Join(dir, "primary", "binlog")), "mysql", dsn(primaryPort), time.Minute)
	p.replica = waitDB(t, server("replica", replicaPort, "--server-id=2"), "mysql", dsn(replicaPort), time.Minute)
	// Both start empty, so the replica replays the primary's binary log
	// from its start (GTID position empty).
	execAll(t, p.replica, "replica",
		fmt.Sprintf("CHANGE MASTER '%s' TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1", replConnection, primaryPort),
		fmt.Sprintf("START SLAVE '%s'", replConnection))
	execAll(t, p.primary, "primary", "CREATE DATABASE dbmon",
		"CREATE TABLE dbmon.heartbeat (id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL) ENGINE=InnoDB")
	waitTrue(t, p.replica, "the replica replicated the heartbeat table",
		"SELECT COUNT(*) = 1 FROM information_schema.tables WHERE table_schema = 'dbmon' AND table_name = 'heartbeat'", time.Minute)
	if err := p.replica.QueryRow("SELECT VERSION()").Scan(&p.replicaServer); err != nil {
		t.Fatal(err)
	}

	p.primaryExp, p.replicaExp = freePort(t), freePort(t)
	for _, e := range []struct{ name, addr, port string }{{"mysqld_exporter-primary", p.primaryExp, primaryPort}, {"mysqld_exporter-replica", p.replicaExp, replicaPort}} {
		x := startProc(t, dir, e.name, "env", append([]string{"DATA_SOURCE_NAME=" + dsn(e.port), myExporterBin, "--web.listen-address=" + e.addr}, exporters.MySQL.Run.Args()...)...)
		waitReady(t, x, "http://"+e.addr+"/metrics", 30*time.Second)
	}
	p.labels = map[string]string{"job": "mysql", "instance": p.replicaExp, "connection_name": replConnection}
	return p
}

// pauseMariaDB blocks the replica's SQL thread: a session of the replica
// holds a write lock on the heartbeat table, so the first replicated
// insert waits for it while the IO thread keeps receiving. The returned
// func unlocks.
func (p *pair) pauseMariaDB(t *testing.T) func() {
	t.Helper()
	conn, err := p.replica.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	execAll(t, conn, "replica", "LOCK TABLES dbmon.heartbeat WRITE")
	unlocked := false
	t.Cleanup(func() {
		if !unlocked {
			_, _ = conn.ExecContext(context.Background(), "UNLOCK TABLES")
		}
		_ = conn.Close()
	})
	return func() {
		execAll(t, conn, "replica", "UNLOCK TABLES")
		unlocked = true
	}
}

// writeHeartbeats writes on each primary every heartbeat until the test
// ends; the first error of each is reported then.
func writeHeartbeats(t *testing.T, pairs ...*pair) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, len(pairs))
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(heartbeat)
			defer tick.Stop()
			for {
				qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := p.primary.ExecContext(qctx, p.heartbeatStmt)
				qcancel()
				if err != nil && ctx.Err() == nil && errs[i] == nil {
					errs[i] = fmt.Errorf("%s heartbeat: %w", p.engine, err)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// checkReplicaScrape checks a replica's scrape against the exporter's
// contract, every metric present (a replica's too), and against the
// family list pkg/exporters/testdata keeps for replicas (-update
// rewrites it).
func checkReplicaScrape(t *testing.T, c exporters.Contract, addr, server string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	fams, err := exporters.ParseScrape(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s scrape: %v", c.Exporter, err)
	}
	for _, err := range c.Check(fams) {
		t.Errorf("replica: %v", err)
	}
	version := c.Versions[0]
	path := filepath.Join("..", "pkg", "exporters", "testdata", c.Exporter+"-"+version+"-replica.txt")
	var buf bytes.Buffer
	header := []string{
		fmt.Sprintf("Families (name, TYPE, label names) of a scrape of %s %s", c.Exporter, version),
		fmt.Sprintf("run with %s against a replica, %s, replicating one user table.", strings.Join(c.Run.Args(), " "), server),
		"Written by: go test -tags e2e ./e2e -run TestReplicationDrill -update",
	}
	if err := exporters.WriteFamilies(&buf, header, fams); err != nil {
		t.Fatal(err)
	}
	if *updateScrapes {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	wantFams, err := exporters.ReadFamilies(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	have := map[string]bool{}
	for _, f := range fams {
		have[f.String()] = true
	}
	kept := map[string]bool{}
	for _, f := range wantFams {
		kept[f.String()] = true
		if !have[f.String()] {
			t.Errorf("%s lists %q, which the replica's scrape lacks (rerun with -update if the exporter or server changed)", path, f)
		}
	}
	for _, f := range fams {
		if !kept[f.String()] {
			t.Errorf("the replica's scrape has %q, which %s lacks (rerun with -update if the exporter or server changed)", f, path)
		}
	}
}

// querySeries runs an instant query and returns each series' labels and
// value.
func querySeries(t *testing.T, promURL, expr string) []series {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string  `json:"metric"`
				Value  [2]json.RawMessage `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSONAs("", promURL+"/api/v1/query?query="+url.QueryEscape(expr), &r); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	if r.Status != "success" {
		t.Fatalf("query %s: %s", expr, r.Error)
	}
	var out []series
	for _, s := range r.Data.Result {
		var v string
		if err := json.Unmarshal(s.Value[1], &v); err != nil {
			t.Fatalf("query %s: value %s: %v", expr, s.Value[1], err)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("query %s: value %q: %v", expr, v, err)
		}
		out = append(out, series{s.Metric, f})
	}
	return out
}

type series struct {
	labels map[string]string
	value  float64
}

// panelTarget is one query of a generated dashboard.
type panelTarget struct {
	dash, panel, expr string
}

// dashboardTargets returns the queries of the panels of file for which
// keep holds, with Grafana's interval variables replaced.
func dashboardTargets(t *testing.T, out, file string, keep func(title, expr string) bool) []panelTarget {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile(filepath.Join(out, "grafana", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var ts []panelTarget
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if keep(p.Title, tg.Expr) {
				expr := strings.NewReplacer("$__rate_interval", "30s", "$__range", "5m", "$__interval", "30s").Replace(tg.Expr)
				ts = append(ts, panelTarget{file, p.Title, expr})
			}
		}
	}
	return ts
}

// notifiedEach waits until every alert of want has reached each of its
// severity's routes after since in a notification match accepts.
func notifiedEach(t *testing.T, box *inbox, since time.Time, want []string, match func(notification) bool, when string, within time.Duration) map[string]notification {
	t.Helper()
	got := map[string]notification{}
	for {
		list, problems := box.snapshot()
		if len(problems) > 0 {
			t.Fatalf("capture servers saw problems: %v", problems)
		}
		var missing []string
		for _, a := range want {
			for _, r := range routesFor("warning") {
				found := false
				for _, n := range list {
					if n.At.After(since) && n.Via == r.via && n.Dest == r.dest && slices.Contains(n.Alerts, a) && match(n) {
						found = true
						if _, ok := got[a+" "+r.String()]; !ok {
							got[a+" "+r.String()] = n
						}
						break
					}
				}
				if !found {
					missing = append(missing, a+" on "+r.String())
				}
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Since(since) > within {
			t.Fatalf("not delivered within %v %s: %v", within, when, missing)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestReplicationDrill(t *testing.T) {
	for _, bin := range []string{pgExporterBin, myExporterBin, setpriv, mariadbInstallDB, mariadbServer,
		filepath.Join(pgBinDir, "initdb"), filepath.Join(pgBinDir, "postgres"), filepath.Join(pgBinDir, "pg_basebackup")} {
		if _, err := os.Stat(bin); err != nil {
			skipOrFailExporters(t, "%s not installed", bin)
		}
	}
	for _, bin := range []string{prometheus, alertmanager} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFailExporters(t, "%s is not on PATH", bin)
		}
	}
	if os.Geteuid() != 0 {
		skipOrFailExporters(t, "the drill runs its database servers as the postgres and mysql accounts, which needs root")
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	box := &inbox{}
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	routingKey, smtpPass := randomHex(t, 16), randomHex(t, 12)
	slackPath := "/services/T0DRILL/B0DRILL/" + randomHex(t, 12)
	pd := newPagerDutyServer(t, box, routingKey)
	slack := newSlackServer(t, box, slackPath)
	smtp := newSMTPServer(t, box, smtpUser, smtpPass)
	keyFile := filepath.Join(secrets, "pagerduty_routing_key")
	slackFile := filepath.Join(secrets, "slack_webhook_url")
	passFile := filepath.Join(secrets, "smtp_password")

	pg := startPostgresPair(t)
	my := startMariaDBPair(t)
	pairs := []*pair{pg, my}
	checkReplicaScrape(t, exporters.PostgreSQL, pg.replicaExp, pg.replicaServer)
	checkReplicaScrape(t, exporters.MySQL, my.replicaExp, my.replicaServer)

	noDemo, amAddr, promAddr := freePort(t), freePort(t), freePort(t)
	cfg := filepath.Join(dir, "replication.yaml")
	body := fmt.Sprintf(replicationConfig, pg.primaryExp, pg.replicaExp, lagWarning, my.primaryExp, my.replicaExp, lagWarning,
		noDemo, amAddr, pd.URL+"/v2/enqueue", keyFile, slackFile, smtp.Addr(), smtpUser, passFile)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, code := run(t, dir, nil, dbmonctl, "validate", "--config", cfg); code != 0 {
		t.Fatalf("dbmonctl validate exited %d:\n%s", code, o)
	}
	if o, code := run(t, dir, nil, dbmonctl, "generate", "--config", cfg, "--out", out); code != 0 {
		t.Fatalf("dbmonctl generate exited %d:\n%s", code, o)
	}
	secretEnv := []string{"PAGERDUTY_SERVICE_KEY=" + routingKey, "SLACK_WEBHOOK_URL=" + slack.URL + slackPath, "SMTP_PASSWORD=" + smtpPass}
	if o, code := run(t, dir, secretEnv, dbmonctl, "secrets", "--from-env", "--config", cfg); code != 0 {
		t.Fatalf("dbmonctl secrets exited %d:\n%s", code, o)
	}
	box.alertNames = ruleNames(t, filepath.Join(out, "prometheus", "alerts.yml"))
	for _, p := range pairs {
		for _, a := range []string{p.warning, p.critical} {
			if !slices.Contains(box.alertNames, a) {
				t.Fatalf("the generated rules do not define %s", a)
			}
		}
	}

	am := startProc(t, dir, "alertmanager", alertmanager,
		"--config.file="+filepath.Join(out, "alertmanager", "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	amURL := "http://" + amAddr
	waitReady(t, am, amURL+"/-/ready", 30*time.Second)
	prom := startProc(t, dir, "prometheus", prometheus,
		"--config.file="+filepath.Join(out, "prometheus", "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+promAddr)
	promURL := "http://" + promAddr
	waitReady(t, prom, promURL+"/-/ready", 30*time.Second)

	writeHeartbeats(t, pairs...)
	// All four servers up, and both replicas current, before replay is
	// held back.
	waitQuery(t, promURL, `count(pg_up{job="postgres"} == 1) == 2 and on () count(mysql_up{job="mysql"} == 1) == 2`, time.Minute)
	for _, p := range pairs {
		waitQuery(t, promURL, fmt.Sprintf(`%s{instance=%q} < %d`, p.lagMetric, p.replicaExp, lagWarning), time.Minute)
	}

	held := time.Now()
	resume := []func(){pg.pausePostgres(t), my.pauseMariaDB(t)}
	t.Logf("replay held back on both replicas; waiting for the lag warnings")
	want := []string{pg.warning, my.warning}
	fired := notifiedEach(t, box, held, want, func(n notification) bool { return !isResolved(n) }, "after replay was held back", 3*time.Minute)

	// The warnings fire on the replicas only, with their labels, and the
	// critical twins (an hour) do not fire.
	var alerts []amAlert
	if err := getJSONAs("", amURL+"/api/v2/alerts", &alerts); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		var got []map[string]string
		for _, a := range alerts {
			switch a.Labels["alertname"] {
			case p.warning:
				got = append(got, a.Labels)
			case p.critical:
				t.Errorf("%s fired (labels %v); the drill's critical level is an hour", p.critical, a.Labels)
			}
		}
		if len(got) != 1 {
			t.Errorf("%s: Alertmanager holds %d alerts %v, want one, for the replica", p.warning, len(got), got)
			continue
		}
		want := map[string]string{"severity": "warning"}
		for k, v := range p.labels {
			want[k] = v
		}
		for k, v := range want {
			if got[0][k] != v {
				t.Errorf("%s fired with %s=%q, want %q (labels %v)", p.warning, k, got[0][k], v, got[0])
			}
		}
		if got[0]["team"] == "" {
			t.Errorf("%s fired without a team label: %v", p.warning, got[0])
		}
		for _, r := range routesFor("warning") {
			n := fired[p.warning+" "+r.String()]
			if n.Via != viaPagerDuty && !strings.Contains(n.Raw, p.replicaExp) {
				t.Errorf("%s message for %s does not name the replica %s:\n%s", n.Via, p.warning, p.replicaExp, n.Raw)
			}
			t.Logf("%s delivered on %s after %s: %q", p.warning, r, n.At.Sub(held).Round(time.Second), n.Title)
		}
	}

	// While the replicas lag: the lag panels show the replica behind and the
	// primary at 0 (PostgreSQL) or absent (MySQL: a primary has no slave
	// status); the overview's server rows have a row for each of the four
	// servers; the alert history shows the warnings firing.
	lagPanels := dashboardTargets(t, out, "dashboard.json", func(_, expr string) bool {
		return strings.Contains(expr, pg.lagMetric) || strings.Contains(expr, my.lagMetric)
	})
	if len(lagPanels) != 2 {
		t.Fatalf("dashboard.json has %d replication-lag queries, want 2 (one per engine): %v", len(lagPanels), lagPanels)
	}
	for _, q := range lagPanels {
		p := pg
		if strings.Contains(q.expr, my.lagMetric) {
			p = my
		}
		byInstance := map[string]float64{}
		for _, s := range querySeries(t, promURL, q.expr) {
			byInstance[s.labels["instance"]] = s.value
		}
		t.Logf("%s %q: %v", q.dash, q.panel, byInstance)
		if v, ok := byInstance[p.replicaExp]; !ok || v < lagWarning {
			t.Errorf("panel %q: the replica %s shows %v (present %v), want at least %ds behind: %s", q.panel, p.replicaExp, v, ok, lagWarning, q.expr)
		}
		v, ok := byInstance[p.primaryExp]
		switch {
		case p == pg && (!ok || v != 0):
			t.Errorf("panel %q: the primary %s shows %v (present %v), want 0: %s", q.panel, p.primaryExp, v, ok, q.expr)
		case p == my && ok:
			t.Errorf("panel %q: the primary %s shows a lag %v; a primary has no slave status: %s", q.panel, p.primaryExp, v, q.expr)
		}
	}
	servers := dashboardTargets(t, out, "overview.json", func(title, _ string) bool { return strings.HasSuffix(title, " servers") })
	if len(servers) == 0 {
		t.Fatal("overview.json has no server rows")
	}
	for _, q := range servers {
		p := pg
		if strings.Contains(q.expr, `job="mysql"`) {
			p = my
		}
		var instances []string
		for _, s := range querySeries(t, promURL, q.expr) {
			instances = append(instances, s.labels["instance"])
		}
		for _, addr := range []string{p.primaryExp, p.replicaExp} {
			if !slices.Contains(instances, addr) {
				t.Errorf("overview %q: no row for %s (rows %v): %s", q.panel, addr, instances, q.expr)
			}
		}
	}
	history := dashboardTargets(t, out, "alert-history.json", func(title, _ string) bool { return title == "Firing" })
	if len(history) != 1 {
		t.Fatalf("alert-history.json has %d queries in its Firing panel, want 1", len(history))
	}
	var firing []string
	for _, s := range querySeries(t, promURL, history[0].expr) {
		firing = append(firing, s.labels["alertname"])
	}
	for _, a := range want {
		if !slices.Contains(firing, a) {
			t.Errorf("alert history's Firing panel does not show %s (shows %v)", a, firing)
		}
	}

	// Replay resumes; the primaries keep writing, so the lag falls back
	// near 0 and both warnings are delivered as resolved.
	released := time.Now()
	for _, f := range resume {
		f()
	}
	notifiedEach(t, box, released, want, isResolved, "after replay resumed (resolved notifications)", 3*time.Minute)
	for _, p := range pairs {
		waitQuery(t, promURL, fmt.Sprintf(`%s{instance=%q} < %d`, p.lagMetric, p.replicaExp, lagWarning), time.Minute)
	}
	t.Logf("both lag warnings resolved on every route and both replicas current %s after replay resumed", time.Since(released).Round(time.Second))
}
