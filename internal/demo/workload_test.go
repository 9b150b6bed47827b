package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Test timings: short enough to keep the tests fast, long enough that a
// fast SQLite statement under -race on a busy machine stays below the
// slow threshold.
const (
	testSlow  = 40 * time.Millisecond
	testSpike = 90 * time.Millisecond
)

var testBuckets = []float64{0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32}

func newTestWorkload(t *testing.T, qps float64) (*Workload, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := New(Options{QPS: qps, SlowThreshold: testSlow, SpikeLatency: testSpike, Buckets: testBuckets, MaxOpenConns: 4, Registerer: reg, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w, reg
}

// value sums a metric family's counter values, histogram sample counts or
// gauge values over all label sets; an absent family is 0.
func value(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// bucket returns the cumulative count of the duration histogram at le.
func bucket(t *testing.T, g prometheus.Gatherer, le float64) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != middleware.MetricQueryDuration {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				if b.GetUpperBound() == le {
					sum += float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return sum
}

// plannedRun is what runPlanned planned and observed. The harness times
// each statement around the middleware's own timing, so a statement the
// middleware found at or above a bound took at least as long here:
// slowerThan bounds from above how many fast statements a loaded machine
// could have pushed over a bound, whatever the machine's speed.
type plannedRun struct {
	steps     []step
	durations []time.Duration
}

// planned counts the planned statements that sleep at least d.
func (r plannedRun) planned(d time.Duration) int {
	n := 0
	for _, st := range r.steps {
		if st.kind == stmtSelectSlow && st.sleep >= d {
			n++
		}
	}
	return n
}

// slowerThan counts the statements not planned to sleep at least d that
// took at least d, as the harness measured them.
func (r plannedRun) slowerThan(d time.Duration) int {
	n := 0
	for i, st := range r.steps {
		if !(st.kind == stmtSelectSlow && st.sleep >= d) && r.durations[i] >= d {
			n++
		}
	}
	return n
}

// runPlanned runs the first n statements a scenario plans, eight at a
// time, without the rate ticker: exact counts in a fraction of a second.
func runPlanned(t *testing.T, w *Workload, s Scenario, n int) plannedRun {
	t.Helper()
	return runPlannedOn(t, w, w.dbs[0], s, n)
}

// runPlannedOn is runPlanned on database db of w.
func runPlannedOn(t *testing.T, w *Workload, db *database, s Scenario, n int) plannedRun {
	t.Helper()
	pl := newPlanner(s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency))
	r := plannedRun{steps: make([]step, n), durations: make([]time.Duration, n)}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		st := pl.next()
		r.steps[i] = st
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			w.exec(context.Background(), db, st)
			r.durations[i] = time.Since(start)
		}()
	}
	wg.Wait()
	if f := w.failed.Load(); f != 0 {
		t.Fatalf("%d statements failed unexpectedly", f)
	}
	return r
}

// TestDemoScenarioMetrics runs 100 statements of each scenario through SQLite
// and the middleware and reads the counters back: the first 100 statements
// hold 90 SELECTs, so the planned counts are exact. A slow statement sleeps
// past the threshold, so slow counts never fall short of the plan; a
// loaded machine can make fast statements slow too, and the test allows
// exactly those the harness itself saw take that long, so it holds at any
// speed.
func TestDemoScenarioMetrics(t *testing.T) {
	tests := []struct {
		name   string
		s      Scenario
		slow   int
		errors float64
		spikes int // statements planned above the spike latency's bucket
	}{
		{"healthy statements are neither slow nor failing", Healthy, 0, 0, 0},
		{"a slow burst makes 15 of 100 statements slow", SlowBurst, 15, 0, 0},
		{"sustained slowness makes 7 of 100 statements slow", SustainedSlow, 7, 0, 0},
		{"type-slow makes 40 of the 90 SELECTs in 100 statements slow", TypeSlow, 40, 0, 0},
		{"a p99 spike makes 4 of 100 statements slower than the spike latency", P99Spike, 4, 0, 4},
		{"the errors scenario makes 20 of 100 statements fail", Errors, 0, 20, 0},
	}
	w, reg := newTestWorkload(t, 1)
	const spikeBucket = 80 * time.Millisecond // below testSpike, above 1.5 × testSlow
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total0 := value(t, reg, middleware.MetricQueriesTotal)
			slow0 := value(t, reg, middleware.MetricSlowQueriesTotal)
			err0 := value(t, reg, middleware.MetricQueryErrorsTotal)
			hist0 := value(t, reg, middleware.MetricQueryDuration)
			below0 := bucket(t, reg, spikeBucket.Seconds())
			r := runPlanned(t, w, tt.s, 100)
			if got := r.planned(testSlow); got != tt.slow {
				t.Errorf("the scenario planned %d slow statements, want %d", got, tt.slow)
			}
			if got := r.planned(spikeBucket); got != tt.spikes {
				t.Errorf("the scenario planned %d statements above %s, want %d", got, spikeBucket, tt.spikes)
			}
			if d := value(t, reg, middleware.MetricQueriesTotal) - total0; d != 100 {
				t.Errorf("queries total grew by %v, want 100", d)
			}
			if d := value(t, reg, middleware.MetricQueryErrorsTotal) - err0; d != tt.errors {
				t.Errorf("errors grew by %v, want %v", d, tt.errors)
			}
			extra := r.slowerThan(testSlow)
			if d := int(value(t, reg, middleware.MetricSlowQueriesTotal) - slow0); d < tt.slow || d > tt.slow+extra {
				t.Errorf("slow queries grew by %d, want %d (plus at most the %d fast ones that took %s here)", d, tt.slow, extra, testSlow)
			}
			hist := value(t, reg, middleware.MetricQueryDuration) - hist0
			above := int(hist - (bucket(t, reg, spikeBucket.Seconds()) - below0))
			extra = r.slowerThan(spikeBucket)
			if above < tt.spikes || above > tt.spikes+extra {
				t.Errorf("%d statements above %s, want %d (plus at most the %d others that took that long here)", above, spikeBucket, tt.spikes, extra)
			}
		})
	}
}

