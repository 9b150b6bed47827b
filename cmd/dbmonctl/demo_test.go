package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dbmonctl/dbmonctl/internal/demo"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// TestDemoServesAndStops runs the demo command in process with a config
// file that changes the buckets and the metrics path, and checks it
// serves the spec's histogram on the spec's path, switches scenario on
// request, and exits 0 when its context is cancelled.
func TestDemoServesAndStops(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "dbmonctl.yaml")
	const spec = `thresholds:
  slow_query: 250ms
  buckets: [0.01, 0.1, 0.25, 0.5, 1, 3]
prometheus:
  metrics_path: /app-metrics
`
	if err := os.WriteFile(cfg, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"demo", "--config", cfg, "--listen", "127.0.0.1:0", "--qps", "200", "--db-dir", dir}, strings.NewReader(""), pw, &stderr, func(string) string { return "" })
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address line: %v (stderr: %s)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain the rest
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "serving" || !strings.HasSuffix(fields[1], "/app-metrics") {
		t.Fatalf("first stdout line = %q, want \"serving http://ADDR/app-metrics ...\"", line)
	}
	metricsURL := fields[1]
	base := strings.TrimSuffix(metricsURL, "/app-metrics")

	get := func(url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
		}
		return string(b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(get(metricsURL), `db_query_duration_seconds_bucket{query_type="SELECT",le="3"}`) {
		if time.Now().After(deadline) {
			t.Fatalf("no SELECT histogram with the spec's 3s bucket within 5s:\n%s", get(metricsURL))
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post(base+"/scenario?name=stopped", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := get(base + "/scenario"); !strings.Contains(s, `"scenario": "stopped"`) {
		t.Errorf("GET /scenario after switching = %s, want stopped", s)
	}

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("demo exited %d after cancellation, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10s of cancellation")
	}
}

// labelsSpec turns both opt-in labels on, with room for 5 names.
const labelsSpec = `middleware:
  db_name_label: true
  statement_label: true
  max_statements: 5
`

func TestDemoBadFlags(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "labels.yaml")
	if err := os.WriteFile(cfg, []byte(labelsSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"fewer statement names than the workload's own is a usage error", []string{"demo", "--statements", "3"}, "--statements must be at least 6"},
		{"naming databases without the db_name label is a usage error", []string{"demo", "--databases", "a,b"}, "middleware.db_name_label"},
		{"extra statement names without the statement label are a usage error", []string{"demo", "--statements", "9"}, "middleware.statement_label"},
		{"one database's scenario without databases is a usage error", []string{"demo", "--scenario-db", "orders"}, "--scenario-db"},
		{"an unknown database for the scenario is a usage error naming the databases", []string{"demo", "--config", cfg, "--scenario-db", "billing"}, "orders, reports"},
		{"a database named twice is a usage error", []string{"demo", "--config", cfg, "--databases", "a,a", "--listen", "127.0.0.1:0"}, "named twice"},
		{"an unknown scenario is a usage error naming the valid ones", []string{"demo", "--scenario", "slow"}, "slow-burst"},
		{"a zero rate is a usage error", []string{"demo", "--qps", "0"}, "--qps must be positive"},
		{"an empty pool is a usage error", []string{"demo", "--max-open-conns", "0"}, "--max-open-conns"},
		{"positional arguments are refused", []string{"demo", "now"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := Run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), ExitUsage, tt.want)
			}
		})
	}
}

// startDemo runs the demo command in process with args and returns the
// base URL and metrics URL it serves, and a function that stops it and
// checks it exited 0.
func startDemo(t *testing.T, args ...string) (base, metrics string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"demo"}, args...), strings.NewReader(""), pw, &stderr, func(string) string { return "" })
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the address line: %v (stderr: %s)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain the rest
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "serving" {
		cancel()
		t.Fatalf("first stdout line = %q, want \"serving http://ADDR/metrics ...\"", line)
	}
	metrics = fields[1]
	base = metrics[:strings.Index(metrics[len("http://"):], "/")+len("http://")]
	return base, metrics, func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("demo exited %d after cancellation, want 0; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("demo did not stop within 10s of cancellation")
		}
	}
}

// scrape returns the value of each series of the families at url, keyed
// by the series in the text format, e.g. `db_queries_total{db_name="orders",...}`.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			ls := model.LabelSet{}
			for _, lp := range m.GetLabel() {
				ls[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
			}
			key := name + ls.String()
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestDemoLabels runs the demo with a config that turns both labels on
// (5 names), 8 statement names and a slow burst on orders only: it serves
// the series of both databases by statement, orders slow on SearchItems
// while reports stays healthy, and the names beyond 5 counted as folded.
func TestDemoLabels(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "labels.yaml")
	if err := os.WriteFile(cfg, []byte(labelsSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	base, metrics, stop := startDemo(t, "--config", cfg, "--listen", "127.0.0.1:0", "--qps", "100", "--db-dir", dir,
		"--statements", "8", "--scenario", "slow-burst", "--scenario-db", "orders")
	defer stop()

	for _, db := range []string{"orders", "reports"} {
		if _, err := os.Stat(filepath.Join(dir, db+".db")); err != nil {
			t.Errorf("database file of %s: %v", db, err)
		}
	}
	var st demo.Status
	resp, err := http.Get(base + "/scenario")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Databases) != 2 || st.Databases[0].Name != "orders" || st.Databases[0].Scenario != demo.SlowBurst ||
		st.Databases[1].Name != "reports" || st.Databases[1].Scenario != demo.Healthy {
		t.Fatalf("GET /scenario = %+v (%v), want orders in slow-burst and reports healthy", st, err)
	}

	// Names are admitted in the order first seen, and the pages run once
	// every 50 statements: wait for a folded page on each database and a
	// slow SearchItems on orders, however long a loaded machine takes.
	want := []string{
		`db_queries_total{db_name="reports", query_type="SELECT", statement="GetItem"}`,
		`db_queries_total{db_name="orders", query_type="INSERT", statement="CreateItem"}`,
		`db_slow_queries_total{db_name="orders", query_type="SELECT", statement="SearchItems"}`,
		`db_statement_overflow_total{db_name="orders"}`,
		`db_statement_overflow_total{db_name="reports"}`,
		`go_sql_max_open_connections{db_name="reports"}`,
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got := scrape(t, metrics)
		var missing []string
		for _, k := range want {
			if got[k] <= 0 {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			if n := got[`db_queries_total{db_name="orders", query_type="SELECT", statement="ListItemsPage01"}`]; n != 0 {
				t.Errorf("a page beyond max_statements has series of its own (%v statements), want it folded into _overflow", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the demo serves no positive value for %v", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
