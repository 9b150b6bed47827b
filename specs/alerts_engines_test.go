package specs

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// absentStopCase is the QueryMetricsAbsent case whose counter stops.
func absentStopCase(t *testing.T, c Config) rules.TestCase {
	t.Helper()
	for _, tc := range onlyAlerts(RuleTests(c), AlertQueryMetricsAbsent) {
		if strings.Contains(tc.Name, "stops reporting") {
			return tc
		}
	}
	t.Fatal("no QueryMetricsAbsent case with a counter that stops reporting")
	return rules.TestCase{}
}

// promtoolMajor is the major version promtool --version reports; ok is
// false when it reports none, as a promtool built with go install does.
func promtoolMajor(t *testing.T, promtool string) (major int, ok bool) {
	t.Helper()
	out, _, err := runTool(t.TempDir(), promtool, nil, "--version")
	if err != nil {
		t.Fatalf("%s --version: %v", promtool, err)
	}
	m := regexp.MustCompile(`version (\d+)\.`).FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	major, _ = strconv.Atoi(m[1])
	return major, true
}

// promtoolGeneration is the Prometheus major version whose semantics
// promtool has: what it reports, and for the current promtool, which may
// report none, 3.
func promtoolGeneration(t *testing.T, name, promtool string) int {
	t.Helper()
	major, ok := promtoolMajor(t, promtool)
	current := name == "current"
	switch {
	case ok && current && major < 3:
		t.Fatalf("the current promtool %s reports version %d; it must be a promtool 3.x", promtool, major)
	case ok:
		return major
	case current:
		return 3
	default:
		t.Skipf("%s reports no version, so which edge it should show is unknown", promtool)
	}
	return 0
}

// TestQueryMetricsAbsentEdges pins when the dead man's switch fires after
// a counter stops, on both generations of Prometheus: 3.x (the engine
// rules.Run links, and a current promtool) does not see a sample exactly
// lookback-delta old, 2.x does, so 3.x fires one evaluation earlier. The
// generated case asserts only where both agree (one evaluation before the
// 3.x edge, and at the 2.x edge); this test asserts the edge itself on
// each engine, so a change of either is noticed.
func TestQueryMetricsAbsentEdges(t *testing.T) {
	for _, tt := range []struct {
		name         string
		c            Config
		quiet, fires time.Duration // the generated case's two checks
	}{
		{"the default config", Default(), 14*time.Minute + 30*time.Second, 15*time.Minute + 30*time.Second},
		{"the fire drill's config", fastConfig(), 5*time.Minute + 17*time.Second, 5*time.Minute + 19*time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := absentStopCase(t, tt.c)
			if len(tc.AlertTests) != 2 {
				t.Fatalf("the case has %d checks, want 2 (quiet, then firing): %+v", len(tc.AlertTests), tc.AlertTests)
			}
			q, f := tc.AlertTests[0], tc.AlertTests[1]
			if q.EvalTime != tt.quiet || len(q.ExpAlerts) != 0 {
				t.Errorf("first check: at %s with %d alerts, want none at %s (one evaluation before Prometheus 3 fires)", q.EvalTime, len(q.ExpAlerts), tt.quiet)
			}
			if f.EvalTime != tt.fires || len(f.ExpAlerts) != 1 {
				t.Errorf("second check: at %s with %d alerts, want one at %s (when Prometheus 2 fires)", f.EvalTime, len(f.ExpAlerts), tt.fires)
			}
			if t.Failed() {
				return
			}
			// The evaluation after the quiet check is the 3.x edge: firing
			// there on 3.x, not yet on 2.x.
			edge := q.EvalTime + tt.c.Alerting.EvaluationInterval.Std()
			at := func(firing bool) rules.TestCase {
				e := tc
				e.Name = tc.Name + " (engine edge)"
				check := alertCheck(AlertQueryMetricsAbsent, edge)
				if firing {
					check.ExpAlerts = f.ExpAlerts
				}
				e.AlertTests = []rules.AlertTest{check}
				return e
			}
			groups := RuleGroups(tt.c)
			t.Run("in process, Prometheus 3 engine: fires at "+edge.String(), func(t *testing.T) {
				res := rules.Run(context.Background(), groups, tt.c.Alerting.EvaluationInterval.Std(), []rules.TestCase{at(true)})
				for _, fl := range res.Failures {
					t.Errorf("%s", fl.Error())
				}
			})
			for _, tool := range tooltest.All(t, tooltest.Promtool) {
				t.Run(tool.Name, func(t *testing.T) {
					promtool := tool.Path
					fires := promtoolGeneration(t, tool.Name, promtool) >= 3
					dir := writeRuleFiles(t, tt.c, groups, []rules.TestCase{at(fires)})
					if stdout, stderr, err := runTool(dir, promtool, nil, "test", "rules", "alerts_test.yml"); err != nil {
						t.Errorf("at %s, firing=%v: %v\n%s%s", edge, fires, err, stdout, stderr)
					}
				})
			}
		})
	}
}

// TestAlertRuleTestsPassUnderVMAlertTool runs the generated rule tests with
// VictoriaMetrics' vmalert-tool. It adds an alertgroup label to every alert
// unless --disableAlertgroupLabel is given, and then wants a groupname in
// every alert_rule_test, a field promtool rejects: one file cannot satisfy
// both, so the flag is part of how the generated tests are run there.
func TestAlertRuleTestsPassUnderVMAlertTool(t *testing.T) {
	vmalertTool := tooltest.Find(t, tooltest.VMAlertTool)
	// Not parallel: vmalert-tool listens on a fixed port. Its storage goes
	// under TMPDIR, so each run gets its own.
	for _, tt := range []struct {
		name string
		c    Config
	}{
		{"the default config", Default()},
		{"the fire drill's config", fastConfig()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRuleFiles(t, tt.c, RuleGroups(tt.c), RuleTests(tt.c))
			stdout, stderr, err := runTool(dir, vmalertTool, []string{"TMPDIR=" + t.TempDir()},
				"unittest", "--files=alerts_test.yml", "--disableAlertgroupLabel")
			if err != nil || !strings.Contains(stdout, "SUCCESS") {
				t.Errorf("vmalert-tool unittest --disableAlertgroupLabel: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
		})
	}
}