// TestDemoRunFollowsScenario drives the real loop: traffic flows at the rate,
// stops when the scenario is stopped (metrics still served), saturates the
// pool when asked, and Run returns promptly on cancellation.
func TestDemoRunFollowsScenario(t *testing.T) {
	w, reg := newTestWorkload(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil on cancellation", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of cancellation")
		}
	}()

	waitFor(t, "healthy traffic", func() bool { return value(t, reg, middleware.MetricQueriesTotal) >= 20 })

	w.SetScenario(Stopped)
	// However slow the machine is: wait until the loop drives the stopped
	// scenario (it starts nothing more), then until every started
	// statement is recorded, not for a fixed time.
	waitFor(t, "the loop to stop starting statements", func() bool { return w.dbs[0].driving.Load() == Stopped })
	waitFor(t, "statements in flight to finish", func() bool {
		return value(t, reg, middleware.MetricQueriesTotal) == float64(w.Status().Started)
	})
	before := value(t, reg, middleware.MetricQueriesTotal)
	time.Sleep(200 * time.Millisecond)
	if after := value(t, reg, middleware.MetricQueriesTotal); after != before {
		t.Errorf("stopped: queries total moved from %v to %v", before, after)
	}

	w.SetScenario(PoolSaturation)
	waitFor(t, "every pooled connection in use", func() bool {
		return value(t, reg, middleware.MetricPoolInUse) == 4 && value(t, reg, middleware.MetricPoolMaxOpen) == 4
	})
	waits := value(t, reg, middleware.MetricPoolWaitCount)
	queries := value(t, reg, middleware.MetricQueriesTotal)
	waitFor(t, "pool waits and queries still getting through", func() bool {
		return value(t, reg, middleware.MetricPoolWaitCount) > waits && value(t, reg, middleware.MetricQueriesTotal) > queries+5
	})

	w.SetScenario(Healthy)
	waitFor(t, "the pool released", func() bool { return value(t, reg, middleware.MetricPoolInUse) < 4 })
	if got := w.Status(); got.Scenario != Healthy || got.RateQPS != 200 || got.Unexpected != 0 {
		t.Errorf("Status = %+v, want healthy at 200 qps with no unexpected errors", got)
	}
}

// waitFor polls cond until it holds. The deadline only stops a test that
// would otherwise hang: it is far beyond what any loaded machine needs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDemoHandler(t *testing.T) {
	w, reg := newTestWorkload(t, 1)
	runPlanned(t, w, Healthy, 5)
	srv := httptest.NewServer(w.Handler(reg, "/metrics"))
	defer srv.Close()

	do := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name         string
		method, path string
		code         int
		contains     string
	}{
		{"metrics are served for Prometheus", "GET", "/metrics", 200, `db_queries_total{query_type="SELECT"} 5`},
		{"pool metrics carry the demo's db_name", "GET", "/metrics", 200, `go_sql_max_open_connections{db_name="demo"} 4`},
		{"the scenario is reported", "GET", "/scenario", 200, `"scenario": "healthy"`},
		{"a scenario switch answers the new status", "POST", "/scenario?name=errors", 200, `"scenario": "errors"`},
		{"the switch sticks", "GET", "/scenario", 200, `"scenario": "errors"`},
		{"an unknown scenario is refused with the valid names", "POST", "/scenario?name=nope", 400, "pool-saturation"},
		{"switching needs POST", "GET", "/scenario?name=healthy&x=", 200, `"scenario": "errors"`},
		{"the index lists the scenarios", "GET", "/", 200, "traffic-drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(tt.method, tt.path)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, code, body, tt.code, tt.contains)
			}
		})
	}
	var st Status
	_, body := do("GET", "/scenario")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Scenario != Errors || st.BaseQPS != 1 {
		t.Errorf("GET /scenario = %q (%v), want JSON of the errors scenario at 1 qps", body, err)
	}
}
