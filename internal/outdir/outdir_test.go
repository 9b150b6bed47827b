package outdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanApply(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "a", "same.txt"), []byte("same\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "a", "old.txt"), []byte("one\ntwo\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "gone.txt"), []byte("bye\n"), 0o644))
	files := map[string][]byte{
		"a/same.txt": []byte("same\n"),
		"a/old.txt":  []byte("one\nthree\n"),
		"b/new.txt":  []byte("new\n"),
	}
	changes, err := Plan(dir, files)
	must(err)
	var got []string
	for _, c := range changes {
		got = append(got, c.Path+"="+c.State.String())
	}
	want := "a/old.txt=updated a/same.txt=unchanged b/new.txt=created gone.txt=stale"
	if strings.Join(got, " ") != want {
		t.Fatalf("plan = %s, want %s", strings.Join(got, " "), want)
	}
	if d := Diff(changes[0]); !strings.Contains(d, "-two\n") || !strings.Contains(d, "+three\n") || !strings.Contains(d, "--- a/a/old.txt") {
		t.Errorf("diff of an update:\n%s", d)
	}
	if d := Diff(changes[3]); !strings.Contains(d, "+++ /dev/null") {
		t.Errorf("diff of a stale file:\n%s", d)
	}

	_, err = Apply(dir, changes, false)
	must(err)
	if _, err := os.Stat(filepath.Join(dir, "gone.txt")); err != nil {
		t.Errorf("a stale file was removed without prune: %v", err)
	}
	again, err := Plan(dir, files)
	must(err)
	for _, c := range again {
		if c.State != Unchanged && c.Path != "gone.txt" {
			t.Errorf("after Apply, %s is %s", c.Path, c.State)
		}
	}
	_, err = Apply(dir, again, true)
	must(err)
	if _, err := os.Stat(filepath.Join(dir, "gone.txt")); !os.IsNotExist(err) {
		t.Errorf("prune kept the stale file: %v", err)
	}
}

// Pruning every file of a folder removes the folders it emptied, and only
// those: a folder that keeps a file of the user's stays.
func TestPruneRemovesEmptiedFolders(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"runbooks/x/A.md", "runbooks/x/B.md", "keep/C.md", "keep/notes.txt"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := Plan(dir, map[string][]byte{"keep/notes.txt": []byte("keep/notes.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(dir, changes, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "runbooks")); !os.IsNotExist(err) {
		t.Errorf("the emptied folder runbooks/ is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep", "notes.txt")); err != nil {
		t.Errorf("pruning removed a folder that still holds a file: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("pruning removed the output directory itself: %v", err)
	}
}

func TestPlanMissingDir(t *testing.T) {
	changes, err := Plan(filepath.Join(t.TempDir(), "nope"), map[string][]byte{"x": []byte("x")})
	if err != nil || len(changes) != 1 || changes[0].State != Created {
		t.Fatalf("changes=%v err=%v", changes, err)
	}
}

func TestApplyFailureLeavesDiskUntouched(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A regular file where a directory must go makes staging fail after
	// keep.txt was staged: keep.txt must still hold its old content.
	if err := os.WriteFile(filepath.Join(dir, "z"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		{Path: "keep.txt", State: Updated, New: []byte("new\n")},
		{Path: "z/x.txt", State: Created, New: []byte("x")},
	}
	if _, err := Apply(dir, changes, false); err == nil {
		t.Fatal("want an error writing over a directory")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "old\n" {
		t.Errorf("keep.txt = %q after a failed Apply, want the old content", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".keep.txt.tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestApplyReportsWhatItDidWhenARenameFails(t *testing.T) {
	dir := t.TempDir()
	// b.txt is a non-empty directory: staging beside it works, the rename
	// onto it fails after a.txt was already renamed into place.
	if err := os.MkdirAll(filepath.Join(dir, "b.txt", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		{Path: "a.txt", State: Created, New: []byte("a\n")},
		{Path: "b.txt", State: Updated, New: []byte("b\n")},
		{Path: "c.txt", State: Created, New: []byte("c\n")},
	}
	done, err := Apply(dir, changes, false)
	if err == nil {
		t.Fatal("renaming onto a directory succeeded")
	}
	if len(done) != 1 || done[0].Path != "a.txt" {
		t.Fatalf("done = %v, want only a.txt", done)
	}
	if _, err := os.Stat(filepath.Join(dir, "c.txt")); !os.IsNotExist(err) {
		t.Errorf("c.txt was written after the failure: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a staged file was left behind: %s", e.Name())
		}
	}
}

// TestDiffHasNoSpuriousContextLine: a file ending in a newline must not
// grow an empty context line at the end of its diff (difflib.SplitLines
// alone adds one), so generate --check prints what push and the engine
// commands print for the same change.
func TestDiffHasNoSpuriousContextLine(t *testing.T) {
	got := Diff(Change{Path: "f", State: Updated, Old: []byte("a\nb\n"), New: []byte("a\nc\n")})
	want := "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
