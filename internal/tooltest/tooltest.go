// Package tooltest finds the real Prometheus and Alertmanager command-line
// tools that tests run the generated files through: the oldest supported
// release (Debian's promtool 2.42 and amtool 0.25, on PATH) and the current
// one (pinned in go.mod as a tool and built with `go tool -n`), so that a
// file is proven to load in both.
package tooltest

import (
	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"

	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Tool is one binary to run, with a name for subtests and messages.
type Tool struct {
	// Name says which release this is: "oldest" or "current".
	Name string
	Path string
}

// Spec says where to find one tool in both releases.
type Spec struct {
	// Binary is the command's name on PATH and in go.mod's tool block.
	Binary string
	// RequireEnv set to "1" makes a missing oldest release a failure.
	RequireEnv string
	// CurrentEnv names a path to the current release; when it is unset,
	// `go tool -n Binary` in this module finds (and if needed builds) it.
	CurrentEnv string
	// RequireCurrentEnv set to "1" makes a missing current release a
	// failure; unset, the current release is used only when CurrentEnv
	// names it (building it takes minutes on a cold cache).
	RequireCurrentEnv string
	// Install tells the user how to get the oldest release.
	Install string
}

// All returns the releases of the tool that are available. A missing one
// is skipped with a note, or fails the test when its Require variable is 1;
// when none is available the test is skipped.
func All(t testing.TB, s Spec) []Tool {
	t.Helper()
	var tools []Tool
	if path, err := exec.LookPath(s.Binary); err == nil {
		tools = append(tools, Tool{Name: "oldest", Path: path})
	} else if os.Getenv(s.RequireEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but not on PATH: %v (%s)", s.Binary, s.RequireEnv, err, s.Install)
	} else {
		t.Logf("%s not on PATH (%s); set %s=1 to make this a failure", s.Binary, s.Install, s.RequireEnv)
	}
	if path := currentPath(t, s); path != "" {
		tools = append(tools, Tool{Name: "current", Path: path})
	}
	if len(tools) == 0 {
		t.Skipf("no %s available", s.Binary)
	}
	return tools
}

func currentPath(t testing.TB, s Spec) string {
	t.Helper()
	if p := os.Getenv(s.CurrentEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", s.CurrentEnv, p, err)
		}
		return p
	}
	if os.Getenv(s.RequireCurrentEnv) != "1" {
		t.Logf("current %s not used: set %s to its path (go tool -n %s) or %s=1", s.Binary, s.CurrentEnv, s.Binary, s.RequireCurrentEnv)
		return ""
	}
	cmd := exec.Command("go", "tool", "-n", s.Binary)
	cmd.Dir = moduleRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s=1 but go tool -n %s failed: %v", s.RequireCurrentEnv, s.Binary, err)
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Promtool finds promtool: Debian's 2.42 and the current release.
var Promtool = Spec{
	Binary:            "promtool",
	RequireEnv:        "DBMON_REQUIRE_PROMTOOL",
	CurrentEnv:        "DBMON_PROMTOOL_CURRENT",
	RequireCurrentEnv: "DBMON_REQUIRE_PROMTOOL_CURRENT",
	Install:           "apt-get install prometheus",
}

// Amtool finds amtool: Debian's 0.25 and the current release.
var Amtool = Spec{
	Binary:            "amtool",
	RequireEnv:        "DBMON_REQUIRE_AMTOOL",
	CurrentEnv:        "DBMON_AMTOOL_CURRENT",
	RequireCurrentEnv: "DBMON_REQUIRE_AMTOOL_CURRENT",
	Install:           "apt-get install prometheus-alertmanager",
}

// CheckAlertmanager writes data to a temporary file and runs, with every
// available amtool release, `amtool check-config` on it and then
// `amtool config routes test --verify.receivers=…` for each route test;
// each failure is reported with amtool's output.
func CheckAlertmanager(t testing.TB, data []byte, tests []alertmanager.RouteTest) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, amtool := range All(t, Amtool) {
		if out, err := exec.Command(amtool.Path, "check-config", file).CombinedOutput(); err != nil {
			t.Fatalf("amtool (%s) check-config: %v\n%s\nconfig:\n%s", amtool.Name, err, out, data)
		}
		for _, rt := range tests {
			args := rt.AmtoolArgs(file)
			if out, err := exec.Command(amtool.Path, args...).CombinedOutput(); err != nil {
				t.Errorf("route test %q: amtool (%s) %s: %v\n%s", rt.Name, amtool.Name, strings.Join(args, " "), err, out)
			}
		}
	}
}

// Single is a tool with one release to test against.
type Single struct {
	// Binary is the command's name on PATH.
	Binary string
	// PathEnv names its path when it is not on PATH.
	PathEnv string
	// RequireEnv set to "1" makes a missing binary a failure.
	RequireEnv string
	// Install tells the user how to get it.
	Install string
}

// VMAlertTool is VictoriaMetrics' rule unit-test runner.
var VMAlertTool = Single{
	Binary:     "vmalert-tool",
	PathEnv:    "DBMON_VMALERT_TOOL",
	RequireEnv: "DBMON_REQUIRE_VMALERT_TOOL",
	Install:    "go install github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert-tool@v1.151.0",
}

// VMAlert is VictoriaMetrics' rule evaluator; `vmalert -dryRun -rule=F`
// loads a rule file the way the server does and exits.
var VMAlert = Single{
	Binary:     "vmalert",
	PathEnv:    "DBMON_VMALERT",
	RequireEnv: "DBMON_REQUIRE_VMALERT",
	Install:    "go install github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert@v1.151.0",
}

// Thanos is the thanos binary; `thanos tools rules-check --rules=F`
// checks a rule file the way Thanos Ruler loads it.
var Thanos = Single{
	Binary:     "thanos",
	PathEnv:    "DBMON_THANOS",
	RequireEnv: "DBMON_REQUIRE_THANOS",
	Install:    "build it from its module: go mod download -json github.com/thanos-io/thanos@v0.42.0, then in a writable copy of its Dir: go build -tags netgo,slicelabels ./cmd/thanos",
}

// Find returns the path of s: its PathEnv when set (which must exist),
// else from PATH. A missing binary skips the test, or fails it when
// RequireEnv is "1".
func Find(t testing.TB, s Single) string {
	t.Helper()
	if p := os.Getenv(s.PathEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", s.PathEnv, p, err)
		}
		return p
	}
	p, err := exec.LookPath(s.Binary)
	if err == nil {
		return p
	}
	if os.Getenv(s.RequireEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but neither %s nor PATH has it (%s)", s.Binary, s.RequireEnv, s.PathEnv, s.Install)
	}
	t.Skipf("%s not found (%s, or set %s); set %s=1 to make this a failure", s.Binary, s.Install, s.PathEnv, s.RequireEnv)
	return ""
}
