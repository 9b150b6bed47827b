package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestReleaseBuildStampsTheVersion builds dbmonctl with the ldflags of the
// release configuration and checks that `dbmonctl version` prints the
// version the release stamps.
func TestReleaseBuildStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	data, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Builds []struct {
			Main    string   `yaml:"main"`
			LDFlags []string `yaml:"ldflags"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Builds) != 1 || cfg.Builds[0].Main != "./cmd/dbmonctl" || len(cfg.Builds[0].LDFlags) == 0 {
		t.Fatalf("want one build of ./cmd/dbmonctl with ldflags, got %+v", cfg.Builds)
	}
	const v = "v9.8.7-test"
	ldflags := strings.ReplaceAll(strings.Join(cfg.Builds[0].LDFlags, " "), "{{.Version}}", v)
	bin := filepath.Join(t.TempDir(), "dbmonctl")
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("dbmonctl %s: %v", args[0], err)
		}
		if !strings.Contains(string(out), "dbmonctl "+v) && !strings.Contains(string(out), "dbmonctl version "+v) {
			t.Errorf("dbmonctl %s printed %q, want the stamped %s", args[0], out, v)
		}
	}
}

// TestCIRecipeCommandsRun runs every dbmonctl command of the GitHub Actions
// recipe in examples/ci, in process, in a repository laid out as the
// recipe expects: the recipe works as shipped.
func TestCIRecipeCommandsRun(t *testing.T) {
	data, err := os.ReadFile("../../examples/ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, job := range wf.Jobs {
		for _, st := range job.Steps {
			for _, line := range strings.Split(st.Run, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "dbmonctl" {
					cmds = append(cmds, f[1:])
				}
			}
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("the recipe runs %d dbmonctl commands, want generate --check, validate and test", len(cmds))
	}
	dir := t.TempDir()
	t.Chdir(dir)
	run := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
			t.Fatalf("dbmonctl %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
	}
	// The repository the recipe runs in: a config and its generated files.
	if err := os.WriteFile("dbmonctl.yaml", []byte("alerting:\n  team: orders\n  runbook_base_url: https://runbooks.example.com/db\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("generate", "--config", "dbmonctl.yaml", "--out", "generated")
	for _, args := range cmds {
		run(args...)
	}
}
