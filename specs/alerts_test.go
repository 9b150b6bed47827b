package specs

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// fastConfig is the config of the end-to-end fire drill: the default
// thresholds with one-second scrapes and evaluations and windows and for
// durations of seconds.
func fastConfig() Config {
	c := Default()
	c.Prometheus.ScrapeInterval = Duration(time.Second)
	c.Alerting.EvaluationInterval = Duration(time.Second)
	t := &c.Thresholds
	t.RateWindow = Duration(6 * time.Second)
	t.BaselineWindow = Duration(30 * time.Second)
	t.MinQueryRate = 1
	t.SlowRate.Info.For = Duration(20 * time.Second)
	t.SlowRate.Warning.For = Duration(12 * time.Second)
	t.SlowRate.Critical.For = Duration(5 * time.Second)
	t.SlowRateByType.For = Duration(10 * time.Second)
	t.LatencyP99.Warning.For = Duration(10 * time.Second)
	t.LatencyP99.Critical.For = Duration(5 * time.Second)
	t.ErrorRate.For = Duration(5 * time.Second)
	t.RateSpike.For = Duration(5 * time.Second)
	t.TrafficDrop.For = Duration(5 * time.Second)
	t.PoolSaturation.For = Duration(5 * time.Second)
	t.PoolWait.For = Duration(5 * time.Second)
	t.MetricsAbsent.For = Duration(12 * time.Second)
	return c
}

// selectorConfig watches one application among several: two identity
// labels, an equality and a regex matcher, and other thresholds than the
// defaults.
func selectorConfig() Config {
	c := fastConfig()
	c.Service.IdentityLabels = []string{"job", "cluster"}
	c.Service.Selector = `job="api", cluster=~"eu-1|us-1"`
	c.Thresholds.SlowRate.Critical.Threshold = 0.2
	c.Thresholds.PoolSaturation.Threshold = 0.75
	c.Thresholds.MinQueryRate = 2
	return c
}

// onlyAlerts keeps the cases that check one of names.
func onlyAlerts(cases []rules.TestCase, names ...string) []rules.TestCase {
	var out []rules.TestCase
	for _, tc := range cases {
		for _, at := range tc.AlertTests {
			if slices.Contains(names, at.Alertname) {
				out = append(out, tc)
				break
			}
		}
	}
	return out
}

func TestAlertRuleTestsPassInProcess(t *testing.T) {
	for _, tt := range []struct {
		name  string
		c     Config
		cases func(Config) []rules.TestCase
	}{
		{"the default config", Default(), RuleTests},
		{"the fire drill's config", fastConfig(), RuleTests},
		{"a config with a selector and two identity labels", selectorConfig(), func(c Config) []rules.TestCase {
			// The selector changes labels, not timing: the alerts whose
			// labels it shapes are enough.
			return onlyAlerts(RuleTests(c), AlertSlowQueryRateCritical, AlertQueryMetricsAbsent)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cases := tt.cases(tt.c)
			res := rules.Run(context.Background(), RuleGroups(tt.c), tt.c.Alerting.EvaluationInterval.Std(), cases)
			for _, f := range res.Failures {
				t.Errorf("%s", f.Error())
			}
			if res.Passed != len(cases) {
				t.Errorf("%d of %d cases passed", res.Passed, len(cases))
			}
		})
	}
}

