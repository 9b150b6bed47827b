package target

import (
	"os"
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
)

// enforceNamespace does to a PrometheusRule what the operator does when the
// Prometheus resource sets enforcedNamespaceLabel (its namespacelabeler,
// with prom-label-proxy's enforcer): every rule gets the label set to the
// resource's namespace, and every vector selector of every expression a
// matcher on it.
func enforceNamespace(t *testing.T, pr *monitoringv1.PrometheusRule, label string) {
	t.Helper()
	for gi := range pr.Spec.Groups {
		for ri := range pr.Spec.Groups[gi].Rules {
			r := &pr.Spec.Groups[gi].Rules[ri]
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels[label] = pr.Namespace
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr.String())
			if err != nil {
				t.Fatal(err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					for _, m := range vs.LabelMatchers {
						if m.Name == label && !(m.Type == labels.MatchEqual && m.Value == pr.Namespace) {
							t.Fatalf("%s already matches %s", r.Expr.String(), m)
						}
					}
					vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, label, pr.Namespace))
				}
				return nil
			})
			r.Expr = intstr.FromString(expr.String())
		}
	}
}

// TestRuleTestsPassUnderEnforcedNamespaceLabel runs the pack's rule tests
// on the PrometheusRule as a Prometheus with enforcedNamespaceLabel
// evaluates it: every query restricted to the resource's namespace, the
// input series scraped in that namespace (the operator labels them so),
// and every expected alert with the namespace label. promtool must pass
// them all: the alerts fire, and stay quiet, exactly as without the
// operator.
func TestRuleTestsPassUnderEnforcedNamespaceLabel(t *testing.T) {
	files := pack(t)
	o := testOptions()
	o.Namespace = "databases"
	pr, _ := operatorFilesOf(t, files, o)
	enforceNamespace(t, pr, NamespaceLabel)
	ruleData, err := sigsyaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}

	var tests promtoolTests
	if err := decodeKnown(FileRuleTests, files[FileRuleTests], &tests, func(string) string { return "unknown" }); err != nil {
		t.Fatal(err)
	}
	tests.RuleFiles = []string{"rules.yml"}
	inNamespace := 0
	for ti := range tests.Tests {
		for si, s := range tests.Tests[ti].InputSeries {
			lbls, err := parser.NewParser(parser.Options{}).ParseMetric(s.Series)
			if err != nil {
				t.Fatalf("series %q: %v", s.Series, err)
			}
			b := labels.NewBuilder(lbls)
			b.Set(NamespaceLabel, o.Namespace)
			tests.Tests[ti].InputSeries[si].Series = b.Labels().String()
		}
		for ai := range tests.Tests[ti].AlertRuleTests {
			for ei := range tests.Tests[ti].AlertRuleTests[ai].ExpAlerts {
				e := &tests.Tests[ti].AlertRuleTests[ai].ExpAlerts[ei]
				if e.ExpLabels == nil {
					e.ExpLabels = map[string]string{}
				}
				e.ExpLabels[NamespaceLabel] = o.Namespace
				inNamespace++
			}
		}
	}
	if inNamespace == 0 {
		t.Fatal("no expected alert: the test proves nothing")
	}
	testData, err := yaml.Marshal(tests)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"rules.yml": ruleData, "tests.yml": testData} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		stdout, stderr, err := run(dir, tool.Path, nil, "test", "rules", "tests.yml")
		if err != nil {
			t.Errorf("promtool (%s) test rules: %v\n%s%s", tool.Name, err, stdout, stderr)
		}
	}
}
