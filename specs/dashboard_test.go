package specs

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// The package's -update flag may be defined by another test file of
// specs; define it only when nobody has, after every package-level flag
// exists (init runs after variable initialisation).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./specs -run Dashboard -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		for i := 0; i < len(w) && i < len(g); i++ {
			if w[i] != g[i] {
				t.Fatalf("%s differs at line %d (rerun with -update if intended):\n  want: %s\n  got:  %s", golden, i+1, w[i], g[i])
			}
		}
		t.Fatalf("%s differs in length: %d lines, want %d (rerun with -update if intended)", golden, len(g), len(w))
	}
}

func TestDashboardGolden(t *testing.T) {
	got, err := dashboard.Render(DashboardDefinition(Default()))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "dashboard.golden.json", got)
}

func TestDashboardProvisioningGolden(t *testing.T) {
	got, err := dashboard.RenderProvisioning(Provisioning(Default()))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "dashboard-provisioning.golden.yaml", got)
}

func TestDashboardDefaultValidates(t *testing.T) {
	if errs := ValidateDashboard(Default()); len(errs) > 0 {
		t.Fatalf("the default dashboard has findings:\n%s", diag.List(errs))
	}
}

func panelByID(t *testing.T, d dashboard.Definition, id uint32) dashboard.Panel {
	t.Helper()
	for _, p := range d.Panels {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no panel with id %d", id)
	return dashboard.Panel{}
}

func stepValues(steps []dashboard.Step) []any {
	out := make([]any, len(steps))
	for i, s := range steps {
		if s.Value == nil {
			out[i] = s.Color
		} else {
			out[i] = fmt.Sprintf("%s@%g", s.Color, *s.Value)
		}
	}
	return out
}

func TestDashboardPanelsAsSpecified(t *testing.T) {
	d := DashboardDefinition(Default())
	want := []struct {
		id    uint32
		title string
		kind  dashboard.PanelKind
		unit  string
	}{
		{PanelQueryRate, "Query Rate by Type", dashboard.KindTimeseries, "ops"},
		{PanelLatencyP99, "Query Duration p99", dashboard.KindGauge, "s"},
		{PanelPercentiles, "Query Duration Percentiles", dashboard.KindTimeseries, "s"},
		{PanelSlowRate, "Slow Query Rate by Type", dashboard.KindTimeseries, "ops"},
		{PanelSlowPercentage, "Slow Query Percentage", dashboard.KindGauge, "percentunit"},
		{PanelDistribution, "Query Distribution", dashboard.KindPiechart, "short"},
		{PanelStatisticsTable, "Query Statistics Table", dashboard.KindTable, ""},
		{PanelErrorRate, "Query Error Rate by Type", dashboard.KindTimeseries, "percentunit"},
		{PanelPool, "Connection Pool", dashboard.KindTimeseries, "short"},
		{PanelPoolWaits, "Connection Pool Waits", dashboard.KindTimeseries, "s"},
	}
	if len(d.Panels) != len(want) {
		t.Fatalf("got %d panels, want %d", len(d.Panels), len(want))
	}
	for _, w := range want {
		p := panelByID(t, d, w.id)
		if p.Title != w.title || p.Kind != w.kind || p.Unit != w.unit {
			t.Errorf("panel %d = %q %s unit %q, want %q %s unit %q", w.id, p.Title, p.Kind, p.Unit, w.title, w.kind, w.unit)
		}
	}
	if got := panelByID(t, d, PanelPercentiles).Queries; len(got) != 3 || got[0].LegendFormat != "p50" || got[1].LegendFormat != "p95" || got[2].LegendFormat != "p99" {
		t.Errorf("percentile queries = %+v, want p50, p95, p99", got)
	}
	if d.Refresh != "5s" || d.From != "now-1h" || d.To != "now" || d.UID != "dbmon-queries" || d.Title != "Database Queries" {
		t.Errorf("identity/time = uid %q title %q refresh %q from %q to %q", d.UID, d.Title, d.Refresh, d.From, d.To)
	}
}

// alertNames are every alert constant, for "the description names an alert".
var alertNames = []string{
	AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo,
	AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning, AlertQueryRateSpike,
	AlertQueryTrafficDrop, AlertQueryMetricsAbsent, AlertQueryErrorRateHigh,
	AlertSlowQueryRateByType, AlertConnectionPoolSaturated, AlertConnectionPoolWaits,
}

func TestDashboardQueriesFilterAndDescribe(t *testing.T) {
	c := Default()
	c.Service.IdentityLabels = []string{"job", "instance"}
	c.Service.Selector = `env="prod"`
	d := DashboardDefinition(c)
	if errs := ValidateDashboard(c); len(errs) > 0 {
		t.Fatalf("findings:\n%s", diag.List(errs))
	}
	for _, p := range d.Panels {
		named := false
		for _, a := range alertNames {
			named = named || strings.Contains(p.Description, a)
		}
		if !named {
			t.Errorf("panel %q: description names no alert: %q", p.Title, p.Description)
		}
		// The pool metrics have no query_type: the variable must not
		// filter them (it would drop every pool series once a type is
		// picked).
		poolPanel := p.ID == PanelPool || p.ID == PanelPoolWaits
		for _, q := range p.Queries {
			for _, m := range []string{`query_type=~"$query_type"`, `job=~"$job"`, `instance=~"$instance"`, `env="prod"`} {
				want := strings.Count(q.Expr, "{")
				if poolPanel && strings.HasPrefix(m, "query_type") {
					want = 0
				}
				if n := strings.Count(q.Expr, m); n != want {
					t.Errorf("panel %q %s: %d of %d selectors carry %s, want %d: %s", p.Title, q.RefID, n, strings.Count(q.Expr, "{"), m, want, q.Expr)
				}
			}
			window := "[$__rate_interval]"
			if p.ID == PanelDistribution {
				window = "[$__range]"
			}
			// The pool gauges are plotted as they are, without a range.
			gauges := p.ID == PanelPool
			if n, ranges := strings.Count(q.Expr, window), strings.Count(q.Expr, "["); (n == 0) != gauges || n != ranges {
				t.Errorf("panel %q %s: want every range to be %s: %s", p.Title, q.RefID, window, q.Expr)
			}
			if (p.Kind != dashboard.KindTimeseries) != q.Instant {
				t.Errorf("panel %q %s: instant = %v", p.Title, q.RefID, q.Instant)
			}
		}
	}
	names := make([]string, len(d.Variables))
	for i, v := range d.Variables {
		names[i] = v.Name
	}
	if got := strings.Join(names, ","); got != "datasource,job,instance,query_type" {
		t.Errorf("variables = %s, want datasource,job,instance,query_type", got)
	}
	if got, want := d.Variables[2].Query, `label_values(db_queries_total{env="prod", job=~"$job"}, instance)`; got != want {
		t.Errorf("instance variable query = %s, want %s", got, want)
	}
	if got, want := d.Variables[3].Query, `label_values(db_queries_total{env="prod", job=~"$job", instance=~"$instance"}, query_type)`; got != want {
		t.Errorf("query_type variable query = %s, want %s", got, want)
	}
	if v := d.Variables[0]; v.Kind != dashboard.VariableDatasource || v.Query != "prometheus" || v.Default != c.Dashboard.DatasourceUID || v.DefaultText != c.Dashboard.Datasource {
		t.Errorf("datasource variable = %+v, want the data source's uid %q as value and its name %q as text", v, c.Dashboard.DatasourceUID, c.Dashboard.Datasource)
	}
	for _, v := range d.Variables[1:] {
		if !v.Multi || !v.IncludeAll {
			t.Errorf("variable %s: multi=%v includeAll=%v, want both", v.Name, v.Multi, v.IncludeAll)
		}
	}
}

func TestDashboardTableMergesOneRowPerType(t *testing.T) {
	p := panelByID(t, DashboardDefinition(Default()), PanelStatisticsTable)
	var ids []string
	for _, tr := range p.Transformations {
		ids = append(ids, tr.ID)
	}
	if strings.Join(ids, ",") != "merge,organize" {
		t.Errorf("transformations = %v, want merge, organize", ids)
	}
	rename := p.Transformations[1].Options["renameByName"].(map[string]any)
	overrides := map[string]dashboard.FieldOverride{}
	for _, o := range p.Overrides {
		overrides[o.Field] = o
	}
	for _, q := range p.Queries {
		if !q.Instant || q.Format != dashboard.FormatTable {
			t.Errorf("query %s: instant=%v format=%q, want an instant table query", q.RefID, q.Instant, q.Format)
		}
		if !strings.HasPrefix(q.Expr, "sum by (query_type)") && !strings.Contains(q.Expr, "sum by (query_type, le)") {
			t.Errorf("query %s is not per query type: %s", q.RefID, q.Expr)
		}
		col, ok := rename["Value #"+q.RefID].(string)
		if !ok {
			t.Errorf("query %s: its column is not renamed", q.RefID)
			continue
		}
		if overrides[col].Unit == "" {
			t.Errorf("column %q has no unit override", col)
		}
	}
	if got := overrides[dashColumnP99]; got.Unit != "s" || len(got.Thresholds) != 3 {
		t.Errorf("p99 column override = %+v, want seconds and the latency steps", got)
	}
}

func TestDashboardFollowsThresholds(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		panel  uint32
		steps  []any
		max    float64
		text   string // in the panel description
	}{
		{"the default p99 gauge is green, yellow from 100ms, red from 500ms", func(*Config) {}, PanelLatencyP99,
			[]any{"green", "yellow@0.1", "red@0.5"}, 2, "red from 500ms"},
		{"the p99 gauge turns yellow at the slow threshold", func(c *Config) { c.Thresholds.SlowQuery = Duration(250 * time.Millisecond) }, PanelLatencyP99,
			[]any{"green", "yellow@0.25", "red@0.5"}, 2, "threshold (250ms)"},
		{"the p99 gauge turns red at the latency warning and ends at twice critical", func(c *Config) {
			c.Thresholds.LatencyP99.Warning.Threshold = 1
			c.Thresholds.LatencyP99.Critical.Threshold = 2.5
		}, PanelLatencyP99, []any{"green", "yellow@0.1", "red@1"}, 5, "red from 1s"},
		{"the percentile lines follow the same steps", func(c *Config) { c.Thresholds.SlowQuery = Duration(50 * time.Millisecond) }, PanelPercentiles,
			[]any{"green", "yellow@0.05", "red@0.5"}, math.NaN(), "threshold (50ms)"},
		{"the default slow-share gauge is yellow from 5%, red from 10%", func(*Config) {}, PanelSlowPercentage,
			[]any{"green", "yellow@0.05", "red@0.1"}, 1, "Yellow from 5%"},
		{"the slow-share gauge follows the slow-rate warning and critical", func(c *Config) {
			c.Thresholds.SlowRate.Warning.Threshold = 0.075
			c.Thresholds.SlowRate.Critical.Threshold = 0.2
		}, PanelSlowPercentage, []any{"green", "yellow@0.075", "red@0.2"}, 1, "red from 20%"},
		{"the error-rate line is the error alert's threshold", func(c *Config) { c.Thresholds.ErrorRate.Threshold = 0.02 }, PanelErrorRate,
			[]any{"green", "red@0.02"}, math.NaN(), "threshold (2% of all statements"},
		{"the pool-wait line is the wait alert's threshold", func(c *Config) { c.Thresholds.PoolWait.Threshold = 0.25 }, PanelPoolWaits,
			[]any{"green", "red@0.25"}, math.NaN(), "threshold (250ms per second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			p := panelByID(t, DashboardDefinition(c), tt.panel)
			if got := stepValues(p.Thresholds); fmt.Sprint(got) != fmt.Sprint(tt.steps) {
				t.Errorf("steps = %v, want %v", got, tt.steps)
			}
			if !math.IsNaN(tt.max) && (p.Max == nil || *p.Max != tt.max) {
				t.Errorf("max = %v, want %v", p.Max, tt.max)
			}
			if !strings.Contains(p.Description, tt.text) {
				t.Errorf("description does not say %q: %s", tt.text, p.Description)
			}
			if errs := ValidateDashboard(c); len(errs) > 0 {
				t.Errorf("findings:\n%s", diag.List(errs))
			}
		})
	}
}