// writeRuleFiles writes the rule file and the rule-test file of c's groups
// and cases into a new directory, under their generated names, and
// returns the directory.
func writeRuleFiles(t *testing.T, c Config, groups []rules.Group, cases []rules.TestCase) string {
	t.Helper()
	dir := t.TempDir()
	ruleFile, testFile := filepath.Base(FileRules), filepath.Base(FileRuleTests)
	ruleData, err := rules.Render(groups)
	if err != nil {
		t.Fatal(err)
	}
	testData, err := rules.RenderTests([]string{ruleFile}, c.Alerting.EvaluationInterval.Std(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{ruleFile: ruleData, testFile: testData} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runTool runs bin with args in dir and returns stdout and stderr.
func runTool(dir, bin string, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestAlertRuleTestsPassUnderPromtool(t *testing.T) {
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		t.Run(tool.Name, func(t *testing.T) {
			promtool := tool.Path
			for _, tt := range []struct {
				name string
				c    Config
			}{
				{"the default config", Default()},
				{"the fire drill's config", fastConfig()},
			} {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					dir := writeRuleFiles(t, tt.c, RuleGroups(tt.c), RuleTests(tt.c))
					run := func(args ...string) string {
						stdout, stderr, err := runTool(dir, promtool, nil, args...)
						if err != nil {
							t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", promtool, strings.Join(args, " "), err, stdout, stderr)
						}
						return stdout
					}
					if out := run("check", "rules", filepath.Base(FileRules)); !strings.Contains(out, "SUCCESS: 12 rules found") {
						t.Errorf("promtool check rules did not find the 12 rules:\n%s", out)
					}
					if out := run("test", "rules", filepath.Base(FileRuleTests)); !strings.Contains(out, "SUCCESS") {
						t.Errorf("promtool test rules did not succeed:\n%s", out)
					}
				})
			}
		})
	}
}

// TestAlertRuleTestsCatchBrokenRules proves the tests can fail: each
// mutation breaks one rule the way a careless edit would, and the cases of
// that alert must then report failures.
func TestAlertRuleTestsCatchBrokenRules(t *testing.T) {
	c := fastConfig()
	th := c.Thresholds
	cut := func(at string) func(*rules.Rule) {
		return func(r *rules.Rule) {
			i := strings.Index(r.Expr, at)
			if i < 0 {
				t.Fatalf("%s: %q not in %q", r.Alert, at, r.Expr)
			}
			r.Expr = r.Expr[:i]
		}
	}
	replace := func(old, new string) func(*rules.Rule) {
		return func(r *rules.Rule) {
			if !strings.Contains(r.Expr, old) {
				t.Fatalf("%s: %q not in %q", r.Alert, old, r.Expr)
			}
			r.Expr = strings.Replace(r.Expr, old, new, 1)
		}
	}
	// Each mutation names the alert it breaks and words of the case that
	// must catch it; only the cases of that alert with those words run
	// against the broken rules, and must all fail (against the intact
	// rules they pass: TestAlertRuleTestsPassInProcess).
	for _, tt := range []struct {
		name   string
		alert  string
		catch  string
		mutate func(*rules.Rule)
	}{
		{"the critical slow-rate rule compares with the warning threshold", AlertSlowQueryRateCritical, "just under",
			replace("> "+promNum(th.SlowRate.Critical.Threshold), "> "+promNum(th.SlowRate.Warning.Threshold))},
		{"the warning slow-rate rule waits one evaluation too few", AlertSlowQueryRateWarning, "not one evaluation earlier",
			func(r *rules.Rule) { r.For -= c.Alerting.EvaluationInterval.Std() }},
		{"the info slow-rate rule loses its minimum-rate guard", AlertSlowQueryRateInfo, "minimum rate", cut("\nand\n")},
		{"the critical latency rule watches the median", AlertQueryLatencyP99Critical, "put the p99", replace("histogram_quantile(0.99", "histogram_quantile(0.5")},
		{"the warning latency rule compares with the critical threshold", AlertQueryLatencyP99Warning, "put the p99",
			replace("> "+promNum(th.LatencyP99.Warning.Threshold), "> "+promNum(th.LatencyP99.Critical.Threshold))},
		{"the spike rule loses its presence guard", AlertQueryRateSpike, "new series", cut("\nand\nmax")},
		{"the drop rule loses its minimum-baseline guard", AlertQueryTrafficDrop, "minimum rate", cut("\nand\n")},
		{"the dead man's switch waits twice as long", AlertQueryMetricsAbsent, "no query counter", func(r *rules.Rule) { r.For *= 2 }},
		{"the dead man's switch fires one evaluation early", AlertQueryMetricsAbsent, "on Prometheus 2 and 3", func(r *rules.Rule) { r.For -= c.Alerting.EvaluationInterval.Std() }},
		{"the error-rate rule divides by the slow queries", AlertQueryErrorRateHigh, "not one evaluation earlier", replace("db_queries_total[", "db_slow_queries_total[")},
		{"the by-type rule stops aggregating by query type", AlertSlowQueryRateByType, "fire for UPDATE", func(r *rules.Rule) {
			r.Expr = strings.ReplaceAll(r.Expr, ", query_type)", ")")
		}},
		{"the pool-saturation rule compares with >=", AlertConnectionPoolSaturated, "not above",
			replace("> "+promNum(th.PoolSaturation.Threshold), ">= "+promNum(th.PoolSaturation.Threshold))},
		{"the pool-wait rule has a wrong description", AlertConnectionPoolWaits, "one of two pools", func(r *rules.Rule) {
			r.Annotations[AnnotationDescription] = strings.Replace(r.Annotations[AnnotationDescription], "per second", "per minute", 1)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			groups := RuleGroups(c)
			found := false
			for i := range groups[0].Rules {
				if groups[0].Rules[i].Alert == tt.alert {
					tt.mutate(&groups[0].Rules[i])
					found = true
				}
			}
			if !found {
				t.Fatalf("no rule %s", tt.alert)
			}
			var cases []rules.TestCase
			for _, tc := range onlyAlerts(RuleTests(c), tt.alert) {
				if strings.HasPrefix(tc.Name, tt.alert+":") && strings.Contains(tc.Name, tt.catch) {
					cases = append(cases, tc)
				}
			}
			if len(cases) == 0 {
				t.Fatalf("no case of %s mentions %q", tt.alert, tt.catch)
			}
			res := rules.Run(context.Background(), groups, c.Alerting.EvaluationInterval.Std(), cases)
			if res.Failed != len(cases) {
				t.Fatalf("%d of the %d cases of %s with %q passed against the broken rule", res.Passed, len(cases), tt.alert, tt.catch)
			}
			for _, f := range res.Failures {
				if f.Alertname != "" && f.Alertname != tt.alert {
					t.Errorf("a failure names %s, not the mutated %s:\n%s", f.Alertname, tt.alert, f.Error())
				}
			}
		})
	}
}

// TestAlertDefaultsKeepTheSeedNumbers pins the numbers the original
// monitoring pack fixed, so changing a default threshold or for duration
// breaks a test, and reads them back from the rendered rules.
func TestAlertDefaultsKeepTheSeedNumbers(t *testing.T) {
	c := Default()
	rs := map[string]rules.Rule{}
	for _, r := range RuleGroups(c)[0].Rules {
		rs[r.Alert] = r
	}
	for _, tt := range []struct {
		name     string
		alert    string
		level    Level
		severity string
		want     Level
		inExpr   string
	}{
		{"slow queries above 10 % page after 5m", AlertSlowQueryRateCritical, c.Thresholds.SlowRate.Critical, SeverityCritical, Level{0.10, Duration(5 * time.Minute)}, "> 0.1\n"},
		{"slow queries above 5 % warn after 10m", AlertSlowQueryRateWarning, c.Thresholds.SlowRate.Warning, SeverityWarning, Level{0.05, Duration(10 * time.Minute)}, "> 0.05\n"},
		{"slow queries above 2 % inform after 30m", AlertSlowQueryRateInfo, c.Thresholds.SlowRate.Info, SeverityInfo, Level{0.02, Duration(30 * time.Minute)}, "> 0.02\n"},
		{"a p99 above 1000 ms pages after 5m", AlertQueryLatencyP99Critical, c.Thresholds.LatencyP99.Critical, SeverityCritical, Level{1, Duration(5 * time.Minute)}, "> 1\n"},
		{"a p99 above 500 ms warns after 15m", AlertQueryLatencyP99Warning, c.Thresholds.LatencyP99.Warning, SeverityWarning, Level{0.5, Duration(15 * time.Minute)}, "> 0.5\n"},
		{"a query rate above 2× its baseline warns after 10m", AlertQueryRateSpike, c.Thresholds.RateSpike, SeverityWarning, Level{2, Duration(10 * time.Minute)}, "> 2 * sum by (job) (rate(db_queries_total[1h] offset 5m))"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.level != tt.want {
				t.Errorf("Default() level = %+v, the seed fixes %+v", tt.level, tt.want)
			}
			r := rs[tt.alert]
			if r.For != tt.want.For.Std() || r.Labels[LabelSeverity] != tt.severity || !strings.Contains(r.Expr, tt.inExpr) {
				t.Errorf("rule %s: for %s, severity %q, expr\n%s\nwant for %s, severity %q, expr containing %q",
					tt.alert, r.For, r.Labels[LabelSeverity], r.Expr, tt.want.For, tt.severity, tt.inExpr)
			}
		})
	}
	if got := c.Thresholds.RateWindow; got != Duration(5*time.Minute) {
		t.Errorf("rate window %s, want 5m", got)
	}
	// The 7 % case of the seed: between warning and critical.
	var found bool
	for _, tc := range RuleTests(c) {
		if tc.Name == AlertSlowQueryRateWarning+": 7% slow queries fire the warning and not the critical" {
			found = true
		}
	}
	if !found {
		t.Error("no 7% slow-query case firing the warning but not the critical")
	}
}

