package rules

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
)

func TestRenderTestsIsTheGoldenTestFile(t *testing.T) {
	got, err := RenderTests([]string{"example.rules.yml"}, 30*time.Second, errorRatioCases())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), Header) {
		t.Errorf("no generated-code header:\n%s", got)
	}
	for _, want := range []string{"evaluation_interval: 30s", "interval: 1m", "exp_alerts: []", "alertname: HighErrorRatio"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("test file lacks %q", want)
		}
	}
	golden(t, "example.rules_test.yml", got)
}

func TestRenderTestsRejectsCasesPromtoolWouldMisrun(t *testing.T) {
	good := errorRatioCases()[0]
	for _, tt := range []struct {
		name   string
		eval   time.Duration
		mutate func(*TestCase)
		want   string
	}{
		{"a case without an interval", 30 * time.Second, func(tc *TestCase) { tc.Interval = 0 }, "interval must be positive"},
		{"a case without a name", 30 * time.Second, func(tc *TestCase) { tc.Name = " " }, "name must not be empty"},
		{"a case without checks", 30 * time.Second, func(tc *TestCase) { tc.AlertTests = nil }, "no alert checks"},
		{"a check without an alert name", 30 * time.Second, func(tc *TestCase) { tc.AlertTests = []AlertTest{{EvalTime: time.Minute}} }, "alertname must not be empty"},
		{"a check at a negative time", 30 * time.Second, func(tc *TestCase) { tc.AlertTests[0].EvalTime = -time.Second }, "eval_time must be a non-negative"},
		{"no evaluation interval", 0, func(*TestCase) {}, "evaluation interval must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := good
			tc.AlertTests = append([]AlertTest(nil), good.AlertTests...)
			tt.mutate(&tc)
			_, err := RenderTests([]string{"r.yml"}, tt.eval, []TestCase{tc})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			res := Run(t.Context(), errorRatioGroup("0.1"), tt.eval, []TestCase{tc})
			if res.Failed != 1 || !strings.Contains(res.Failures[0].Message, tt.want) {
				t.Errorf("Run: want the case failed with %q, got %+v", tt.want, res)
			}
		})
	}
	if _, err := RenderTests(nil, time.Second, []TestCase{good}); err == nil {
		t.Error("no rule files accepted")
	}
}

// TestExampleFilesPassPromtool runs the golden rule and test files through
// promtool 2.42 (Debian's, on PATH) and the current promtool: what Run passes, promtool
// passes, and what Run fails, promtool fails.
func TestExampleFilesPassPromtool(t *testing.T) {
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		t.Run(tool.Name, func(t *testing.T) { examplesPassPromtool(t, tool.Path) })
	}
}

func examplesPassPromtool(t *testing.T, promtool string) {
	for _, tt := range []struct {
		name      string
		threshold string
		pass      bool
	}{
		{"the correct rules pass", "0.1", true},
		{"rules with a raised threshold fail", "0.25", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rulesData, err := Render(errorRatioGroup(tt.threshold))
			if err != nil {
				t.Fatal(err)
			}
			testData, err := RenderTests([]string{"alerts.yml"}, 30*time.Second, errorRatioCases())
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"alerts.yml": rulesData, "alerts_test.yml": testData} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml")
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if tt.pass && (err != nil || !strings.Contains(stdout.String(), "SUCCESS")) {
				t.Fatalf("promtool test rules: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			if !tt.pass && (err == nil || !strings.Contains(stderr.String(), "FAILED:") || !strings.Contains(stderr.String(), "alertname: HighErrorRatio, time: 3m10s")) {
				t.Fatalf("promtool test rules should fail with exp/got: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			if res := Run(t.Context(), errorRatioGroup(tt.threshold), 30*time.Second, errorRatioCases()); res.OK() != tt.pass {
				t.Errorf("Run disagrees with promtool: %+v", res)
			}
		})
	}
}
