package specs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// A fleet whose services override thresholds in two different ways (a and
// c the same way), and one that keeps the defaults.
const variantsFleet = `services:
  - name: a
    selector: job="a"
    thresholds: {latency_p99: {critical: {threshold: 2.5}}}
  - name: b
    selector: job="b"
    thresholds: {latency_p99: {critical: {threshold: 5}}, error_rate: {threshold: 0.1}}
  - name: c
    selector: job="c"
    thresholds: {latency_p99: {critical: {threshold: 2.5}}}
  - name: d
    selector: job="d"
`

// expand renders an annotation template as Prometheus does for an alert
// with labels ls and value v.
func expand(t *testing.T, text string, ls map[string]string, v float64) string {
	t.Helper()
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := template.AlertTemplateData(ls, nil, "", promql.Sample{F: v})
	e := template.NewTemplateExpander(context.Background(), defs+text, "annotation", data, model.Time(0), nil, nil, nil)
	out, err := e.Expand()
	if err != nil {
		t.Fatalf("expand %q: %v", text, err)
	}
	return out
}

func TestFleetAlertsQuoteEachServicesThreshold(t *testing.T) {
	c, src, err := Load("f.yaml", []byte(variantsFleet))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Check(c, src)
	for _, e := range errs {
		if !diag.IsWarning(e) {
			t.Errorf("finding: %v", e)
		}
	}
	if p == nil {
		t.Fatal("no pack")
	}
	rule := func(name string) (summary, description string) {
		for _, g := range p.RuleGroups {
			for _, r := range g.Rules {
				if r.Alert == name {
					return r.Annotations[AnnotationSummary], r.Annotations[AnnotationDescription]
				}
			}
		}
		t.Fatalf("no rule %s", name)
		return "", ""
	}
	for _, tt := range []struct {
		alert, service, quotes string
	}{
		{AlertQueryLatencyP99Critical, "a", "critical above 2.5s"},
		{AlertQueryLatencyP99Critical, "b", "critical above 5s"},
		{AlertQueryLatencyP99Critical, "c", "critical above 2.5s"},
		{AlertQueryLatencyP99Critical, "d", "critical above 1s"},
		{AlertQueryLatencyP99Critical, "not-in-the-config", "critical above 1s"},
		{AlertQueryErrorRateHigh, "b", "10%"},
		{AlertQueryErrorRateHigh, "a", "5%"},
	} {
		summary, description := rule(tt.alert)
		ls := map[string]string{"service": tt.service, "job": tt.service, "team": "database"}
		got := expand(t, summary, ls, 3) + "\n" + expand(t, description, ls, 3)
		if !strings.Contains(got, tt.quotes) {
			t.Errorf("%s of service %s: want it to quote %q, got:\n%s", tt.alert, tt.service, tt.quotes, got)
		}
		if strings.Contains(got, "{{") {
			t.Errorf("%s of service %s: unexpanded template:\n%s", tt.alert, tt.service, got)
		}
	}
	// a and c share one branch; an alert no service words differently
	// has none.
	_, d := rule(AlertQueryLatencyP99Critical)
	if !strings.Contains(d, `{{ if eq $labels.service "a" "c" }}`) || !strings.Contains(d, `{{ else if eq $labels.service "b" }}`) {
		t.Errorf("QueryLatencyP99Critical's description does not branch on a and c, then b:\n%s", d)
	}
	if _, d := rule(AlertSlowQueryRateCritical); strings.Contains(d, "{{ if") {
		t.Errorf("SlowQueryRateCritical branches although no service overrides it:\n%s", d)
	}
	// The overriding services' own tests run on a (the first variant).
	n := 0
	for _, tc := range p.RuleTests {
		if strings.HasPrefix(tc.Name, "service a, with its own thresholds: ") {
			n++
			if !strings.HasPrefix(tc.Name, "service a, with its own thresholds: "+AlertQueryLatencyP99Critical+": ") {
				t.Errorf("case of an alert a words like the default: %s", tc.Name)
			}
		}
	}
	if n == 0 {
		t.Error("no rule test on service a's own thresholds")
	}
	// TestFleetPackIsCleanAndItsTestsPass runs such cases (on the fleet
	// fixture's orders), TestFleetRuleTestsPassUnderTools with promtool.
}

