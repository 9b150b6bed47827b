package target

import (
	"bytes"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// generatedDir is the committed output of the default spec: the rendered
// pack every target is built from. Tests read it as bytes, as generate
// hands them over, so they hold whatever the pack renders.
const generatedDir = "../../generated"

// readDir reads every file under dir, keyed by slash-separated relative path.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// pack is the rendered default pack.
func pack(t *testing.T) map[string][]byte {
	t.Helper()
	files := readDir(t, generatedDir)
	for _, p := range []string{FileRules, FileRuleTests, FileAlertmanager} {
		if _, ok := files[p]; !ok {
			t.Fatalf("%s has no %s", generatedDir, p)
		}
	}
	return files
}

// testOptions are the default pack's settings, as generate passes them.
func testOptions() Options {
	return Options{
		EvaluationInterval: 30 * time.Second,
		ScrapeInterval:     15 * time.Second,
		Labels:             map[string]string{"release": "prometheus"},
	}
}

// apply runs Apply and fails the test on error.
func apply(t *testing.T, files map[string][]byte, names []string, o Options) map[string][]byte {
	t.Helper()
	out, err := Apply(files, names, o)
	if err != nil {
		t.Fatalf("Apply(%v): %v", names, err)
	}
	return out
}

func TestApplyWithThePrometheusTargetOnlyIsTheRenderedPack(t *testing.T) {
	files := pack(t)
	out := apply(t, files, []string{Prometheus}, testOptions())
	if !maps.EqualFunc(files, out, bytes.Equal) {
		t.Errorf("files differ: in %v, out %v", slices.Sorted(maps.Keys(files)), slices.Sorted(maps.Keys(out)))
	}
}

func TestApplyWritesTheFilesOfEachTarget(t *testing.T) {
	files := pack(t)
	common := []string{"grafana/dashboard.json", "runbooks/SlowQueryRateCritical.md"}
	prometheus := []string{FileRules, FileRuleTests, FilePrometheus, FileAlertmanager}
	for _, tt := range []struct {
		name    string
		targets []string
		want    []string // besides common
		absent  []string
	}{
		{"prometheus: today's files", []string{Prometheus}, prometheus, nil},
		{"prometheus-operator replaces the Prometheus and Alertmanager files", []string{PrometheusOperator},
			[]string{FilePrometheusRule, FileAlertmanagerConfig}, prometheus},
		{"vmalert keeps the Alertmanager config it notifies", []string{VMAlert},
			[]string{FileVMAlertRules, FileVMAlertTests, FileAlertmanager}, []string{FileRules, FileRuleTests, FilePrometheus}},
		{"thanos-ruler keeps the Alertmanager config it notifies", []string{ThanosRuler},
			[]string{FileThanosRules, FileAlertmanager}, []string{FileRules, FileRuleTests, FilePrometheus, FileVMAlertRules}},
		{"every target, a name given twice", []string{ThanosRuler, Prometheus, VMAlert, PrometheusOperator, VMAlert},
			append(slices.Clone(prometheus), FilePrometheusRule, FileAlertmanagerConfig, FileVMAlertRules, FileVMAlertTests, FileThanosRules), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := apply(t, files, tt.targets, testOptions())
			for _, p := range append(slices.Clone(common), tt.want...) {
				if len(out[p]) == 0 {
					t.Errorf("no %s", p)
				}
			}
			for _, p := range tt.absent {
				if _, ok := out[p]; ok {
					t.Errorf("%s is written, but the target does not use it", p)
				}
			}
			for p, data := range out {
				if in, ok := files[p]; ok && !bytes.Equal(in, data) {
					t.Errorf("%s passes through changed", p)
				}
			}
		})
	}
}

func TestApplyIsDeterministic(t *testing.T) {
	files := pack(t)
	a := apply(t, files, Names(), testOptions())
	for range 3 {
		if b := apply(t, files, Names(), testOptions()); !maps.EqualFunc(a, b, bytes.Equal) {
			t.Fatal("two runs gave different bytes")
		}
	}
}

