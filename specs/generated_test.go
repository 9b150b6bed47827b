package specs

import (
	"testing"

	"github.com/dbmonctl/dbmonctl/internal/outdir"
)

// TestGeneratedIsCurrent is the drift check as a test: the committed
// generated/ directory holds exactly what the embedded default spec renders.
// Rewrite it with: go run ./cmd/dbmonctl generate --prune
func TestGeneratedIsCurrent(t *testing.T) {
	files, err := Build(Default()).Files()
	if err != nil {
		t.Fatal(err)
	}
	changes, err := outdir.Plan("../generated", files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.State != outdir.Unchanged {
			t.Errorf("generated/%s is %s; run: go run ./cmd/dbmonctl generate --prune\n%s", c.Path, c.State, outdir.Diff(c))
		}
	}
}

// TestFilesAreDeterministic renders the default pack twice: the bytes must
// not depend on map order, clocks or anything but the Config.
func TestFilesAreDeterministic(t *testing.T) {
	a, err := Build(Default()).Files()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b, err := Build(Default()).Files()
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("run %d rendered %d files, first run %d", i, len(b), len(a))
		}
		for name, data := range a {
			if string(b[name]) != string(data) {
				t.Errorf("run %d: %s differs", i, name)
			}
		}
	}
}
