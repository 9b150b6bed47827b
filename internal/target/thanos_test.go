package target

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

func TestThanosRulesCheckAcceptsTheGeneratedRules(t *testing.T) {
	thanos := tooltest.Find(t, tooltest.Thanos)
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			out := apply(t, p.files, []string{ThanosRuler}, p.o)
			dir := writeFiles(t, out, FileThanosRules)
			stdout, stderr, err := run(dir, thanos, nil, "tools", "rules-check", "--rules="+filepath.FromSlash(FileThanosRules))
			if err != nil {
				t.Fatalf("thanos tools rules-check: %v\n%s%s", err, stdout, stderr)
			}
		})
	}
}

// withoutThanosFields checks that every group of a Thanos rule file aborts
// on partial responses and returns the file without that field: what
// Thanos Ruler hands to Prometheus' rule loader.
func withoutThanosFields(t *testing.T, data []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	groups := mapValue(t, doc.Content[0], "groups")
	for _, g := range groups.Content {
		if v := mapValue(t, g, "partial_response_strategy"); v.Value != "abort" {
			t.Errorf("group at line %d: partial_response_strategy %q, want abort", g.Line, v.Value)
		}
		for i := 0; i < len(g.Content); i += 2 {
			if g.Content[i].Value == "partial_response_strategy" {
				g.Content = append(g.Content[:i], g.Content[i+2:]...)
				break
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mapValue(t *testing.T, n *yaml.Node, key string) *yaml.Node {
	t.Helper()
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	t.Fatalf("no %s at line %d", key, n.Line)
	return nil
}

func parseRuleGroups(t *testing.T, data []byte) []rulefmt.RuleGroup {
	t.Helper()
	g, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}
	return g.Groups
}

// TestThanosRulesAreThePrometheusRules checks the Thanos file without a
// thanos binary: without partial_response_strategy it is a rule file
// rulefmt and promtool load, with the very rules of the Prometheus file.
func TestThanosRulesAreThePrometheusRules(t *testing.T) {
	files := pack(t)
	out := apply(t, files, []string{ThanosRuler}, testOptions())
	stripped := withoutThanosFields(t, out[FileThanosRules])
	if errs := rules.Validate(FileThanosRules, stripped); len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}
	if got, want := parseRuleGroups(t, stripped), parseRuleGroups(t, files[FileRules]); !reflect.DeepEqual(got, want) {
		t.Errorf("the Thanos rules differ from the Prometheus ones:\n got %+v\nwant %+v", got, want)
	}
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "stripped.yml"), stripped, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "thanos.yml"), out[FileThanosRules], 0o644); err != nil {
			t.Fatal(err)
		}
		if stdout, stderr, err := run(dir, tool.Path, nil, "check", "rules", "stripped.yml"); err != nil {
			t.Errorf("promtool (%s) check rules: %v\n%s%s", tool.Name, err, stdout, stderr)
		}
		// The field is Thanos' own: promtool refuses it, which is why only
		// the thanos-ruler file carries it.
		if _, _, err := run(dir, tool.Path, nil, "check", "rules", "thanos.yml"); err == nil {
			t.Errorf("promtool (%s) accepted partial_response_strategy", tool.Name)
		}
	}
}

// TestThanosRefusesVMAlertRules shows the check above can fail: Thanos
// refuses vmalert's group type, so each engine needs its own file.
func TestThanosRefusesVMAlertRules(t *testing.T) {
	thanos := tooltest.Find(t, tooltest.Thanos)
	out := apply(t, fixture(t), []string{VMAlert}, testOptions())
	dir := writeFiles(t, out, FileVMAlertRules)
	stdout, stderr, err := run(dir, thanos, nil, "tools", "rules-check", "--rules="+filepath.FromSlash(FileVMAlertRules))
	if err == nil || !strings.Contains(stdout+stderr, "field type not found") {
		t.Fatalf("thanos accepted the vmalert rules (err %v):\n%s%s", err, stdout, stderr)
	}
}
