package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// newLabelledWorkload is a demo with the databases orders and reports and
// the statement label on, at most max names, the workload using n.
func newLabelledWorkload(t *testing.T, max, n int) (*Workload, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := New(Options{QPS: 200, SlowThreshold: testSlow, SpikeLatency: testSpike, Buckets: testBuckets, MaxOpenConns: 4,
		Registerer: reg, Dir: t.TempDir(), Databases: []string{"orders", "reports"}, MaxStatements: max, Statements: n})
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

// valueWith sums the values of metric name (counters, gauges, histogram
// sample counts) over the label sets that have every label of want.
func valueWith(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
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
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
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

// labelValues returns the sorted values of label on the series of name
// that have db_name=db.
func labelValues(t *testing.T, g prometheus.Gatherer, name, db, label string) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			if have[middleware.LabelDBName] == db && !slices.Contains(out, have[label]) {
				out = append(out, have[label])
			}
		}
	}
	slices.Sort(out)
	return out
}

// runInOrder runs the first n statements s plans on db one after the
// other, so that names are first seen in the plan's order, and times each
// around the middleware's own timing, as runPlanned does.
func runInOrder(t *testing.T, w *Workload, db *database, s Scenario, n int) plannedRun {
	t.Helper()
	pl := newPlanner(s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency))
	r := plannedRun{steps: make([]step, n), durations: make([]time.Duration, n)}
	for i := range n {
		r.steps[i] = pl.next()
		start := time.Now()
		w.exec(context.Background(), db, r.steps[i])
		r.durations[i] = time.Since(start)
	}
	if f := w.failed.Load(); f != 0 {
		t.Fatalf("%d statements failed unexpectedly", f)
	}
	return r
}

// pages counts the planned statements that ran a page (ListItemsPageNN).
func (r plannedRun) pages() int {
	n := 0
	for _, st := range r.steps {
		if st.kind == stmtSelect && st.seq%cycle == pageAt {
			n++
		}
	}
	return n
}

// TestDemoLabelledDatabases runs a healthy workload and then a slow burst
// on orders and a healthy one on reports, with 8 statement names of which
// the middleware admits 5: each database has its own series and pool
// metrics, the workload's own names are the ones admitted (both ways of
// naming, comment and context, reach the label), the pages are folded and
// counted, and only orders is slow, on the statement that turns slow.
func TestDemoLabelledDatabases(t *testing.T) {
	w, reg := newLabelledWorkload(t, 5, BaseStatements+2)
	orders, reports := w.dbs[0], w.dbs[1]
	warm := runInOrder(t, w, orders, Healthy, 100)
	burst := runInOrder(t, w, orders, SlowBurst, 100)
	calm := runInOrder(t, w, reports, Healthy, 100)

	for _, db := range []string{"orders", "reports"} {
		if got := valueWith(t, reg, middleware.MetricPoolMaxOpen, map[string]string{middleware.LabelDBName: db}); got != 4 {
			t.Errorf("go_sql_max_open_connections{db_name=%q} = %v, want 4", db, got)
		}
	}
	if got := valueWith(t, reg, middleware.MetricQueriesTotal, map[string]string{middleware.LabelDBName: "orders"}); got != 200 {
		t.Errorf("queries of orders = %v, want 200", got)
	}
	if got := valueWith(t, reg, middleware.MetricQueriesTotal, map[string]string{middleware.LabelDBName: "reports"}); got != 100 {
		t.Errorf("queries of reports = %v, want 100", got)
	}
	// GetArchivedItem only runs in the errors scenario, so a sixth name
	// was never seen: the five below are the first five in the plan.
	// _unnamed is exported from the start, and stays at 0: every
	// statement of the workload has a name.
	want := []string{"CreateItem", "GetItem", "PruneItems", "SearchItems", "TouchItem", middleware.StatementOverflow, middleware.StatementUnnamed}
	for _, db := range []string{"orders", "reports"} {
		if got := labelValues(t, reg, middleware.MetricQueriesTotal, db, middleware.LabelStatement); !slices.Equal(got, want) {
			t.Errorf("statement names of %s = %v, want %v", db, got, want)
		}
		if got := valueWith(t, reg, middleware.MetricQueriesTotal, map[string]string{middleware.LabelDBName: db, middleware.LabelStatement: middleware.StatementUnnamed}); got != 0 {
			t.Errorf("unnamed statements of %s = %v, want 0", db, got)
		}
	}
	if got, want := valueWith(t, reg, middleware.MetricStatementOverflowTotal, map[string]string{middleware.LabelDBName: "orders"}), float64(warm.pages()+burst.pages()); got != want || want == 0 {
		t.Errorf("overflow of orders = %v, want the %v pages run", got, want)
	}
	if got, want := valueWith(t, reg, middleware.MetricStatementOverflowTotal, map[string]string{middleware.LabelDBName: "reports"}), float64(calm.pages()); got != want || want == 0 {
		t.Errorf("overflow of reports = %v, want the %v pages run", got, want)
	}

	slow := valueWith(t, reg, middleware.MetricSlowQueriesTotal, map[string]string{middleware.LabelDBName: "orders", middleware.LabelStatement: "SearchItems"})
	extra := warm.slowerThan(testSlow) + burst.slowerThan(testSlow)
	if slow < 15 || slow > float64(15+extra) {
		t.Errorf("slow SearchItems on orders = %v, want 15 (plus at most the %d fast ones that took %s here)", slow, extra, testSlow)
	}
	if got, extra := valueWith(t, reg, middleware.MetricSlowQueriesTotal, map[string]string{middleware.LabelDBName: "reports"}), calm.slowerThan(testSlow); got > float64(extra) {
		t.Errorf("slow queries on reports = %v, want 0 (or at most the %d that took %s here)", got, extra, testSlow)
	}
}

