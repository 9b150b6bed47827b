package rules

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
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

func TestKeepForSelectsTheCheckedAlertsAndTheRecordsTheyRead(t *testing.T) {
	groups := []Group{
		{Name: "records", Rules: []Rule{
			{Record: "job:requests:rate5m", Expr: `sum by (job) (rate(requests_total[5m]))`},
			{Record: "job:errors:ratio5m", Expr: `sum by (job) (rate(errors_total[5m])) / job:requests:rate5m`},
			{Record: "job:unused:rate5m", Expr: `sum by (job) (rate(unused_total[5m]))`},
			{Record: "job:matched:any", Expr: `count by (job) ({__name__=~"job:.*"})`},
		}},
		{Name: "alerts", Rules: []Rule{
			{Alert: "HighErrorRatio", Expr: `job:errors:ratio5m > 0.1`},
			{Alert: "Unchecked", Expr: `job:unused:rate5m > 1`},
			{Alert: "Queries", Expr: `job:requests:rate5m > 1`, Annotations: map[string]string{"description": `{{ with query "up" }}{{ . }}{{ end }}`}},
			{Alert: "Labelled", Expr: `job:requests:rate5m > 1`, Annotations: map[string]string{"summary": `{{ $labels.query_type }} query rate of {{ $labels.job }}`}},
			{Alert: "AnyName", Expr: `job:matched:any > 0`},
		}},
	}
	data, err := Render(groups)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	parsed, errs := rulefmt.Parse(data, false, model.LegacyValidation, p, discard)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rs := readsOf(parsed, p)
	for _, tt := range []struct {
		name  string
		alert string
		want  [][]bool
	}{
		{"an alert keeps the records it reads, through other records", "HighErrorRatio",
			[][]bool{{true, true, false, false}, {true, false, false, false, false}}},
		{"a template that queries keeps every record", "Queries",
			[][]bool{{true, true, true, true}, {false, false, true, false, false}}},
		{"the word query outside a template call is not a query", "Labelled",
			[][]bool{{true, false, false, false}, {false, false, false, true, false}}},
		{"a selector without a fixed name keeps every record", "AnyName",
			[][]bool{{true, true, true, true}, {false, false, false, false, true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := keepFor(TestCase{AlertTests: []AlertTest{{Alertname: tt.alert}}}, parsed, rs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("keep = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCallsQueryFindsTheTemplateFunction(t *testing.T) {
	for text, want := range map[string]bool{
		`{{ $value | humanizePercentage }} of queries are slow`:             false,
		`{{ $labels.query_type }} query rate`:                               false,
		`{{ with query "up" }}{{ . | first | value }}{{ end }}`:             true,
		`{{ if gt $value 1.0 }}{{ "up" | query | first | value }}{{ end }}`: true,
		`{{ range $i, $x := (query "up") }}{{ $x.Labels.job }}{{ end }}`:    true,
		`{{ template "x" (query "up") }}{{ define "x" }}{{ . }}{{ end }}`:   true,
		`{{ if (query "up") }}a query{{ else }}none{{ end }}`:               true,
		`{{ unclosed query`:               true,
		`no template, but the word query`: false,
	} {
		if got := callsQuery(text); got != want {
			t.Errorf("callsQuery(%q) = %v, want %v", text, got, want)
		}
	}
}
