// Package amtooltest checks rendered Alertmanager configs with the real
// amtool binary from tests. The Go library dbmonctl validates with is newer
// than the Alertmanager 0.25 that CI and many servers run, and accepts
// fields 0.25 rejects, so the binary is the only proof of compatibility.
package amtooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
)

// RequireEnv is the environment variable that turns a missing amtool from
// a skip into a failure; CI sets it to 1 so the check cannot be skipped.
const RequireEnv = "DBMON_REQUIRE_AMTOOL"

// Find returns the path of amtool on PATH. When it is missing the test is
// skipped, or fails if RequireEnv is "1".
func Find(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("amtool")
	if err == nil {
		return path
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("amtool not found on PATH and %s=1: install prometheus-alertmanager (%v)", RequireEnv, err)
	}
	t.Skipf("amtool not found on PATH, skipping the Alertmanager 0.25 compatibility check (install prometheus-alertmanager, or set %s=1 to make this fail)", RequireEnv)
	return ""
}

// Check writes data to a temporary file and runs `amtool check-config` on
// it, then `amtool config routes test --verify.receivers=…` for every
// route test; each failure is reported with amtool's output.
func Check(t testing.TB, data []byte, tests []alertmanager.RouteTest) {
	t.Helper()
	amtool := Find(t)
	file := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(amtool, "check-config", file).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s\nconfig:\n%s", err, out, data)
	}
	for _, rt := range tests {
		args := rt.AmtoolArgs(file)
		if out, err := exec.Command(amtool, args...).CombinedOutput(); err != nil {
			t.Errorf("route test %q: amtool %s: %v\n%s", rt.Name, strings.Join(args, " "), err, out)
		}
	}
}