func TestAlertRulesAreComplete(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
	}{
		{"the default config", Default()},
		{"the fire drill's config", fastConfig()},
		{"a config with a selector and two identity labels", selectorConfig()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			groups := RuleGroups(tt.c)
			if len(groups) != 1 || groups[0].Name != tt.c.Alerting.GroupName || groups[0].Interval != tt.c.Alerting.EvaluationInterval.Std() {
				t.Fatalf("want one group %q every %s, got %+v", tt.c.Alerting.GroupName, tt.c.Alerting.EvaluationInterval, groups)
			}
			var names []string
			known := promcheck.Default(tt.c.Service.IdentityLabels...)
			for _, r := range groups[0].Rules {
				names = append(names, r.Alert)
				if _, problems := known.Check(r.Expr); len(problems) > 0 {
					t.Errorf("%s: %s", r.Alert, strings.Join(problems, "; "))
				}
				if tt.c.Service.Selector != "" && strings.Count(r.Expr, "{"+tt.c.Service.Selector+"}") == 0 {
					t.Errorf("%s: the selector is not applied:\n%s", r.Alert, r.Expr)
				}
				if !slices.Contains(Severities, r.Labels[LabelSeverity]) || r.Labels[LabelTeam] != tt.c.Alerting.Team || r.Labels[LabelFamily] == "" || len(r.Labels) != 3 {
					t.Errorf("%s: labels %v", r.Alert, r.Labels)
				}
				for _, a := range []string{AnnotationSummary, AnnotationDescription, AnnotationRunbookURL, AnnotationDashboardURL} {
					if r.Annotations[a] == "" {
						t.Errorf("%s: no %s annotation", r.Alert, a)
					}
				}
				if r.Annotations[AnnotationRunbookURL] != tt.c.RunbookURL(r.Alert) || !strings.HasPrefix(r.Annotations[AnnotationDashboardURL], tt.c.DashboardURL(0)) {
					t.Errorf("%s: links %q %q", r.Alert, r.Annotations[AnnotationRunbookURL], r.Annotations[AnnotationDashboardURL])
				}
				if r.For < tt.c.Alerting.EvaluationInterval.Std() {
					t.Errorf("%s: for %s is shorter than an evaluation", r.Alert, r.For)
				}
			}
			if !slices.Equal(names, AlertNames) {
				t.Errorf("alerts %v, want %v", names, AlertNames)
			}
			data, err := rules.Render(groups)
			if err != nil {
				t.Fatal(err)
			}
			if errs := rules.Validate("alerts.yml", data); len(errs) > 0 {
				t.Errorf("the rendered rules do not validate: %v", errs)
			}
			again, _ := rules.Render(RuleGroups(tt.c))
			if !bytes.Equal(data, again) {
				t.Error("rendering twice gives different bytes")
			}
		})
	}
}