// TestDemoScenarioOfOneDatabase switches one database's scenario through
// the API and the control endpoint, and checks Run drives each database
// in its own scenario.
func TestDemoScenarioOfOneDatabase(t *testing.T) {
	w, _ := newLabelledWorkload(t, 5, BaseStatements)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancellation")
		}
	}()

	if err := w.SetScenarioOf("orders", SlowBurst); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "orders driving the slow burst", func() bool { return w.dbs[0].driving.Load() == SlowBurst })
	if got := w.dbs[1].driving.Load(); got != Healthy {
		t.Errorf("reports drives %v, want healthy", got)
	}
	st := w.Status()
	if st.Scenario != "" || len(st.Databases) != 2 || st.Databases[0] != (DatabaseStatus{"orders", SlowBurst, st.Databases[0].Since, 200}) ||
		st.Databases[1].Name != "reports" || st.Databases[1].Scenario != Healthy || st.RateQPS != 400 {
		t.Errorf("Status = %+v, want orders in slow-burst, reports healthy, no common scenario, 400 qps in all", st)
	}
	if err := w.SetScenarioOf("billing", Errors); err == nil || !strings.Contains(err.Error(), "orders, reports") {
		t.Errorf("SetScenarioOf(billing) = %v, want an error listing orders, reports", err)
	}

	srv := httptest.NewServer(w.Handler(prometheus.NewRegistry(), "/metrics"))
	defer srv.Close()
	post := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/scenario?name=errors&db=reports"); code != 200 || !strings.Contains(body, `"db_name": "reports",
      "scenario": "errors"`) {
		t.Errorf("POST errors on reports = %d %s, want 200 and reports in errors", code, body)
	}
	waitFor(t, "reports driving the errors scenario", func() bool { return w.dbs[1].driving.Load() == Errors })
	if code, body := post("/scenario?name=errors&db=nope"); code != 400 || !strings.Contains(body, "orders, reports") {
		t.Errorf("POST on an unknown database = %d %s, want 400 listing the databases", code, body)
	}
	if code, body := post("/scenario?name=healthy"); code != 200 || !strings.Contains(body, `"scenario": "healthy"`) {
		t.Errorf("POST healthy on all = %d %s, want 200 and every database healthy", code, body)
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "databases: orders reports") || !strings.Contains(string(b), "&db=<database>") {
		t.Errorf("index = %q, want the databases and the per-database switch", b)
	}
}

func TestDemoOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"a database named twice", Options{Databases: []string{"orders", "orders"}}, `"orders": named twice`},
		{"an empty database name", Options{Databases: []string{"orders", ""}}, "must not be empty"},
		{"a database name that is a path", Options{Databases: []string{"../x"}}, "path separator"},
		{"fewer statement names than the workload's own", Options{Statements: 3}, "at least 6"},
		{"a negative statement maximum", Options{MaxStatements: -1}, "max statements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			w, err := New(tt.opts)
			if err == nil {
				w.Close()
				t.Fatalf("New(%+v) succeeded, want an error containing %q", tt.opts, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDemoStatementNames(t *testing.T) {
	got := StatementNames(BaseStatements + 2)
	want := []string{"GetItem", "SearchItems", "GetArchivedItem", "CreateItem", "TouchItem", "PruneItems", "ListItemsPage01", "ListItemsPage02"}
	if !slices.Equal(got, want) {
		t.Errorf("StatementNames(8) = %v, want %v", got, want)
	}
	if got := StatementNames(0); len(got) != BaseStatements {
		t.Errorf("StatementNames(0) = %v, want the %d own names", got, BaseStatements)
	}
}
