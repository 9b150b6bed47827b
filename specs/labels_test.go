package specs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// labelConfigs are the configs with both opt-in labels on, under
// testdata/labels: one service, and a small fleet.
var labelConfigs = []string{"single", "fleet"}

func loadLabels(t *testing.T, name string) (Config, Source) {
	t.Helper()
	c, src, err := LoadFile(filepath.Join("testdata", "labels", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Middleware.DBNameLabel || !c.Middleware.StatementLabel {
		t.Fatalf("%s: want both labels on, got %+v", name, c.Middleware)
	}
	return c, src
}

// withLabels is c with the middleware's opt-in labels set.
func withLabels(c Config, db, statement bool) Config {
	c.Middleware.DBNameLabel, c.Middleware.StatementLabel = db, statement
	return c
}

// TestContractOptionsDecideWhatQueriesMayName proves both directions for
// the alerts' expressions and the dashboard's queries: db_name and
// statement on the statement metrics are findings while the config says
// the middleware does not emit them, and valid once it does.
func TestContractOptionsDecideWhatQueriesMayName(t *testing.T) {
	exprs := map[string]struct{ label, expr string }{
		"an alert grouping the queries by database": {middleware.LabelDBName,
			`sum by (job, db_name) (rate(db_queries_total[5m])) > 1`},
		"an alert matching one database's latency": {middleware.LabelDBName,
			`histogram_quantile(0.99, sum by (le) (rate(db_query_duration_seconds_bucket{db_name="orders"}[5m]))) > 1`},
		"an alert grouping the slow queries by statement": {middleware.LabelStatement,
			`sum by (job, statement) (rate(db_slow_queries_total[5m])) > 1`},
		"a selector of the overflow counter": {middleware.LabelStatement,
			`rate(db_statement_overflow_total[5m]) > 0`},
	}
	for name, x := range exprs {
		t.Run(name, func(t *testing.T) {
			off := withLabels(Default(), false, false)
			if _, problems := KnownSeries(off).Check(x.expr); len(problems) == 0 {
				t.Errorf("labels off: %s passes the contract check", x.expr)
			}
			on := withLabels(Default(), x.label == middleware.LabelDBName, x.label == middleware.LabelStatement)
			if _, problems := KnownSeries(on).Check(x.expr); len(problems) > 0 {
				t.Errorf("%s on: %s: %v", x.label, x.expr, problems)
			}
		})
	}

	// A panel added in Go, through the whole of Check: a promql finding of
	// the dashboard when the labels are off, none when they are on.
	panel := WithPanels(func(c Config) []Panel {
		return []Panel{{About: "per statement", Panel: dashboard.Panel{
			ID: 90, Title: "Per Statement", Kind: dashboard.KindTimeseries,
			Grid: dashboard.GridPos{X: 0, Y: 90, W: 24, H: 8},
			Queries: []dashboard.Query{{RefID: "A",
				Expr: `sum by (db_name, statement) (rate(db_queries_total{job=~"$job"}[$__rate_interval]))`}},
		}}}
	})
	dashFindings := func(c Config) []string {
		_, errs := Check(c, Source{}, panel)
		var out []string
		for _, e := range errs {
			if !diag.IsWarning(e) && strings.Contains(e.Error(), "Per Statement") {
				out = append(out, e.Error())
			}
		}
		return out
	}
	off := dashFindings(withLabels(Default(), false, false))
	if len(off) == 0 {
		t.Error("labels off: a panel grouping db_queries_total by db_name and statement passes validate")
	}
	for _, l := range []string{middleware.LabelDBName, middleware.LabelStatement} {
		if !strings.Contains(strings.Join(off, "\n"), fmt.Sprintf("%q", l)) {
			t.Errorf("labels off: no finding names %s: %v", l, off)
		}
	}
	if on := dashFindings(withLabels(Default(), true, true)); len(on) > 0 {
		t.Errorf("labels on: %v", on)
	}
	// One label on is not both.
	if one := dashFindings(withLabels(Default(), true, false)); !strings.Contains(strings.Join(one, "\n"), `"statement"`) {
		t.Errorf("db_name on, statement off: want a finding about statement, got %v", one)
	}
}

// TestLabelledPacksAreCleanAndTheirTestsPass: the packs of both configs
// validate without findings, their typed tests pass on the rule engine
// in process, and their generated files are golden.
func TestLabelledPacksAreCleanAndTheirTestsPass(t *testing.T) {
	for _, name := range labelConfigs {
		t.Run(name, func(t *testing.T) {
			c, src := loadLabels(t, name)
			p, errs := Check(c, src)
			for _, e := range errs {
				// The fleet's projected series pass a limit: see
				// TestLimitsProjectTheLabels.
				if d := diag.As(e); !(name == "fleet" && d.ID == CheckLimits && diag.IsWarning(e)) {
					t.Errorf("finding: %v", e)
				}
			}
			if p == nil {
				t.Fatal("no pack")
			}
			s := RunTests(context.Background(), p)
			if s.Failed > 0 || s.Passed == 0 {
				t.Errorf("passed %d, failed %d:\n%s", s.Passed, s.Failed, strings.Join(s.Failures, "\n"))
			}
			files, err := p.Files()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{FileRules, FileRuleTests, FileDashboard, FileOverview, FileAlertmanager} {
				checkGolden(t, filepath.Join("labels", name, filepath.Base(f)), files[f])
			}
			// Grafana 13's schema v2, which push sends there, renders too.
			for _, d := range p.Dashboards() {
				if _, err := dashboard.RenderV2(d); err != nil {
					t.Errorf("schema v2 of %s: %v", d.UID, err)
				}
			}
		})
	}
}

// TestLabelledRuleTestsPassUnderPromtool runs the generated rule tests of
// both configs with promtool, the oldest and the current where available.
func TestLabelledRuleTestsPassUnderPromtool(t *testing.T) {
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		t.Run(tool.Name, func(t *testing.T) {
			for _, name := range labelConfigs {
				t.Run(name, func(t *testing.T) {
					c, _ := loadLabels(t, name)
					files, err := Build(c).Files()
					if err != nil {
						t.Fatal(err)
					}
					dir := t.TempDir()
					for _, f := range []string{FileRules, FileRuleTests} {
						if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), files[f], 0o644); err != nil {
							t.Fatal(err)
						}
					}
					for _, args := range [][]string{{"check", "rules", filepath.Base(FileRules)}, {"test", "rules", filepath.Base(FileRuleTests)}} {
						stdout, stderr, err := runTool(dir, tool.Path, nil, args...)
						if err != nil || !strings.Contains(stdout, "SUCCESS") {
							t.Errorf("promtool %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
						}
					}
				})
			}
		})
	}
}