// TestAlertRuleTestsCoverEveryAlert holds every alert to at least four
// cases, with a firing check carrying its full labels and annotations, a
// check one evaluation before it may fire, and checks that must stay
// silent.
func TestAlertRuleTestsCoverEveryAlert(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
	}{
		{"the default config", Default()},
		{"the fire drill's config", fastConfig()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cases := RuleTests(tt.c)
			if _, err := rules.RenderTests([]string{"alerts.yml"}, tt.c.Alerting.EvaluationInterval.Std(), cases); err != nil {
				t.Fatal(err)
			}
			for _, alert := range AlertNames {
				var n, firing, silent int
				for _, tc := range onlyAlerts(cases, alert) {
					n++
					for _, at := range tc.AlertTests {
						if at.Alertname != alert {
							continue
						}
						if len(at.ExpAlerts) == 0 {
							silent++
							continue
						}
						firing++
						for _, a := range at.ExpAlerts {
							if len(a.Annotations) != 4 || a.Labels[LabelSeverity] == "" {
								t.Errorf("%s: %s: expected alert without its full labels and annotations: %+v", alert, tc.Name, a)
							}
						}
					}
				}
				if n < 4 || firing == 0 || silent < 3 {
					t.Errorf("%s: %d cases, %d firing and %d silent checks; want at least 4 cases, 1 firing and 3 silent checks", alert, n, firing, silent)
				}
			}
		})
	}
}
