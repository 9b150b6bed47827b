package specs

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

func TestSeriesPerInstance(t *testing.T) {
	// 8 series per bucket bound (5 query types + 3 outcomes), 39 fixed
	// (histograms' +Inf, _sum, _count and the three counters by type), 9
	// pool series per *sql.DB.
	for _, b := range []int{1, 13, 20} {
		total := 0
		for _, n := range SeriesPerInstance(b) {
			total += n
		}
		if want := 8*b + 39 + 9; total != want {
			t.Errorf("%d buckets: %d series, want %d", b, total, want)
		}
	}
	if got := SeriesPerInstance(13)["db_query_duration_seconds_bucket"]; got != 70 {
		t.Errorf("db_query_duration_seconds_bucket = %d, want 5 × 14", got)
	}
}

func limitFindingsOf(t *testing.T, name string, data string) []*diag.Error {
	t.Helper()
	c, src, err := Load(name, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Check(c, src)
	if p == nil {
		t.Fatalf("no pack: %v", errs)
	}
	var out []*diag.Error
	for _, e := range errs {
		if d := diag.As(e); d != nil && d.ID == CheckLimits {
			if !diag.IsWarning(e) {
				t.Errorf("limit finding is not a warning: %v", e)
			}
			out = append(out, d)
		}
	}
	return out
}

// fleetYAML is a fleet of n services with instances each.
func fleetYAML(n, instances int, extra string) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: svc-%d, selector: 'job=\"svc-%d\"', instances: %d}\n", i, i, instances)
	}
	return b.String() + extra
}

func TestLimitsDefaultsAreQuiet(t *testing.T) {
	if got := limitFindingsOf(t, "dbmonctl.yaml", "thresholds: {slow_query: 100ms}\n"); len(got) != 0 {
		t.Errorf("default spec: %v", got)
	}
	c, src := loadFleet(t, "dbmonctl.yaml")
	_, errs := Check(c, src)
	for _, e := range errs {
		if d := diag.As(e); d != nil && d.ID == CheckLimits {
			t.Errorf("fleet fixture: %v", e)
		}
	}
}

func TestLimitsGroupsAndRules(t *testing.T) {
	// 70 services: 71 groups, one above Mimir's default.
	got := limitFindingsOf(t, "f.yaml", fleetYAML(70, 1, ""))
	if len(got) != 1 || !strings.Contains(got[0].Error(), "71 rule groups") || !strings.Contains(got[0].Error(), "(70,") {
		t.Fatalf("want one finding about 71 groups, got %v", got)
	}
	if got[0].File != "f.yaml" || got[0].Line != 2 {
		t.Errorf("want it at f.yaml:2 (the services list), got %s:%d", got[0].File, got[0].Line)
	}
	// Raised in the file: quiet.
	if got := limitFindingsOf(t, "f.yaml", fleetYAML(70, 1, "limits: {groups: 100}\n")); len(got) != 0 {
		t.Errorf("groups raised to 100: %v", got)
	}
	// A lower rules_per_group points at the groups it breaks: 14
	// recording rules per service, 12 alerts.
	got = limitFindingsOf(t, "f.yaml", fleetYAML(2, 1, "limits: {rules_per_group: 13}\n"))
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 3 ||
		!strings.Contains(got[0].Error(), `rule group "dbmonctl-database-queries:svc-0" has 14 rules, above limits.rules_per_group (13`) {
		t.Errorf("want the two service groups at their lines 2 and 3, got %v", got)
	}
	got = limitFindingsOf(t, "f.yaml", fleetYAML(2, 1, "limits: {rules_per_group: 11}\n"))
	if len(got) != 3 || !strings.Contains(got[2].Error(), `rule group "dbmonctl-database-queries" has 12 rules`) {
		t.Errorf("want the service groups and the alert group, got %v", got)
	}
}

