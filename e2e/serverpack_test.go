//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/exporters"
)

// The server-pack drill: both exporters against the local PostgreSQL and
// MariaDB, Prometheus evaluating the generated server-pack rules, and
// Alertmanager delivering to the capture servers. It provokes a lock wait
// and a deadlock on each server and waits for the alerts built on them to
// be delivered; then it runs every query of the overview and alert-history
// dashboards, and of the server panels, through Prometheus' HTTP API.
//
// It needs Debian's prometheus-postgres-exporter and
// prometheus-mysqld-exporter and both servers; without them it skips,
// unless DBMON_REQUIRE_EXPORTERS=1.

const (
	requireExporters = "DBMON_REQUIRE_EXPORTERS"
	pgExporterBin    = "/usr/bin/prometheus-postgres-exporter"
	myExporterBin    = "/usr/bin/prometheus-mysqld-exporter"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	pgDSN = envOr("DBMON_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable")
	myDSN = envOr("DBMON_MYSQL_DSN", "root:@tcp(127.0.0.1:3306)/test")
)

// serverPackConfig is the drill's config with both server packs on: lock
// and deadlock alerts after 2s, a transaction counts as long after 5s (on
// MySQL a running statement after 3s: its age is whole seconds, read a
// scrape late), and
// one row lock wait in the 10s window (0.1/s) is above the row-lock rate.
const serverPackConfig = `server_packs: [postgresql, mysql]
server:
  postgresql:
    exporter: {job_name: postgres, targets: [%q]}
    down: {for: 2s}
    connections:
      warning: {for: 5s}
      critical: {for: 2s}
    deadlocks: {for: 2s}
    long_transaction: {threshold: 5, for: 2s}
    cache_hit_ratio: {for: 10s}
    dead_tuples: {for: 10s}
  mysql:
    exporter: {job_name: mysql, targets: [%q]}
    down: {for: 2s}
    connections:
      warning: {for: 5s}
      critical: {for: 2s}
    deadlocks: {for: 2s}
    row_lock_waits: {threshold: 0.01, for: 2s}
    buffer_pool_hit_ratio: {for: 10s}
    long_transaction: {threshold: 3, for: 2s}
thresholds:
  rate_window: 10s
  baseline_window: 30s
  min_query_rate: 1
  slow_rate:
    info: {for: 20s}
    warning: {for: 12s}
    critical: {for: 5s}
  slow_rate_by_type: {for: 10s}
  latency_p99:
    warning: {for: 10s}
    critical: {for: 5s}
  error_rate: {for: 5s}
  rate_spike: {for: 5s}
  traffic_drop: {for: 5s}
  pool_saturation: {for: 5s}
  pool_wait: {for: 5s}
  metrics_absent: {for: 12s}
` + drillDelivery

func skipOrFailExporters(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireExporters) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireExporters)
	}
	t.Skipf("skipping: %s; set %s=1 to make this a failure", msg, requireExporters)
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		skipOrFailExporters(t, "%s server unreachable: %v", driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// engine is one database server of the drill.
type engine struct {
	name      string
	db        *sql.DB
	lockRow   string // SELECT … FOR UPDATE of one row, %s the table
	deadlock  string // the deadlock alert
	lockWait  string // the alert a lock wait fires
	errorCode string // the server's deadlock error code
}

// table creates a table of 100 rows with 50 deleted (dead rows for the
// dead-tuple panel), dropped when the test ends.
func (e engine) table(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("dbmon_serverpack_%d", os.Getpid())
	ctx := context.Background()
	stmts := []string{
		"DROP TABLE IF EXISTS " + name,
		"CREATE TABLE " + name + " (id INT PRIMARY KEY, v INT)",
	}
	for i := 1; i <= 100; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s (id, v) VALUES (%d, %d)", name, i, i))
	}
	stmts = append(stmts, "DELETE FROM "+name+" WHERE id > 50")
	for _, q := range stmts {
		if _, err := e.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %s: %v", e.name, q, err)
		}
	}
	t.Cleanup(func() { _, _ = e.db.ExecContext(context.Background(), "DROP TABLE "+name) })
	return name
}