func TestDashboardThresholdFindings(t *testing.T) {
	tests := []struct {
		name   string
		change func(*dashboard.Definition)
		want   []string // paths of the findings
	}{
		{"the generated dashboard agrees with the alerts", func(*dashboard.Definition) {}, nil},
		{"a gauge step moved away from the alert threshold is reported", func(d *dashboard.Definition) {
			d.Panels[1].Thresholds = []dashboard.Step{{Color: "green"}, {Value: dashboard.Float(0.1), Color: "yellow"}, {Value: dashboard.Float(0.75), Color: "red"}}
		}, []string{`panels[1] "Query Duration p99".fieldConfig.defaults.thresholds`}},
		{"missing panels are reported, one finding each", func(d *dashboard.Definition) { d.Panels = d.Panels[:4] },
			[]string{"panels", "panels", "panels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			d := DashboardDefinition(c)
			tt.change(&d)
			errs := DashboardThresholdFindings(c, d)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(errs), len(tt.want), diag.List(errs))
			}
			for i, e := range errs {
				var de *diag.Error
				if !errors.As(e, &de) || de.ID != CheckDashboardThresholds || de.Path != tt.want[i] {
					t.Errorf("finding %d = %v, want [%s] at %s", i, e, CheckDashboardThresholds, tt.want[i])
				}
			}
		})
	}
}