// TestTwoDatabasesAlertApart: with db_name on, the rule tests hold a case
// per ratio and latency alert where one of two databases is slow and only
// it fires; and the cases fail when the rules sum the databases together.
func TestTwoDatabasesAlertApart(t *testing.T) {
	for _, name := range labelConfigs {
		t.Run(name, func(t *testing.T) {
			c, _ := loadLabels(t, name)
			p := Build(c)
			var perDB []rules.TestCase
			covered := map[string]bool{}
			for _, tc := range p.RuleTests {
				if strings.Contains(tc.Name, "fires alone") {
					perDB = append(perDB, tc)
					covered[tc.AlertTests[0].Alertname] = true
				}
			}
			for _, a := range []string{AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo,
				AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning, AlertQueryErrorRateHigh} {
				if !covered[a] {
					t.Errorf("no two-database case for %s", a)
				}
			}
			eval := c.Alerting.EvaluationInterval.Std()
			if r := rules.Run(context.Background(), p.RuleGroups, eval, perDB); r.Failed > 0 {
				t.Fatalf("two-database cases fail on the generated rules: %v", r.Failures)
			}
			// The same cases against rules that drop db_name from every
			// grouping must fail, each of them.
			summed := make([]rules.Group, len(p.RuleGroups))
			for i, g := range p.RuleGroups {
				g.Rules = slices.Clone(g.Rules)
				for j := range g.Rules {
					g.Rules[j].Expr = strings.ReplaceAll(g.Rules[j].Expr, ", "+middleware.LabelDBName, "")
				}
				summed[i] = g
			}
			for _, tc := range perDB {
				if r := rules.Run(context.Background(), summed, eval, []rules.TestCase{tc}); r.Failed == 0 {
					t.Errorf("%q passes on rules that sum both databases", tc.Name)
				}
			}
		})
	}
}

