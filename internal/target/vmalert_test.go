package target

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
)

// writeFiles writes files[p] for each p under a new temporary directory,
// keeping the relative paths, and returns the directory.
func writeFiles(t *testing.T, files map[string][]byte, paths ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range paths {
		data, ok := files[p]
		if !ok {
			t.Fatalf("no %s to write", p)
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs bin in dir with the extra environment and returns its output.
func run(dir, bin string, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// packs are the rendered packs the engine tests convert: the default
// spec's, and the fixture that uses every converted field.
func packs(t *testing.T) []struct {
	name  string
	files map[string][]byte
	o     Options
} {
	fx := testOptions()
	fx.EvaluationInterval = time.Minute
	return []struct {
		name  string
		files map[string][]byte
		o     Options
	}{
		{"the default pack", pack(t), testOptions()},
		{"the fixture", fixture(t), fx},
	}
}

func TestVMAlertLoadsTheGeneratedRules(t *testing.T) {
	vmalert := tooltest.Find(t, tooltest.VMAlert)
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			out := apply(t, p.files, []string{VMAlert}, p.o)
			dir := writeFiles(t, out, FileVMAlertRules)
			stdout, stderr, err := run(dir, vmalert, nil, "-dryRun", "-rule="+filepath.FromSlash(FileVMAlertRules))
			if err != nil {
				t.Fatalf("vmalert -dryRun: %v\n%s%s", err, stdout, stderr)
			}
		})
	}
}

// TestVMAlertRefusesThanosRules shows the dry run can fail: vmalert
// refuses the field only Thanos Ruler takes, so the thanos-ruler file must
// not be the vmalert one.
func TestVMAlertRefusesThanosRules(t *testing.T) {
	vmalert := tooltest.Find(t, tooltest.VMAlert)
	out := apply(t, fixture(t), []string{ThanosRuler}, testOptions())
	dir := writeFiles(t, out, FileThanosRules)
	stdout, stderr, err := run(dir, vmalert, nil, "-dryRun", "-rule="+filepath.FromSlash(FileThanosRules))
	if err == nil || !strings.Contains(stdout+stderr, "partial_response_strategy") {
		t.Fatalf("vmalert -dryRun accepted the Thanos rules (err %v):\n%s%s", err, stdout, stderr)
	}
}

// vmalertTool runs `vmalert-tool unittest --files=alerts_test.yml` with
// no other flag in dir/vmalert; its storage goes to a directory of its own.
func vmalertTool(t *testing.T, dir string) (string, error) {
	t.Helper()
	bin := tooltest.Find(t, tooltest.VMAlertTool)
	stdout, stderr, err := run(filepath.Join(dir, "vmalert"), bin, []string{"TMPDIR=" + t.TempDir()}, "unittest", "--files=alerts_test.yml")
	return stdout + stderr, err
}

func TestVMAlertToolRunsTheGeneratedTestsAsTheyAre(t *testing.T) {
	// Not parallel: each run starts a VictoriaMetrics in process, and the
	// default pack's tests take half a minute of CPU.
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			out := apply(t, p.files, []string{VMAlert}, p.o)
			dir := writeFiles(t, out, FileVMAlertRules, FileVMAlertTests)
			output, err := vmalertTool(t, dir)
			if err != nil || !strings.Contains(output, "SUCCESS") {
				t.Fatalf("vmalert-tool unittest: %v\n%s", err, output)
			}
		})
	}
}

// TestVMAlertToolFailsAWrongExpectation shows the run above can fail: the
// same tests with one expected label changed do.
func TestVMAlertToolFailsAWrongExpectation(t *testing.T) {
	out := apply(t, fixture(t), []string{VMAlert}, testOptions())
	wrong := bytes.Replace(out[FileVMAlertTests], []byte("severity: critical"), []byte("severity: warning"), 1)
	if bytes.Equal(wrong, out[FileVMAlertTests]) {
		t.Fatal("the fixture's tests expect no critical alert to change")
	}
	out[FileVMAlertTests] = wrong
	dir := writeFiles(t, out, FileVMAlertRules, FileVMAlertTests)
	output, err := vmalertTool(t, dir)
	if err == nil || strings.Contains(output, "SUCCESS") {
		t.Fatalf("vmalert-tool passed a wrong expectation (err %v):\n%s", err, output)
	}
}