func TestLimitsSeries(t *testing.T) {
	// 152 series per instance with the 13 default buckets: 990 instances
	// project 150,480 series, and the 10 services' recording groups 98
	// each, 151,460 in all, above 150,000; and 990 × 70 bucket series of
	// db_query_duration_seconds_bucket are above 20,000.
	got := limitFindingsOf(t, "f.yaml", fleetYAML(10, 99, ""))
	if len(got) != 2 {
		t.Fatalf("want two findings, got %v", got)
	}
	all := got[0].Error() + "\n" + got[1].Error()
	for _, want := range []string{
		"the fleet projects 151460 active series (990 instances in 10 services × 152 series per instance with 13 buckets + 980 recorded), above limits.series (150000",
		"db_query_duration_seconds_bucket projects 69300 active series (990 instances × 70), above limits.series_per_metric (20000",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	// One service above the limit on its own is reported at its instances.
	got = limitFindingsOf(t, "f.yaml", fleetYAML(1, 1000, "limits: {series_per_metric: 0}\n"))
	if len(got) != 1 || !strings.Contains(got[0].Error(), "svc-0 projects 152098 active series (1000 instances × 152 series per instance with 13 buckets + 98 recorded)") || got[0].Line != 2 {
		t.Errorf("want the service's finding at line 2, got %v", got)
	}
	// The single service counts the generated scrape targets.
	var targets []string
	for i := 0; i < 300; i++ {
		targets = append(targets, fmt.Sprintf("'h%d:8080'", i))
	}
	got = limitFindingsOf(t, "s.yaml", "prometheus:\n  targets: ["+strings.Join(targets, ", ")+"]\n")
	if len(got) != 1 || !strings.Contains(got[0].Error(), "db_query_duration_seconds_bucket projects 21000 active series (300 instances × 70)") || got[0].Line != 2 {
		t.Errorf("want the per-metric finding at prometheus.targets, got %v", got)
	}
}

func TestLimitsValues(t *testing.T) {
	c, src, err := Load("f.yaml", []byte(fleetYAML(1, -1, "limits: {series: -5}\n")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range diag.Errors(Validate(c, src)) {
		got = append(got, e.Error())
	}
	s := strings.Join(got, "\n")
	for _, want := range []string{"f.yaml:2:", "services[0].instances", "f.yaml:3:", "limits.series"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
}

// The projection of the recorded series is what the recording rules
// write: every rule of a service's group, evaluated on the series of the
// middleware's whole contract for two instances, writes as many series as
// recordedSeries says, instance among the identity labels or not.
func TestRecordedSeriesMatchEvaluation(t *testing.T) {
	for _, identity := range []string{"[job]", "[job, instance]"} {
		t.Run(identity, func(t *testing.T) {
			c, src, err := Load("f.yaml", []byte(`service: {identity_labels: `+identity+`}
services:
  - name: a
    selector: job="a"
    instances: 2
    thresholds: {latency_p99: {critical: {threshold: 2.5}}, error_rate: {threshold: 0.1}}
  - {name: b, selector: job="b"}
`))
			if err != nil {
				t.Fatal(err)
			}
			p, errs := Check(c, src)
			if p == nil {
				t.Fatalf("no pack: %v", errs)
			}
			var load strings.Builder
			load.WriteString("load 10s\n")
			for _, inst := range []string{"h1:8080", "h2:8080"} {
				for _, m := range middleware.Contract() {
					sets := []map[string]string{{"job": "a", "instance": inst}}
					for _, l := range m.Labels {
						var vals []string
						switch l {
						case middleware.LabelQueryType:
							for _, q := range middleware.QueryTypes {
								vals = append(vals, string(q))
							}
						case middleware.LabelOutcome:
							for _, o := range middleware.TxOutcomes {
								vals = append(vals, string(o))
							}
						default:
							vals = []string{"main"}
						}
						var next []map[string]string
						for _, s := range sets {
							for _, v := range vals {
								n := maps.Clone(s)
								n[l] = v
								next = append(next, n)
							}
						}
						sets = next
					}
					names := []string{m.Name}
					if m.Kind == middleware.KindHistogram {
						names = []string{m.Name + "_sum", m.Name + "_count"}
						for _, s := range sets {
							for _, b := range append(slices.Clone(c.Thresholds.Buckets), math.Inf(1)) {
								ls := maps.Clone(s)
								ls[middleware.LabelLE] = leText(b)
								fmt.Fprintf(&load, "  %s 0+1x30\n", labelsText(m.Name+"_bucket", ls))
							}
						}
					}
					for _, name := range names {
						for _, s := range sets {
							fmt.Fprintf(&load, "  %s 0+1x30\n", labelsText(name, s))
						}
					}
				}
			}
			ll, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{})
			if err != nil {
				t.Fatal(err)
			}
			defer ll.Close()
			at := time.Unix(0, 0).UTC().Add(4 * time.Minute)
			var loadErr error
			ll.WithSamplesTill(at, func(err error) { loadErr = err })
			if loadErr != nil {
				t.Fatal(loadErr)
			}
			total := 0
			for _, r := range p.RuleGroups[0].Rules {
				// The baseline and presence records look back further
				// than the data: evaluate them without their offset.
				expr := regexp.MustCompile(` offset \w+`).ReplaceAllString(r.Expr, "")
				q, err := ll.QueryEngine().NewInstantQuery(ll.Context(), ll.Queryable(), nil, expr, at)
				if err != nil {
					t.Fatalf("%s: %v", expr, err)
				}
				res := q.Exec(ll.Context())
				if res.Err != nil {
					t.Fatalf("%s: %v", expr, res.Err)
				}
				vec, err := res.Vector()
				if err != nil {
					t.Fatal(err)
				}
				q.Close()
				if got, want := len(vec), recordedSeries(c, 0, r.Expr); got != want {
					t.Errorf("%s writes %d series, projected %d", r.Record, got, want)
				}
				total += len(vec)
			}
			// 98 per identity combination with 13 buckets (5 × 14 bucket
			// rates, 4 × 5 other rates, 8 baseline, presence and pool
			// records) and 2 threshold series.
			want := 98 + 2
			if identity == "[job, instance]" {
				want = 2*98 + 2
			}
			if total != want {
				t.Errorf("service a's group writes %d series, want %d", total, want)
			}
		})
	}
}

// labelsText writes a series selector of name with labels ls, sorted.
func labelsText(name string, ls map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