// When every service overrides a threshold, the rule tests run on the
// first one, on its own thresholds, for every alert.
func TestFleetEveryServiceOverrides(t *testing.T) {
	c, src, err := Load("f.yaml", []byte(`services:
  - name: a
    selector: job="a"
    thresholds: {latency_p99: {critical: {threshold: 2.5}}}
  - name: b
    selector: job="b"
    thresholds: {error_rate: {threshold: 0.1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Check(c, src)
	for _, e := range errs {
		if !diag.IsWarning(e) {
			t.Errorf("finding: %v", e)
		}
	}
	if p == nil {
		t.Fatal("no pack")
	}
	tested := map[string]bool{}
	for _, tc := range p.RuleTests {
		if !strings.HasPrefix(tc.Name, "service a, with its own thresholds: ") {
			t.Errorf("case not on service a: %s", tc.Name)
		}
		for _, at := range tc.AlertTests {
			tested[at.Alertname] = true
		}
	}
	for _, a := range p.Alerts {
		if !tested[a.Name] {
			t.Errorf("%s has no rule test", a.Name)
		}
	}
	if s := RunTests(context.Background(), p); s.Failed > 0 || s.Passed == 0 {
		t.Errorf("passed %d, failed %d:\n%s", s.Passed, s.Failed, strings.Join(s.Failures, "\n"))
	}
}

// The generated rules of a fleet with a service that overrides a
// threshold (the fixture's orders) pass that service's own tests, which
// expect its own threshold in the annotations, on the real promtool of
// both releases and on vmalert-tool. (The rest of the generated tests are
// the same kind as a single service's, which those tools already run.)
func TestFleetRuleTestsPassUnderTools(t *testing.T) {
	c, src := loadFleet(t, "dbmonctl.yaml")
	p, _ := Check(c, src)
	if p == nil {
		t.Fatal("no pack")
	}
	var cases []rules.TestCase
	for _, tc := range p.RuleTests {
		if strings.HasPrefix(tc.Name, "service orders, with its own thresholds: ") {
			cases = append(cases, tc)
		}
	}
	if len(cases) == 0 {
		t.Fatal("no rule test on orders' own thresholds")
	}
	var order []string
	for _, g := range p.RuleGroups {
		order = append(order, g.Name)
	}
	ruleData, err := rules.Render(p.RuleGroups)
	if err != nil {
		t.Fatal(err)
	}
	testData, err := rules.RenderTests([]string{"alerts.yml"}, c.Alerting.EvaluationInterval.Std(), cases, rules.WithGroupEvalOrder(order...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"alerts.yml": ruleData, "alerts_test.yml": testData} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("promtool", func(t *testing.T) {
		for _, tool := range tooltest.All(t, tooltest.Promtool) {
			t.Run(tool.Name, func(t *testing.T) {
				if stdout, stderr, err := runTool(dir, tool.Path, nil, "test", "rules", "alerts_test.yml"); err != nil {
					t.Errorf("promtool test rules: %v\n%s%s", err, stdout, stderr)
				}
			})
		}
	})
	t.Run("vmalert-tool", func(t *testing.T) {
		vmalertTool := tooltest.Find(t, tooltest.VMAlertTool)
		stdout, stderr, err := runTool(dir, vmalertTool, []string{"TMPDIR=" + t.TempDir()},
			"unittest", "--files=alerts_test.yml", "--disableAlertgroupLabel")
		if err != nil || !strings.Contains(stdout, "SUCCESS") {
			t.Errorf("vmalert-tool unittest --disableAlertgroupLabel: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
	})
}