// provoke holds a lock wait for hold, then turns it into a deadlock and
// returns the two statements' errors.
func (e engine) provoke(t *testing.T, table string, hold time.Duration) (errA, errB error) {
	t.Helper()
	ctx := context.Background()
	a, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	lock := func(tx *sql.Tx, id int) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var v int
		return tx.QueryRowContext(ctx, fmt.Sprintf(e.lockRow, table), id).Scan(&v)
	}
	if err := lock(a, 1); err != nil {
		t.Fatalf("%s: lock 1: %v", e.name, err)
	}
	if err := lock(b, 2); err != nil {
		t.Fatalf("%s: lock 2: %v", e.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- lock(b, 1) }() // b waits for a
	time.Sleep(hold)
	errA = lock(a, 2) // a waits for b: a deadlock
	errB = <-done
	_ = a.Rollback()
	_ = b.Rollback()
	return errA, errB
}

// delivered is when an alert was first delivered, and where.
type delivered struct {
	at  time.Duration
	via []string
}

func TestServerPackDrill(t *testing.T) {
	for _, bin := range []string{pgExporterBin, myExporterBin} {
		if _, err := os.Stat(bin); err != nil {
			skipOrFailExporters(t, "%s not installed", bin)
		}
	}
	for _, bin := range []string{prometheus, alertmanager} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFailExporters(t, "%s is not on PATH", bin)
		}
	}
	pg := engine{name: "PostgreSQL", db: openDB(t, "pgx", pgDSN), lockRow: "SELECT v FROM %s WHERE id = $1 FOR UPDATE",
		deadlock: "PostgresDeadlocks", lockWait: "PostgresLongTransaction", errorCode: "40P01"}
	my := engine{name: "MariaDB", db: openDB(t, "mysql", myDSN), lockRow: "SELECT v FROM %s WHERE id = ? FOR UPDATE",
		deadlock: "MySQLDeadlocks", lockWait: "MySQLRowLockWaits", errorCode: "1213"}

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

	pgAddr, myAddr, demoAddr, amAddr, promAddr := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	cfg := filepath.Join(dir, "serverpacks.yaml")
	body := fmt.Sprintf(serverPackConfig, pgAddr, myAddr, demoAddr, amAddr, pd.URL+"/v2/enqueue", keyFile, slackFile, smtp.Addr(), smtpUser, passFile)
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

	pgTable, myTable := pg.table(t), my.table(t)

	pgExp := startProc(t, dir, "postgres_exporter", "env", append([]string{"DATA_SOURCE_NAME=" + pgDSN, pgExporterBin, "--web.listen-address=" + pgAddr}, exporters.PostgreSQL.Run.Args()...)...)
	waitReady(t, pgExp, "http://"+pgAddr+"/metrics", 30*time.Second)
	myExp := startProc(t, dir, "mysqld_exporter", "env", append([]string{"DATA_SOURCE_NAME=" + strings.TrimSuffix(myDSN, "test"), myExporterBin, "--web.listen-address=" + myAddr}, exporters.MySQL.Run.Args()...)...)
	waitReady(t, myExp, "http://"+myAddr+"/metrics", 30*time.Second)
	demo := startProc(t, dir, "demo", dbmonctl, "demo", "--config", cfg, "--db-dir", dir, "--listen", demoAddr, "--qps", "20", "--scenario", "healthy")
	waitReady(t, demo, "http://"+demoAddr+"/scenario", 15*time.Second)
	am := startProc(t, dir, "alertmanager", alertmanager,
		"--config.file="+filepath.Join(out, "alertmanager", "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	waitReady(t, am, "http://"+amAddr+"/-/ready", 30*time.Second)
	prom := startProc(t, dir, "prometheus", prometheus,
		"--config.file="+filepath.Join(out, "prometheus", "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+promAddr)
	promURL := "http://" + promAddr
	waitReady(t, prom, promURL+"/-/ready", 30*time.Second)

	// Both exporters scraped and up, and the rate window full, before the
	// anomaly: a counter's first samples make no increase.
	waitQuery(t, promURL, `min(pg_up{job="postgres"}) == 1 and on () min(mysql_up{job="mysql"}) == 1`, 30*time.Second)
	time.Sleep(12 * time.Second)

	start := time.Now()
	for _, e := range []engine{pg, my} {
		table := pgTable
		if e.name != pg.name {
			table = myTable
		}
		errA, errB := e.provoke(t, table, 9*time.Second)
		var failed []error
		for _, err := range []error{errA, errB} {
			if err != nil {
				failed = append(failed, err)
			}
		}
		if len(failed) != 1 || !strings.Contains(failed[0].Error(), e.errorCode) {
			t.Fatalf("%s: want one deadlock error %s, got a: %v, b: %v", e.name, e.errorCode, errA, errB)
		}
		t.Logf("%s deadlock victim after %s: %v", e.name, time.Since(start).Round(time.Second), failed[0])
	}

	// Every alert built on the lock signals is delivered to its severity's
	// receivers (warning: Slack and email).
	// On MySQL the blocked statement also runs for longer than 3s.
	want := []string{pg.lockWait, pg.deadlock, my.lockWait, my.deadlock, "MySQLLongTransaction"}
	got := map[string]*delivered{}
	deadline := time.Now().Add(90 * time.Second)
	for {
		list, problems := box.snapshot()
		if len(problems) > 0 {
			t.Fatalf("capture servers saw problems: %v", problems)
		}
		for _, n := range list {
			for _, a := range n.Alerts {
				if !slices.Contains(want, a) || n.At.Before(start) {
					continue
				}
				d := got[a]
				if d == nil {
					d = &delivered{at: n.At.Sub(start)}
					got[a] = d
				}
				if r := (route{n.Via, n.Dest}).String(); !slices.Contains(d.via, r) {
					d.via = append(d.via, r)
				}
			}
		}
		complete := true
		for _, a := range want {
			if d := got[a]; d == nil || len(d.via) < 2 {
				complete = false
			}
		}
		if complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "alert\tdelivered after\treceivers")
	for _, a := range want {
		d := got[a]
		if d == nil {
			fmt.Fprintf(tw, "%s\t-\tnot delivered\n", a)
			t.Errorf("%s was not delivered within 90s of the drill's start", a)
			continue
		}
		sort.Strings(d.via)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a, d.at.Round(time.Second), strings.Join(d.via, ", "))
		for _, r := range routesFor("warning") {
			if !slices.Contains(d.via, r.String()) {
				t.Errorf("%s did not reach %s (got %v)", a, r, d.via)
			}
		}
	}
	tw.Flush()

	// Every query of the new dashboards and of the server panels returns
	// data from the live Prometheus, except where the contract says the
	// series needs a replica.
	type result struct {
		dash, panel, expr string
		n                 int
	}
	var results []result
	for _, f := range []string{"overview.json", "alert-history.json", "dashboard.json"} {
		var d struct {
			Panels []struct {
				ID      int    `json:"id"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		b, err := os.ReadFile(filepath.Join(out, "grafana", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			if f == "dashboard.json" && p.ID < 100 {
				continue // the middleware's panels: the main drill's business
			}
			for _, tg := range p.Targets {
				expr := strings.NewReplacer("$__rate_interval", "2m", "$__range", "5m", "$__interval", "2m").Replace(tg.Expr)
				n := queryCount(t, promURL, expr)
				results = append(results, result{f, p.Title, expr, n})
			}
		}
	}
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "dashboard\tpanel\tseries")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", r.dash, r.panel, r.n)
		if r.n == 0 {
			if strings.Contains(r.expr, "mysql_slave_status_") {
				continue // needs a replica (exporters.NeedReplica)
			}
			t.Errorf("%s panel %q: no data for %s", r.dash, r.panel, r.expr)
		}
	}
	tw.Flush()
}

// ruleNames are the alert names of the generated rule file.
func ruleNames(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	sort.Strings(names)
	return names
}

// queryCount runs an instant query and returns the number of series.
func queryCount(t *testing.T, promURL, expr string) int {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := getJSONAs("", promURL+"/api/v1/query?query="+url.QueryEscape(expr), &r); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	if r.Status != "success" {
		t.Fatalf("query %s: %s", expr, r.Error)
	}
	return len(r.Data.Result)
}

// waitQuery waits until expr returns a series.
func waitQuery(t *testing.T, promURL, expr string, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for queryCount(t, promURL, expr) == 0 {
		if time.Now().After(end) {
			t.Fatalf("no result for %s within %s", expr, within)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
