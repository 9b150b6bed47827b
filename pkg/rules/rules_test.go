package rules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// exampleGroups has an alerting and a recording rule with every field.
func exampleGroups() []Group {
	g := errorRatioGroup("0.1")
	g[0].Rules = append(g[0].Rules, Rule{
		Record: "job:requests:rate5m",
		Expr:   "sum by (job) (rate(requests_total[5m]))",
		Labels: map[string]string{"source": "example"},
	})
	g[0].Rules[0].KeepFiringFor = time.Minute
	return append(g, Group{Name: "second", Rules: []Rule{{Alert: "Always", Expr: "vector(1)"}}})
}

func TestRenderIsTheGoldenRuleFile(t *testing.T) {
	got, err := Render(exampleGroups())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "groups:") {
		t.Errorf("no generated-code header:\n%s", got)
	}
	again, _ := Render(exampleGroups())
	if !bytes.Equal(got, again) {
		t.Error("rendering twice gives different bytes")
	}
	if errs := Validate("example.yml", got); len(errs) > 0 {
		t.Errorf("the rendered file does not validate: %v", errs)
	}
	golden(t, "example.rules.yml", got)
}

func TestRenderRejectsMalformedGroups(t *testing.T) {
	for _, tt := range []struct {
		name   string
		groups []Group
		want   string
	}{
		{"a group without a name", []Group{{Rules: []Rule{{Alert: "A", Expr: "up"}}}}, "groups[0]: name must not be empty"},
		{"a rule with neither alert nor record", []Group{{Name: "g", Rules: []Rule{{Expr: "up"}}}}, `groups[0] "g": rules[0]: exactly one of alert and record must be set`},
		{"a rule with both alert and record", []Group{{Name: "g", Rules: []Rule{{Alert: "A", Record: "a:b", Expr: "up"}}}}, "exactly one of alert and record"},
		{"a negative for", []Group{{Name: "g", Rules: []Rule{{Alert: "A", Expr: "up", For: -time.Second}}}}, `rules[0] "A": for and keep_firing_for must not be negative`},
		{"a negative interval", []Group{{Name: "g", Interval: -time.Second}}, "interval must not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.groups)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}
