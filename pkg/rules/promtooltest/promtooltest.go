// Package promtooltest finds the real promtool binary for tests. The rule
// engine dbmonctl runs in process is newer than the Prometheus 2.42 that CI
// and many servers run, so promtool is the proof that generated rule and
// test files load and pass there too.
package promtooltest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing promtool from
// a skip into a failure; CI sets it to 1 so the check cannot be skipped.
const RequireEnv = "DBMON_REQUIRE_PROMTOOL"

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
