package rules

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// TestCase is one promtool test group: input series loaded at Interval,
// and alert checks at given times. The rules under test are evaluated
// every evaluation interval from time zero, as promtool does.
type TestCase struct {
	// Name says what the case proves, as a sentence; promtool prints it on
	// failure.
	Name string
	// Interval is the spacing of the input series' samples. It is always
	// written out: promtool 2.42 mis-spaces samples when it is left out.
	Interval time.Duration
	// InputSeries are the series loaded before evaluation.
	InputSeries []Series
	// AlertTests are the checks of firing alerts at given times.
	AlertTests []AlertTest
}

// Series is one input series in promtool's notation.
type Series struct {
	// Series is the series selector, e.g. `db_queries_total{job="api"}`.
	Series string
	// Values uses promtool's expanding notation: "0+10x30" is 0, 10, … 300;
	// "_" is a missing sample.
	Values string
}

// AlertTest checks, at EvalTime, the firing alerts of one alert rule.
type AlertTest struct {
	// EvalTime is the time since the start of the series at which the
	// alerts are checked; it is evaluated at the last rule evaluation at or
	// before it.
	EvalTime time.Duration
	// Alertname is the alert rule checked.
	Alertname string
	// ExpAlerts are every alert expected to be firing; empty means the rule
	// must not fire (pending alerts do not count).
	ExpAlerts []Alert
}

// Alert is an expected firing alert. Labels and Annotations are the full
// sets, as promtool compares them exactly; Labels omit alertname, which the
// rule engine adds.
type Alert struct {
	Labels      map[string]string
	Annotations map[string]string
}

// The promtool test-file schema. These mirror promtool's unexported types;
// only fields promtool 2.42 accepts are present.
type testFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	GroupEvalOrder     []string       `yaml:"group_eval_order,omitempty"`
	Tests              []testGroup    `yaml:"tests"`
}

type testGroup struct {
	Name           string          `yaml:"name"`
	Interval       model.Duration  `yaml:"interval"`
	InputSeries    []testSeries    `yaml:"input_series"`
	AlertRuleTests []alertRuleTest `yaml:"alert_rule_test"`
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

// RenderTests writes cases as a promtool `test rules` file that loads
// ruleFiles (paths relative to the test file; give exact paths, since a
// glob that matches nothing only warns) and evaluates the rules every
// evalInterval.
func RenderTests(ruleFiles []string, evalInterval time.Duration, cases []TestCase, opts ...Option) ([]byte, error) {
	if err := checkTests(evalInterval, cases); err != nil {
		return nil, fmt.Errorf("render rule tests: %w", err)
	}
	if len(ruleFiles) == 0 {
		return nil, errors.New("render rule tests: at least one rule file is required")
	}
	f := testFile{
		RuleFiles:          ruleFiles,
		EvaluationInterval: model.Duration(evalInterval),
		GroupEvalOrder:     optionsOf(opts).evalOrder,
		Tests:              make([]testGroup, 0, len(cases)),
	}
	for _, tc := range cases {
		g := testGroup{
			Name:           tc.Name,
			Interval:       model.Duration(tc.Interval),
			InputSeries:    make([]testSeries, 0, len(tc.InputSeries)),
			AlertRuleTests: make([]alertRuleTest, 0, len(tc.AlertTests)),
		}
		for _, s := range tc.InputSeries {
			g.InputSeries = append(g.InputSeries, testSeries(s))
		}
		for _, at := range tc.AlertTests {
			t := alertRuleTest{
				EvalTime:  model.Duration(at.EvalTime),
				Alertname: at.Alertname,
				ExpAlerts: make([]expAlert, 0, len(at.ExpAlerts)),
			}
			for _, a := range at.ExpAlerts {
				t.ExpAlerts = append(t.ExpAlerts, expAlert{ExpLabels: nonEmpty(a.Labels), ExpAnnotations: nonEmpty(a.Annotations)})
			}
			g.AlertRuleTests = append(g.AlertRuleTests, t)
		}
		f.Tests = append(f.Tests, g)
	}
	var b bytes.Buffer
	b.WriteString(optionsOf(opts).header)
	if err := encodeYAML(&b, f); err != nil {
		return nil, fmt.Errorf("render rule tests: %w", err)
	}
	return b.Bytes(), nil
}

// checkTests rejects test cases that promtool would run wrongly or that
// could not fail: no interval, no checks, an unnamed alert, times not
// representable in the file.
func checkTests(evalInterval time.Duration, cases []TestCase) error {
	var errs []error
	if evalInterval <= 0 {
		errs = append(errs, fmt.Errorf("evaluation interval must be positive, got %s", evalInterval))
	}
	for i, tc := range cases {
		where := fmt.Sprintf("tests[%d] %q", i, tc.Name)
		if strings.TrimSpace(tc.Name) == "" {
			errs = append(errs, fmt.Errorf("%s: name must not be empty", where))
		}
		if tc.Interval <= 0 {
			errs = append(errs, fmt.Errorf("%s: interval must be positive, got %s", where, tc.Interval))
		} else if tc.Interval%time.Millisecond != 0 {
			errs = append(errs, fmt.Errorf("%s: interval %s is finer than a millisecond", where, tc.Interval))
		}
		if len(tc.AlertTests) == 0 {
			errs = append(errs, fmt.Errorf("%s: no alert checks", where))
		}
		for j, at := range tc.AlertTests {
			if at.Alertname == "" {
				errs = append(errs, fmt.Errorf("%s: alert_rule_test[%d]: alertname must not be empty", where, j))
			}
			if at.EvalTime < 0 || at.EvalTime%time.Millisecond != 0 {
				errs = append(errs, fmt.Errorf("%s: alert_rule_test[%d] %q: eval_time must be a non-negative whole number of milliseconds, got %s", where, j, at.Alertname, at.EvalTime))
			}
		}
	}
	return errors.Join(errs...)
}