// keepsDB matches an aggregation that keeps db_name.
var keepsDB = regexp.MustCompile(`by \([^)]*\b` + middleware.LabelDBName + `\b`)

func TestLabelledDashboardVariablesAndPanels(t *testing.T) {
	for _, tt := range []struct {
		name string
		vars string
	}{
		{"single", "datasource,job,db_name,query_type"},
		{"fleet", "datasource,service,job,db_name,query_type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := loadLabels(t, tt.name)
			d := DashboardDefinition(c)
			var names []string
			for _, v := range d.Variables {
				names = append(names, v.Name)
			}
			if got := strings.Join(names, ","); got != tt.vars {
				t.Errorf("variables %s, want %s", got, tt.vars)
			}
			for _, p := range d.Panels {
				for _, q := range p.Queries {
					if !strings.Contains(q.Expr, `db_name=~"$db_name"`) {
						t.Errorf("panel %q does not filter by $db_name: %s", p.Title, q.Expr)
					}
					if !keepsDB.MatchString(q.Expr) {
						t.Errorf("panel %q does not keep db_name: %s", p.Title, q.Expr)
					}
				}
			}
			panelByID(t, d, PanelSlowestStatements)
			panelByID(t, d, PanelStatementOverflow)
		})
	}
	// Labels off: no db_name variable, no statement panels.
	d := DashboardDefinition(Default())
	for _, v := range d.Variables {
		if v.Name == VarDBName {
			t.Error("the default dashboard has a db_name variable")
		}
	}
	for _, p := range d.Panels {
		if p.ID == PanelSlowestStatements || p.ID == PanelStatementOverflow {
			t.Errorf("the default dashboard has panel %q", p.Title)
		}
	}
}

// TestSlowestStatementsOnData evaluates the statement panels' queries with
// the real PromQL engine: 12 statements of one database, statement i
// with i × 5 % of its queries between 0.1 and 0.5 s; the table lists the
// 10 slowest of each kind, and the folded-names panel the overflow rate.
func TestSlowestStatementsOnData(t *testing.T) {
	c, _ := loadLabels(t, "single")
	eval := statementData(t)
	d := DashboardDefinition(c)
	table := panelByID(t, d, PanelSlowestStatements)
	p99, slow := eval(table.Queries[0].Expr), eval(table.Queries[1].Expr)
	for name, got := range map[string]map[string]float64{"p99": p99, "slow rate": slow} {
		if len(got) != TopStatements {
			t.Errorf("%s: %d rows, want the top %d: %v", name, len(got), TopStatements, got)
		}
		for _, fast := range []string{"orders/Q01", "orders/Q02"} {
			if _, ok := got[fast]; ok {
				t.Errorf("%s: the two fastest statements are listed: %v", name, got)
			}
		}
	}
	// Q12 has 60 % of its queries in the 0.1–0.5 s bucket: its p99 is
	// 0.1 + 0.4 × (0.99 − 0.4) / 0.6.
	if got, want := p99["orders/Q12"], 0.1+0.4*(0.99-0.4)/0.6; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("p99 of Q12 = %v, want %v", got, want)
	}
	if got, want := slow["orders/Q12"], 0.6; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("slow rate of Q12 = %v/s, want %v/s", got, want)
	}
	overflow := eval(panelByID(t, d, PanelStatementOverflow).Queries[0].Expr)
	if got := overflow["orders/"]; got != 0.5 {
		t.Errorf("folded statements = %v/s, want 0.5/s: %v", got, overflow)
	}
}

