package target

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// The promtool test file, as far as the pack renders it. The fields are
// promtool's; decodeKnown refuses any other (external_url,
// fuzzy_compare, …), which vmalert-tool would not run the same way.
type promtoolTests struct {
	RuleFiles          []string        `yaml:"rule_files"`
	EvaluationInterval model.Duration  `yaml:"evaluation_interval"`
	GroupEvalOrder     []string        `yaml:"group_eval_order"`
	Tests              []promtoolGroup `yaml:"tests"`
}

type promtoolGroup struct {
	Name           string            `yaml:"name"`
	Interval       model.Duration    `yaml:"interval"`
	InputSeries    []testSeries      `yaml:"input_series"`
	AlertRuleTests []alertRuleTest   `yaml:"alert_rule_test"`
	PromQLTests    []exprTest        `yaml:"promql_expr_test"`
	ExternalLabels map[string]string `yaml:"external_labels"`
}

type testSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels,omitempty"`
	ExpAnnotations map[string]string `yaml:"exp_annotations,omitempty"`
}

type exprTest struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []expSample    `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// The vmalert-tool test file (app/vmalert-tool/unittest): promtool's with
// a groupname in every alert test, because vmalert adds the group's name
// to every alert as the alertgroup label, and metricsql_expr_test for
// promql_expr_test.
type vmalertTests struct {
	RuleFiles          []string           `yaml:"rule_files"`
	EvaluationInterval model.Duration     `yaml:"evaluation_interval,omitempty"`
	GroupEvalOrder     []string           `yaml:"group_eval_order,omitempty"`
	Tests              []vmalertGroupTest `yaml:"tests"`
}

type vmalertGroupTest struct {
	Name           string             `yaml:"name,omitempty"`
	Interval       model.Duration     `yaml:"interval,omitempty"`
	ExternalLabels map[string]string  `yaml:"external_labels,omitempty"`
	InputSeries    []testSeries       `yaml:"input_series"`
	AlertRuleTests []vmalertAlertTest `yaml:"alert_rule_test,omitempty"`
	MetricsQLTests []exprTest         `yaml:"metricsql_expr_test,omitempty"`
}

type vmalertAlertTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	GroupName string         `yaml:"groupname"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

func vmalertFiles(files map[string][]byte, o Options) (map[string][]byte, error) {
	groups, err := parseRules(files)
	if err != nil {
		return nil, err
	}
	ruleData, err := vmalertRules(groups, o)
	if err != nil {
		return nil, err
	}
	testData, err := input(files, FileRuleTests)
	if err != nil {
		return nil, err
	}
	tests, err := vmalertTestFile(testData, groups, o)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{FileVMAlertRules: ruleData, FileVMAlertTests: tests}, nil
}

// vmalertTestFile converts the promtool test file into one vmalert-tool
// runs as it is (no --disableAlertgroupLabel): each alert test names the
// group of its alert, found in the rule file.
func vmalertTestFile(data []byte, groups []rulefmt.RuleGroup, o Options) ([]byte, error) {
	var in promtoolTests
	if err := decodeKnown(FileRuleTests, data, &in, func(string) string {
		return "not a field vmalert-tool runs like promtool; the vmalert target cannot convert it"
	}); err != nil {
		return nil, err
	}
	groupsOf := map[string][]string{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !slices.Contains(groupsOf[r.Alert], g.Name) {
				groupsOf[r.Alert] = append(groupsOf[r.Alert], g.Name)
			}
		}
	}
	for _, f := range in.RuleFiles {
		if f != ruleFileName {
			return nil, fmt.Errorf("%s: rule_files names %q; the vmalert target writes only %s beside the tests", FileRuleTests, f, ruleFileName)
		}
	}
	out := vmalertTests{
		RuleFiles:          in.RuleFiles,
		EvaluationInterval: in.EvaluationInterval,
		GroupEvalOrder:     in.GroupEvalOrder,
	}
	for ti, tg := range in.Tests {
		g := vmalertGroupTest{
			Name:           tg.Name,
			Interval:       tg.Interval,
			ExternalLabels: tg.ExternalLabels,
			InputSeries:    tg.InputSeries,
			MetricsQLTests: tg.PromQLTests,
		}
		for ai, at := range tg.AlertRuleTests {
			var group string
			switch gs := groupsOf[at.Alertname]; len(gs) {
			case 0:
				return nil, fmt.Errorf("%s: tests[%d].alert_rule_test[%d]: alert %q is not in %s", FileRuleTests, ti, ai, at.Alertname, FileRules)
			case 1:
				group = gs[0]
			default:
				return nil, fmt.Errorf("%s: tests[%d].alert_rule_test[%d]: alert %s is in groups %q of %s; a vmalert-tool test names one group, so it cannot say which", FileRuleTests, ti, ai, at.Alertname, gs, FileRules)
			}
			g.AlertRuleTests = append(g.AlertRuleTests, vmalertAlertTest{
				EvalTime:  at.EvalTime,
				GroupName: group,
				Alertname: at.Alertname,
				ExpAlerts: at.ExpAlerts,
			})
		}
		out.Tests = append(out.Tests, g)
	}
	var b bytes.Buffer
	b.WriteString(o.Header)
	b.WriteString("# Unit tests of the alert rules: run with `vmalert-tool unittest --files=alerts_test.yml`.\n")
	if err := encodeYAML(&b, out); err != nil {
		return nil, fmt.Errorf("render %s: %w", FileVMAlertTests, err)
	}
	return b.Bytes(), nil
}
