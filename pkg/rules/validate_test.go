package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// TestValidateReportsWhereAndWhat reads testdata/<case>.bad.yaml files; the
// first line of each is a comment with the findings Validate must report,
// one per "|"-separated entry, each as diag.Error prints it.
func TestValidateReportsWhereAndWhat(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.bad.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".bad.yaml")
		t.Run(strings.ReplaceAll(name, "_", " "), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want := strings.Split(strings.TrimSpace(strings.TrimPrefix(first, "# want:")), " | ")
			errs := Validate(filepath.Base(file), data)
			var got []string
			for _, e := range errs {
				var d *diag.Error
				if !errors.As(e, &d) || d.ID != CheckRuleFile || d.File != filepath.Base(file) {
					t.Errorf("not a rule-file finding on %s: %#v", filepath.Base(file), e)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestValidateAcceptsAGoodFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "example.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate("example.rules.yml", data); len(errs) != 0 {
		t.Errorf("findings on a good file: %v", errs)
	}
}

func FuzzValidate(f *testing.F) {
	for _, name := range []string{"example.rules.yml", "bad_expression.bad.yaml", "unknown_field.bad.yaml"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("groups: [{name: g, rules: [{alert: A, expr: 'up ==', for: 1x}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range Validate("fuzz.yml", data) {
			var d *diag.Error
			if !errors.As(e, &d) || d.ID != CheckRuleFile || d.Message == "" || d.Line < 0 || d.Column < 0 {
				t.Fatalf("malformed finding %#v", e)
			}
		}
	})
}