// TestVMAlertToolNeedsTheGroupname is why the vmalert target has a test
// file of its own: the promtool file, without --disableAlertgroupLabel,
// fails for want of a groupname.
func TestVMAlertToolNeedsTheGroupname(t *testing.T) {
	out := apply(t, fixture(t), []string{VMAlert}, testOptions())
	out[FileVMAlertTests] = fixture(t)[FileRuleTests]
	dir := writeFiles(t, out, FileVMAlertRules, FileVMAlertTests)
	output, err := vmalertTool(t, dir)
	if err == nil || !strings.Contains(output, `missing required field "groupname"`) {
		t.Fatalf("vmalert-tool ran the promtool tests (err %v):\n%s", err, output)
	}
}

func TestVMAlertTestsNameTheGroupOfEveryAlert(t *testing.T) {
	groups := []rulefmt.RuleGroup{
		{Name: "a", Rules: []rulefmt.Rule{{Alert: "A", Expr: "up == 0"}}},
		{Name: "b", Rules: []rulefmt.Rule{{Record: "r", Expr: "up"}, {Alert: "B", Expr: "up == 0"}}},
	}
	in := []byte(`rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series: [{series: up, values: "0x5"}]
    alert_rule_test:
      - {eval_time: 1m, alertname: A, exp_alerts: []}
      - {eval_time: 2m, alertname: B, exp_alerts: []}
`)
	got, err := vmalertTestFile(in, groups, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"groupname: a\n        alertname: A", "groupname: b\n        alertname: B", "exp_alerts: []"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

func TestVMAlertTestsRefuseWhatVMAlertToolWouldRunDifferently(t *testing.T) {
	groups := []rulefmt.RuleGroup{
		{Name: "a", Rules: []rulefmt.Rule{{Alert: "A", Expr: "up == 0"}}},
		{Name: "b", Rules: []rulefmt.Rule{{Alert: "A", Expr: "up == 1"}}},
	}
	for _, tt := range []struct {
		name, in, want string
	}{
		{"a promtool field vmalert-tool lacks", "rule_files: [alerts.yml]\ntests:\n  - interval: 1m\n    external_url: http://x\n",
			"prometheus/alerts_test.yml:4:5: tests[0].external_url: not a field vmalert-tool runs like promtool"},
		{"an alert in two groups", "rule_files: [alerts.yml]\ntests:\n  - interval: 1m\n    alert_rule_test:\n      - {eval_time: 1m, alertname: A}\n",
			`alert A is in groups ["a" "b"]`},
		{"another rule file", "rule_files: [other.yml]\ntests: []\n", `rule_files names "other.yml"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vmalertTestFile([]byte(tt.in), groups, testOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	_, err := vmalertTestFile([]byte("rule_files: [alerts.yml]\ntests:\n  - alert_rule_test: [{eval_time: 1m, alertname: Missing}]\n"), groups[:1], testOptions())
	if err == nil || !strings.Contains(err.Error(), `alert "Missing" is not in prometheus/alerts.yml`) {
		t.Errorf("an alert no rule defines: %v", err)
	}
}

func TestEveryGroupGetsAnInterval(t *testing.T) {
	groups := []rulefmt.RuleGroup{{Name: "own", Interval: model.Duration(time.Minute)}, {Name: "none"}}
	o := Options{EvaluationInterval: 20 * time.Second}
	for name, render := range map[string]func([]rulefmt.RuleGroup, Options) ([]byte, error){
		VMAlert: vmalertRules, ThanosRuler: thanosRules,
	} {
		got, err := render(groups, o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), "name: own\n") || strings.Count(string(got), "interval: 1m\n") != 1 || strings.Count(string(got), "interval: 20s\n") != 1 {
			t.Errorf("%s: want own at 1m and none at 20s:\n%s", name, got)
		}
		if _, err := render(groups, Options{}); err == nil || !strings.Contains(err.Error(), `group "none" has no interval`) {
			t.Errorf("%s without an evaluation interval: %v", name, err)
		}
	}
}
