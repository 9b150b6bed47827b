package rules

import (
	"context"
	"strings"
	"testing"
	"time"
)

// errorRatioGroup is a small but real alerting rule: the share of failing
// requests, guarded against zero traffic.
func errorRatioGroup(threshold string) []Group {
	return []Group{{
		Name:     "example",
		Interval: 30 * time.Second,
		Rules: []Rule{{
			Alert: "HighErrorRatio",
			Expr:  "sum by (job) (rate(errors_total[5m])) / sum by (job) (rate(requests_total[5m])) > " + threshold + "\nand sum by (job) (rate(requests_total[5m])) >= 0.1",
			For:   2 * time.Minute,
			Labels: map[string]string{
				"severity": "warning",
			},
			Annotations: map[string]string{
				"summary":     "High error ratio on {{ $labels.job }}",
				"description": "{{ $value | humanizePercentage }} of requests fail.",
			},
		}},
	}}
}

// errorRatioCases fire after two minutes of 20 % errors and never at 5 %.
func errorRatioCases() []TestCase {
	fires := Alert{
		Labels:      map[string]string{"job": "api", "severity": "warning"},
		Annotations: map[string]string{"summary": "High error ratio on api", "description": "20% of requests fail."},
	}
	return []TestCase{
		{
			Name:     "20 % errors fire after for and not before",
			Interval: time.Minute,
			InputSeries: []Series{
				{Series: `requests_total{job="api",instance="a"}`, Values: "0+60x10"},
				{Series: `errors_total{job="api",instance="a"}`, Values: "0+12x10"},
			},
			AlertTests: []AlertTest{
				{EvalTime: 2 * time.Minute, Alertname: "HighErrorRatio"},
				{EvalTime: 3*time.Minute + 10*time.Second, Alertname: "HighErrorRatio", ExpAlerts: []Alert{fires}},
			},
		},
		{
			Name:     "5 % errors never fire",
			Interval: time.Minute,
			InputSeries: []Series{
				{Series: `requests_total{job="api",instance="a"}`, Values: "0+60x10"},
				{Series: `errors_total{job="api",instance="a"}`, Values: "0+3x10"},
			},
			AlertTests: []AlertTest{{EvalTime: 9 * time.Minute, Alertname: "HighErrorRatio"}},
		},
	}
}

func TestRunPassesCorrectExpectations(t *testing.T) {
	res := Run(context.Background(), errorRatioGroup("0.1"), 30*time.Second, errorRatioCases())
	if !res.OK() || res.Passed != 2 {
		t.Fatalf("want 2 passed, got %+v", res)
	}
}

func TestRunReportsFailuresInPromtoolStyle(t *testing.T) {
	// With the threshold raised to 25 % the firing case must fail.
	res := Run(context.Background(), errorRatioGroup("0.25"), 30*time.Second, errorRatioCases())
	if res.Passed != 1 || res.Failed != 1 || len(res.Failures) != 1 {
		t.Fatalf("want 1 passed and 1 failed, got %+v", res)
	}
	f := res.Failures[0]
	msg := f.Error()
	for _, want := range []string{"name: 20 % errors fire after for and not before", "alertname: HighErrorRatio, time: 3m10s", "exp:[", `alertname="HighErrorRatio"`, "got:[]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	if f.Alertname != "HighErrorRatio" || f.EvalTime != 3*time.Minute+10*time.Second {
		t.Errorf("failure located at %q %s", f.Alertname, f.EvalTime)
	}
}

func TestRunFailsEveryCaseOnInvalidRules(t *testing.T) {
	groups := errorRatioGroup("0.1")
	groups[0].Rules[0].Expr = "sum(rate(requests_total[5m])) >"
	res := Run(context.Background(), groups, 30*time.Second, errorRatioCases())
	if res.Passed != 0 || res.Failed != 2 || !strings.Contains(res.Failures[0].Message, `groups[0] "example".rules[0] "HighErrorRatio": could not parse expression`) {
		t.Fatalf("want both cases failed naming the rule, got %+v", res)
	}
}

func TestRunReportsBadSeries(t *testing.T) {
	tc := errorRatioCases()[0]
	tc.InputSeries = []Series{{Series: `requests_total{job="api"`, Values: "0+1x3"}}
	res := Run(context.Background(), errorRatioGroup("0.1"), 30*time.Second, []TestCase{tc})
	if res.Failed != 1 || !strings.Contains(res.Failures[0].Message, "input series") {
		t.Fatalf("want the case failed on its series, got %+v", res)
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Run(ctx, errorRatioGroup("0.1"), 30*time.Second, errorRatioCases())
	if res.Failed != 2 || !strings.Contains(res.Failures[0].Message, "context canceled") {
		t.Fatalf("want every case stopped, got %+v", res)
	}
}
