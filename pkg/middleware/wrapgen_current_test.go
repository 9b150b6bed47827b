package middleware

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedWrappersAreCurrent reruns the go:generate step into a temp
// dir: wrap_gen.go and wrap_gen_test.go must be exactly what the generator
// writes, so a change to the generator cannot ship without its output.
func TestGeneratedWrappersAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator with go run")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	out, test := filepath.Join(dir, "wrap_gen.go"), filepath.Join(dir, "wrap_gen_test.go")
	cmd := exec.Command(goBin, "run", "./internal/wrapgen", "-out", out, "-test", test)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/wrapgen: %v\n%s", err, b)
	}
	for _, pair := range [][2]string{{out, "wrap_gen.go"}, {test, "wrap_gen_test.go"}} {
		want, err := os.ReadFile(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./pkg/middleware", pair[1])
		}
	}
}