// TestDashboardP99GaugeHasHeadroom: a gauge whose maximum is the critical
// threshold sits pegged at its end during every critical incident, so the
// needle no longer shows whether things get better or worse.
func TestDashboardP99GaugeHasHeadroom(t *testing.T) {
	for _, tt := range []struct {
		name              string
		warning, critical float64
	}{
		{"the default thresholds", 0.5, 1},
		{"a critical threshold at 250ms", 0.1, 0.25},
		{"a critical threshold at 5s", 2.5, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Thresholds.LatencyP99.Warning.Threshold = tt.warning
			c.Thresholds.LatencyP99.Critical.Threshold = tt.critical
			p := panelByID(t, DashboardDefinition(c), PanelLatencyP99)
			if p.Max == nil || *p.Max <= tt.critical {
				t.Fatalf("max = %v, want above the critical threshold %v", p.Max, tt.critical)
			}
			if *p.Max != 2*tt.critical {
				t.Errorf("max = %v, want twice the critical threshold (%v), so critical sits mid-scale", *p.Max, 2*tt.critical)
			}
		})
	}
}

// TestDashboardDatasourceUID: the datasource variable's value is a data
// source UID, and a value that cannot be one is reported on the config key.
func TestDashboardDatasourceUID(t *testing.T) {
	c := Default()
	got, err := dashboard.Render(DashboardDefinition(c))
	if err != nil {
		t.Fatal(err)
	}
	want := `"current": {
          "selected": true,
          "text": "Prometheus",
          "value": "prometheus"
        }`
	if !strings.Contains(string(got), want) {
		t.Errorf("the datasource variable does not store the uid as value and the name as text; want\n%s", want)
	}
	for _, uid := range []string{"", "my prometheus", strings.Repeat("p", 41)} {
		c.Dashboard.DatasourceUID = uid
		errs := ValidateDashboard(c)
		if len(errs) != 1 || diag.As(errs[0]).Path != "dashboard.datasource_uid" || diag.As(errs[0]).ID != CheckSetting {
			t.Errorf("uid %q: findings = %v, want one [%s] at dashboard.datasource_uid", uid, diag.List(errs), CheckSetting)
		}
	}
}

