// Package promtooltest finds the real rule-testing binaries for tests. The
// rule engine dbmonctl runs in process is newer than the Prometheus 2.42
// that CI and many servers run, so promtool is the proof that generated
// rule and test files load and pass there too; a current promtool and
// VictoriaMetrics' vmalert-tool prove the same for the engines users run
// today.
package promtooltest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing promtool from
// a skip into a failure; CI sets it to 1 so the check cannot be skipped.
const RequireEnv = "DBMON_REQUIRE_PROMTOOL"

// Environment variables of the current promtool (3.x): CurrentEnv holds its
// path, and RequireCurrentEnv=1 makes a missing one a failure.
const (
	CurrentEnv        = "DBMON_PROMTOOL_CURRENT"
	RequireCurrentEnv = "DBMON_REQUIRE_PROMTOOL_CURRENT"
)

// Environment variables of vmalert-tool: VMAlertToolEnv holds its path
// (otherwise it is looked up on PATH), and RequireVMAlertToolEnv=1 makes a
// missing one a failure.
const (
	VMAlertToolEnv        = "DBMON_VMALERT_TOOL"
	RequireVMAlertToolEnv = "DBMON_REQUIRE_VMALERT_TOOL"
)

// Find returns the path of promtool on PATH. When it is missing the test is
// skipped, or fails if RequireEnv is "1".
func Find(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("promtool is required (%s=1) but not on PATH: %v", RequireEnv, err)
	}
	t.Skipf("promtool not on PATH (apt-get install prometheus); set %s=1 to make this a failure", RequireEnv)
	return ""
}

// FindCurrent returns the path of the current promtool named by
// CurrentEnv. It is never looked up on PATH, where Debian's 2.42 usually
// is. When CurrentEnv is unset the test is skipped, or fails if
// RequireCurrentEnv is "1"; a path that is not an executable always fails.
func FindCurrent(t testing.TB) string {
	t.Helper()
	path := os.Getenv(CurrentEnv)
	if path == "" {
		if os.Getenv(RequireCurrentEnv) == "1" {
			t.Fatalf("a current promtool is required (%s=1) but %s is not set", RequireCurrentEnv, CurrentEnv)
		}
		t.Skipf("%s is not set (go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0); set %s=1 to make this a failure", CurrentEnv, RequireCurrentEnv)
		return ""
	}
	found, err := exec.LookPath(path)
	if err != nil {
		t.Fatalf("%s=%s: %v", CurrentEnv, path, err)
	}
	return found
}

// FindVMAlertTool returns the path of vmalert-tool: VMAlertToolEnv if set,
// else vmalert-tool on PATH. When neither exists the test is skipped, or
// fails if RequireVMAlertToolEnv is "1"; a VMAlertToolEnv that is not an
// executable always fails.
func FindVMAlertTool(t testing.TB) string {
	t.Helper()
	if path := os.Getenv(VMAlertToolEnv); path != "" {
		found, err := exec.LookPath(path)
		if err != nil {
			t.Fatalf("%s=%s: %v", VMAlertToolEnv, path, err)
		}
		return found
	}
	path, err := exec.LookPath("vmalert-tool")
	if err == nil {
		return path
	}
	if os.Getenv(RequireVMAlertToolEnv) == "1" {
		t.Fatalf("vmalert-tool is required (%s=1) but %s is not set and it is not on PATH: %v", RequireVMAlertToolEnv, VMAlertToolEnv, err)
	}
	t.Skipf("vmalert-tool not found (go install github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert-tool@v1.151.0, then set %s or PATH); set %s=1 to make this a failure", VMAlertToolEnv, RequireVMAlertToolEnv)
	return ""
}