func TestMaxStatementsFindings(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"max_statements without statement_label", "middleware:\n  max_statements: 20\n",
			"x.yaml:2:19: middleware.max_statements: is set to 20 but middleware.statement_label is false"},
		{"max_statements of zero", "middleware:\n  statement_label: true\n  max_statements: 0\n",
			"x.yaml:3:19: middleware.max_statements: must be positive"},
		{"a negative max_statements", "middleware:\n  statement_label: true\n  max_statements: -5\n",
			"x.yaml:3:19: middleware.max_statements: must be positive"},
		{"a label that is not a boolean", "middleware:\n  db_name_label: yes please\n",
			"x.yaml:2:18: middleware.db_name_label: want true or false"},
		{"an unknown key", "middleware:\n  statement: true\n",
			`x.yaml:2:3: middleware.statement: unknown field "statement" (want one of: db_name_label, max_statements, statement_label)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, src, err := Load("x.yaml", []byte(tt.yaml))
			var errs []error
			var list diag.List
			if errors.As(err, &list) {
				errs = list
			} else if err != nil {
				t.Fatal(err)
			} else {
				errs = Validate(c, src)
			}
			var all []string
			for _, e := range errs {
				if !diag.IsWarning(e) {
					all = append(all, e.Error())
				}
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("want a finding %q, got:\n%s", tt.want, strings.Join(all, "\n"))
			}
		})
	}
	// The defaults, as dbmonctl init writes them, load and validate.
	c, src, err := Load("x.yaml", []byte("middleware:\n  db_name_label: false\n  statement_label: false\n  max_statements: 50\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Validate(c, src) {
		if !diag.IsWarning(e) {
			t.Errorf("finding on the defaults: %v", e)
		}
	}
}

func TestSeriesPerInstanceWithLabels(t *testing.T) {
	total := func(b int, m MiddlewareLabels) int {
		n := 0
		for _, v := range SeriesPerInstanceWith(b, m) {
			n += v
		}
		return n
	}
	const b = 13
	if got := total(b, MiddlewareLabels{MaxStatements: 50}); got != 152 {
		t.Errorf("labels off: %d series, want 152 (the default contract)", got)
	}
	// db_name: every metric carries it, so everything doubles with the
	// two databases assumed.
	if got := total(b, MiddlewareLabels{DBNameLabel: true, MaxStatements: 50}); got != 2*152 {
		t.Errorf("db_name: %d series, want %d", got, 2*152)
	}
	for _, m := range []int{1, 20, 50} {
		s := m + 2
		// 3 counters and the duration histogram (buckets + +Inf, _sum,
		// _count) by 5 query types × s statement values; transactions
		// and the pool as before; one overflow counter.
		want := 3*5*s + 5*s*(b+3) + 3*(b+3) + 9 + 1
		if got := total(b, MiddlewareLabels{StatementLabel: true, MaxStatements: m}); got != want {
			t.Errorf("statement, max %d: %d series, want %d", m, got, want)
		}
		if got := total(b, MiddlewareLabels{DBNameLabel: true, StatementLabel: true, MaxStatements: m}); got != 2*want {
			t.Errorf("both, max %d: %d series, want %d", m, got, 2*want)
		}
	}
	if got := SeriesPerInstanceWith(b, MiddlewareLabels{DBNameLabel: true, StatementLabel: true, MaxStatements: 50})["db_query_duration_seconds_bucket"]; got != 5*52*14*2 {
		t.Errorf("duration buckets with both labels: %d, want 5 types × 52 statements × 14 bounds × 2 databases", got)
	}
}

// TestLimitsProjectTheLabels: the fleet of testdata/labels (4 instances)
// stays under every limit without the labels, and passes the per-metric
// limit with them, which validate reports where the file sets the fleet.
func TestLimitsProjectTheLabels(t *testing.T) {
	c, src := loadLabels(t, "fleet")
	limits := func(c Config) []string {
		_, errs := Check(c, src)
		var out []string
		for _, e := range errs {
			if diag.As(e).ID == CheckLimits {
				out = append(out, e.Error())
			}
		}
		return out
	}
	if got := limits(withLabels(c, false, false)); len(got) > 0 {
		t.Errorf("labels off: %v", got)
	}
	got := limits(c)
	want := "testdata/labels/fleet.yaml:3:3: services: db_query_duration_seconds_bucket projects 29120 active series (4 instances × 7280), above limits.series_per_metric (20000"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "middleware.max_statements") {
		t.Errorf("got %q, want one warning starting %q and naming middleware.max_statements", got, want)
	}
	c.Middleware.MaxStatements = 20
	if got := limits(c); len(got) > 0 {
		t.Errorf("max_statements 20 (4 × 3080 series): %v", got)
	}
	// The tenant limit: 36 instances of the single service, 4296 series
	// each with max_statements 20 (154 656 in all).
	s, ssrc := loadLabels(t, "single")
	s.Prometheus.Targets = nil
	for i := range 36 {
		s.Prometheus.Targets = append(s.Prometheus.Targets, fmt.Sprintf("orders-%d:8080", i))
	}
	s.Limits.SeriesPerMetric = 0
	_, errs := Check(s, ssrc)
	var series []string
	for _, e := range errs {
		if d := diag.As(e); d.ID == CheckLimits {
			series = append(series, e.Error())
		}
	}
	if len(series) != 1 || !strings.Contains(series[0], "154656 active series (36 instances × 4296 series per instance with 13 buckets, 2 databases per instance (assumed with middleware.db_name_label), 22 statement values per query type") {
		t.Errorf("single service at 36 instances: %q", series)
	}
}

// statementGrouping matches an aggregation by statement.
var statementGrouping = regexp.MustCompile(`topk\(\d+, .*by \([^)]*\bstatement\b`)

// TestLabelledRunbooksNameTheStatements: with the statement label, the
// slow-rate and latency runbooks list the slowest statements, and every
// runbook query of both configs passes the contract of their labels.
func TestLabelledRunbooksNameTheStatements(t *testing.T) {
	for _, name := range labelConfigs {
		t.Run(name, func(t *testing.T) {
			c, _ := loadLabels(t, name)
			known := KnownSeries(c)
			books, err := Build(c).Runbooks()
			if err != nil {
				t.Fatal(err)
			}
			for alert, b := range books {
				exprs := rbPromQL(string(b))
				for _, e := range exprs {
					if _, problems := known.Check(e); len(problems) > 0 && e != "up" && !strings.HasPrefix(e, "up{") {
						t.Errorf("%s: %s: %v", alert, e, problems)
					}
				}
				want := slices.Contains([]string{AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo,
					AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning}, alert)
				if got := statementGrouping.MatchString(string(b)); got != want {
					t.Errorf("%s: lists the slowest statements = %v, want %v", alert, got, want)
				}
			}
		})
	}
}

// statementData loads 12 statements of database orders of job
// orders-api, statement i with i × 5 % of its 60 queries a minute between
// 0.1 and 0.5 s (the rest under 0.1 s), and 30 folded statements a minute;
// it returns an instant query at 15m keyed by db_name/statement, with
// Grafana's variables and $__rate_interval replaced.
func statementData(t *testing.T) func(expr string) map[string]float64 {
	t.Helper()
	var load strings.Builder
	load.WriteString("load 1m\n")
	const n = 12
	for i := 1; i <= n; i++ {
		ls := fmt.Sprintf(`job="orders-api",db_name="orders",query_type="SELECT",statement="Q%02d"`, i)
		slow := 60 * float64(i) / 20
		fmt.Fprintf(&load, "\tdb_queries_total{%s} 0+60x20\n", ls)
		fmt.Fprintf(&load, "\tdb_slow_queries_total{%s} 0+%sx20\n", ls, fnum(slow))
		fmt.Fprintf(&load, "\tdb_query_duration_seconds_bucket{%s,le=\"0.1\"} 0+%sx20\n", ls, fnum(60-slow))
		for _, le := range []string{"0.5", "+Inf"} {
			fmt.Fprintf(&load, "\tdb_query_duration_seconds_bucket{%s,le=%q} 0+60x20\n", ls, le)
		}
	}
	fmt.Fprintf(&load, "\tdb_statement_overflow_total{job=\"orders-api\",db_name=\"orders\"} 0+30x20\n")
	ll, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ll.Close() })
	at := time.Unix(0, 0).UTC().Add(15 * time.Minute)
	var loadErr error
	ll.WithSamplesTill(at, func(err error) { loadErr = err })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return func(expr string) map[string]float64 {
		t.Helper()
		expr = strings.NewReplacer(`"$job"`, `".*"`, `"$db_name"`, `".*"`, "$__rate_interval", "5m").Replace(expr)
		q, err := ll.QueryEngine().NewInstantQuery(ll.Context(), ll.Queryable(), nil, expr, at)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		defer q.Close()
		res := q.Exec(ll.Context())
		vec, err := res.Vector()
		if res.Err != nil || err != nil {
			t.Fatalf("%s: %v %v", expr, res.Err, err)
		}
		out := map[string]float64{}
		for _, s := range vec {
			out[s.Metric.Get(middleware.LabelDBName)+"/"+s.Metric.Get(middleware.LabelStatement)] = s.F
		}
		return out
	}
}

// TestFleetStatementRecordsOnData evaluates the per-statement rules of a
// fleet's service group on the same data: the p99 and slow rate of each
// statement and the folded rate, which the fleet's table and panel read.
func TestFleetStatementRecordsOnData(t *testing.T) {
	c, _ := loadLabels(t, "fleet")
	eval := statementData(t)
	q := newQuery(c)
	got := map[string]map[string]float64{}
	for _, g := range fleetGroups(c)[:1] { // orders: job="orders-api"
		for _, r := range g.Rules {
			if strings.Contains(r.Record, "statement") {
				got[r.Record] = eval(r.Expr)
			}
		}
	}
	p99, slow, folded := got[q.statementP99Record()], got[q.statementSlowRecord()], got[q.overflowRecord()]
	if len(p99) != 12 || len(slow) != 12 {
		t.Fatalf("want 12 statements in each record, got p99 %v, slow %v", p99, slow)
	}
	if v, want := p99["orders/Q12"], 0.1+0.4*(0.99-0.4)/0.6; v < want-1e-9 || v > want+1e-9 {
		t.Errorf("p99 of Q12 = %v, want %v", v, want)
	}
	if v := slow["orders/Q12"]; v < 0.6-1e-9 || v > 0.6+1e-9 {
		t.Errorf("slow rate of Q12 = %v/s, want 0.6/s", v)
	}
	if v := folded["orders/"]; v != 0.5 {
		t.Errorf("folded rate = %v/s, want 0.5/s: %v", v, folded)
	}
}

// TestRecordedSeriesCountTheLabels: the projection of a fleet's records
// counts db_name and statement groupings, and a per-statement p99 as one
// series per statement (histogram_quantile consumes le).
func TestRecordedSeriesCountTheLabels(t *testing.T) {
	c, _ := loadLabels(t, "fleet")
	q := newQuery(c)
	count := func(c Config) (total int, by map[string]int) {
		by = map[string]int{}
		for _, r := range fleetGroups(c)[0].Rules { // orders
			n := recordedSeries(c, 0, r.Expr)
			by[r.Record] += n
			total += n
		}
		return total, by
	}
	total, by := count(c)
	// 2 databases × 52 statement values; 2 × 5 query types × 14 bounds.
	for rec, want := range map[string]int{
		q.statementP99Record():  104,
		q.statementSlowRecord(): 104,
		q.overflowRecord():      2,
		q.rateRecord(middleware.MetricQueryDuration + "_bucket"): 140,
		q.rateRecord(middleware.MetricQueriesTotal):              10,
	} {
		if by[rec] != want {
			t.Errorf("%s: %d series, want %d", rec, by[rec], want)
		}
	}
	// 4 rate records × 10 + 140 buckets, baseline and presence 2 each,
	// 6 pool records × 2, and the 210 per statement.
	if want := 4*10 + 140 + 2 + 2 + 6*2 + 210; total != want {
		t.Errorf("orders records %d series, want %d: %v", total, want, by)
	}
	if off, _ := count(withLabels(c, false, false)); off >= total {
		t.Errorf("labels off: %d recorded series, not fewer than %d", off, total)
	}
}