func TestValidateDashboardPrefixesPaths(t *testing.T) {
	c := Default()
	c.Dashboard.UID = strings.Repeat("x", 41)
	errs := ValidateDashboard(c)
	if len(errs) != 1 || diag.As(errs[0]).Path != "dashboard.uid" {
		t.Fatalf("findings = %v, want one at dashboard.uid", diag.List(errs))
	}
}

// TestDashboardQueriesOnData evaluates the panel queries with the real
// PromQL engine: one application with traffic gives the expected numbers,
// an idle one gives no sample (gauges show "No data", never NaN).
func TestDashboardQueriesOnData(t *testing.T) {
	// Per minute, for job "busy": 60 SELECTs, 6 of them slow (≥ 100ms),
	// 3 failed; 54 fall in le=0.1, all 60 in le=0.5. Its pool has 8
	// connections in use, 2 idle, a limit of 10, and 240 waits a minute
	// that last 12 s in all. Job "idle" exports only zeros.
	load := `load 1m
	db_queries_total{job="busy",query_type="SELECT"} 0+60x20
	db_slow_queries_total{job="busy",query_type="SELECT"} 0+6x20
	db_query_duration_seconds_bucket{job="busy",query_type="SELECT",le="0.1"} 0+54x20
	db_query_duration_seconds_bucket{job="busy",query_type="SELECT",le="0.5"} 0+60x20
	db_query_duration_seconds_bucket{job="busy",query_type="SELECT",le="+Inf"} 0+60x20
	db_query_duration_seconds_count{job="busy",query_type="SELECT"} 0+60x20
	db_queries_total{job="idle",query_type="SELECT"} 0x20
	db_slow_queries_total{job="idle",query_type="SELECT"} 0x20
	db_query_duration_seconds_bucket{job="idle",query_type="SELECT",le="0.1"} 0x20
	db_query_duration_seconds_bucket{job="idle",query_type="SELECT",le="0.5"} 0x20
	db_query_duration_seconds_bucket{job="idle",query_type="SELECT",le="+Inf"} 0x20
	db_query_duration_seconds_count{job="idle",query_type="SELECT"} 0x20
	db_query_errors_total{job="busy",query_type="SELECT"} 0+3x20
	db_query_errors_total{job="idle",query_type="SELECT"} 0x20
	go_sql_in_use_connections{job="busy",db_name="app"} 8x20
	go_sql_idle_connections{job="busy",db_name="app"} 2x20
	go_sql_max_open_connections{job="busy",db_name="app"} 10x20
	go_sql_wait_duration_seconds_total{job="busy",db_name="app"} 0+12x20
	go_sql_wait_count_total{job="busy",db_name="app"} 0+240x20
	go_sql_in_use_connections{job="idle",db_name="app"} 0x20
	go_sql_idle_connections{job="idle",db_name="app"} 0x20
	go_sql_max_open_connections{job="idle",db_name="app"} 0x20
	go_sql_wait_duration_seconds_total{job="idle",db_name="app"} 0x20
	go_sql_wait_count_total{job="idle",db_name="app"} 0x20
`
	ll, err := promqltest.NewLazyLoader(load, promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ll.Close()
	at := time.Unix(0, 0).UTC().Add(15 * time.Minute)
	var loadErr error
	ll.WithSamplesTill(at, func(err error) { loadErr = err })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	eval := func(t *testing.T, expr, job string) []float64 {
		t.Helper()
		expr = strings.NewReplacer(`"$job"`, `"`+job+`"`, `"$query_type"`, `".*"`, "$__rate_interval", "5m", "$__range", "10m").Replace(expr)
		q, err := ll.QueryEngine().NewInstantQuery(ll.Context(), ll.Queryable(), nil, expr, at)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		defer q.Close()
		res := q.Exec(ll.Context())
		if res.Err != nil {
			t.Fatalf("%s: %v", expr, res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		out := make([]float64, len(vec))
		for i, s := range vec {
			out[i] = s.F
		}
		return out
	}
	d := DashboardDefinition(Default())
	tests := []struct {
		name  string
		panel uint32
		ref   string
		busy  float64 // the single value for job "busy"
		idle  []float64
	}{
		{"the query rate is queries per second", PanelQueryRate, "A", 1, []float64{0}},
		{"the p99 gauge interpolates in the 100–500ms bucket", PanelLatencyP99, "A", 0.46, nil},
		{"the p50 line is inside the first buckets", PanelPercentiles, "A", 0.1 * 30 / 54, nil},
		{"the slow rate is slow queries per second", PanelSlowRate, "A", 0.1, []float64{0}},
		{"the slow share is a 0–1 ratio, matching the percentunit unit", PanelSlowPercentage, "A", 0.1, nil},
		{"the distribution counts queries over the range", PanelDistribution, "A", 600, []float64{0}},
		{"the table's p99 column is per type", PanelStatisticsTable, "B", 0.46, nil},
		{"the table's slow column is per type", PanelStatisticsTable, "C", 0.1, nil},
		{"the error share per type is a 0–1 ratio", PanelErrorRate, "A", 0.05, nil},
		{"the error share over all types is the alert's ratio", PanelErrorRate, "B", 0.05, nil},
		{"connections in use per pool", PanelPool, "A", 8, []float64{0}},
		{"idle connections per pool", PanelPool, "B", 2, []float64{0}},
		{"the pool's limit", PanelPool, "C", 10, []float64{0}},
		{"seconds waited per second, the wait alert's signal", PanelPoolWaits, "A", 0.2, []float64{0}},
		{"the mean wait of one waiting call", PanelPoolWaits, "B", 0.05, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var expr string
			for _, q := range panelByID(t, d, tt.panel).Queries {
				if q.RefID == tt.ref {
					expr = q.Expr
				}
			}
			got := eval(t, expr, "busy")
			if len(got) != 1 || math.Abs(got[0]-tt.busy) > 1e-9*math.Max(1, tt.busy) {
				t.Errorf("busy: got %v, want [%v]", got, tt.busy)
			}
			idle := eval(t, expr, "idle")
			if fmt.Sprint(idle) != fmt.Sprint(tt.idle) {
				t.Errorf("idle: got %v, want %v", idle, tt.idle)
			}
		})
	}
}

// TestDashboardUsesContractNames guards against string literals creeping
// in: every metric the queries select is one of the contract's.
func TestDashboardUsesContractNames(t *testing.T) {
	names := map[string]bool{}
	for _, m := range middleware.Contract() {
		names[m.Name] = true
		if m.Kind == middleware.KindHistogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[m.Name+s] = true
			}
		}
	}
	for _, p := range DashboardDefinition(Default()).Panels {
		for _, q := range p.Queries {
			metrics, err := exprMetrics(promcheck.SubstituteGrafanaVars(q.Expr, dashboard.SubstituteWindow))
			if err != nil {
				t.Errorf("panel %q %s: %v", p.Title, q.RefID, err)
			}
			if len(metrics) == 0 {
				t.Errorf("panel %q %s selects no metric: %s", p.Title, q.RefID, q.Expr)
			}
			for _, m := range metrics {
				if !names[m] {
					t.Errorf("panel %q %s names %s, not in the contract", p.Title, q.RefID, m)
				}
			}
		}
	}
}
