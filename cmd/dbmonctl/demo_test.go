package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestDemoBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
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
