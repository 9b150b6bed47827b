package middleware

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedWrappersAreCurrent reruns the go:generate step into a temp
// dir: the wrap_gen*.go files (wrap_gen.go, wrap_gen_test.go and their
// per-Go-version variants) must be exactly what the generator writes, so a
// change to the generator cannot ship without its output.
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
	generated, err := filepath.Glob(filepath.Join(dir, "wrap_gen*.go"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := filepath.Glob("wrap_gen*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range generated {
		names = append(names, filepath.Base(path))
	}
	if !slices.Equal(names, local) {
		t.Errorf("the generator writes %q, the package has %q: run go generate ./pkg/middleware", names, local)
	}
	for _, path := range generated {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Base(path))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./pkg/middleware", filepath.Base(path))
		}
	}
}