func TestCheckRejectsBadTargetsAndOptions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		targets []string
		o       Options
		want    string
	}{
		{"an unknown target", []string{"cortex"}, Options{}, `unknown target "cortex"; known targets: prometheus, prometheus-operator, vmalert, thanos-ruler`},
		{"no target", nil, Options{}, "no target given"},
		{"a namespace Kubernetes refuses", []string{Prometheus}, Options{Namespace: "Monitoring"}, `namespace "Monitoring": a lowercase RFC 1123 label`},
		{"a label key Kubernetes refuses", []string{Prometheus}, Options{Labels: map[string]string{"bad key": "x"}}, `label key "bad key"`},
		{"a label value Kubernetes refuses", []string{Prometheus}, Options{Labels: map[string]string{"release": "a b"}}, `label release value "a b"`},
		{"a Secret name Kubernetes refuses", []string{Prometheus}, Options{SecretName: "Secrets!"}, `secret name "Secrets!"`},
		{"a resource name Kubernetes refuses", []string{Prometheus}, Options{Name: "-x"}, `name "-x"`},
		{"a negative interval", []string{Prometheus}, Options{EvaluationInterval: -time.Second}, "evaluation interval must not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.targets, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check: %v, want an error containing %q", err, tt.want)
			}
			if _, err := Apply(pack(t), tt.targets, tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply: %v, want the same error", err)
			}
		})
	}
	if err := Check(Names(), testOptions()); err != nil {
		t.Errorf("good options: %v", err)
	}
}

func TestApplyRefusesAnEngineFileItCannotConvert(t *testing.T) {
	files := pack(t)
	files["prometheus/recording.yml"] = []byte("groups: []\n")
	if _, err := Apply(files, []string{Prometheus}, testOptions()); err != nil {
		t.Errorf("the prometheus target writes any rendered file as it is: %v", err)
	}
	for _, n := range []string{PrometheusOperator, VMAlert, ThanosRuler} {
		_, err := Apply(files, []string{n}, testOptions())
		if err == nil || !strings.Contains(err.Error(), "target "+n+": prometheus/recording.yml has no conversion") {
			t.Errorf("%s: %v, want it to refuse prometheus/recording.yml", n, err)
		}
	}
}

func TestApplyRefusesAPackWithoutRules(t *testing.T) {
	files := pack(t)
	delete(files, FileRules)
	for _, n := range []string{PrometheusOperator, VMAlert, ThanosRuler} {
		if _, err := Apply(files, []string{n}, testOptions()); err == nil || !strings.Contains(err.Error(), "no prometheus/alerts.yml to convert") {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestApplyReportsBadRulesWithTheirLine(t *testing.T) {
	files := pack(t)
	files[FileRules] = []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n")
	_, err := Apply(files, []string{VMAlert}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "prometheus/alerts.yml:5") {
		t.Fatalf("got %v, want the parse error at prometheus/alerts.yml:5", err)
	}
}

// fixture is the small hand-written pack of testdata/pack, whose
// conversions are pinned byte for byte in testdata/golden.
func fixture(t *testing.T) map[string][]byte {
	t.Helper()
	return readDir(t, "testdata/pack")
}

// TestGoldenFiles pins the bytes of every target's files for the fixture;
// go test ./internal/target -update rewrites them.
func TestGoldenFiles(t *testing.T) {
	o := testOptions()
	o.Namespace = "databases"
	o.EvaluationInterval = time.Minute // the fixture's evaluation_interval
	out := apply(t, fixture(t), Names(), o)
	for _, p := range []string{FilePrometheusRule, FileAlertmanagerConfig, FileVMAlertRules, FileVMAlertTests, FileThanosRules} {
		golden := filepath.Join("testdata/golden", filepath.FromSlash(p))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, out[p], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test ./internal/target -update writes it)", err)
		}
		if !bytes.Equal(out[p], want) {
			t.Errorf("%s differs from %s (go test ./internal/target -update rewrites it):\n%s", p, golden, out[p])
		}
	}
}
