// Package outdir compares a set of generated files with a directory on disk
// and brings the directory up to date: every file is written atomically, and
// files on disk that the set no longer produces are reported as stale.
package outdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dbmonctl/dbmonctl/internal/atomicfile"
	"github.com/dbmonctl/dbmonctl/internal/textdiff"
)

// State is how one file on disk compares with what would be generated.
type State int

// File states.
const (
	Unchanged State = iota // on disk with the same bytes
	Created                // not on disk yet
	Updated                // on disk with other bytes
	Stale                  // on disk but no longer generated
)

func (s State) String() string {
	return [...]string{"unchanged", "created", "updated", "stale"}[s]
}

// Change is one file's state. Paths are slash-separated and relative to the
// output directory.
type Change struct {
	Path  string
	State State
	Old   []byte // content on disk (Updated, Stale)
	New   []byte // content to write (Created, Updated, Unchanged)
}

// Plan compares files (relative path → content) with dir. It reads but never
// writes. The result is sorted by path.
func Plan(dir string, files map[string][]byte) ([]Change, error) {
	var changes []Change
	for p, data := range files {
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changes = append(changes, Change{Path: p, State: Created, New: data})
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", p, err)
		case bytes.Equal(old, data):
			changes = append(changes, Change{Path: p, State: Unchanged, New: data})
		default:
			changes = append(changes, Change{Path: p, State: Updated, Old: old, New: data})
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if _, ok := files[rel]; ok || strings.HasPrefix(filepath.Base(rel), ".") {
			return nil
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		changes = append(changes, Change{Path: rel, State: Stale, Old: old})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// Apply writes every Created and Updated file. All of them are first staged
// beside their targets; only when every one was written are they renamed
// into place, so a failure to write (disk full, permission) leaves every
// file on disk as it was. Stale files are removed only when prune is set.
//
// Apply returns the changes it carried out, in order, also on error: a
// rename or removal that fails after others succeeded leaves those others
// done, and the caller must say so.
func Apply(dir string, changes []Change, prune bool) ([]Change, error) {
	type stagedChange struct {
		c Change
		s *atomicfile.Staged
	}
	var staged []stagedChange
	for _, c := range changes {
		if c.State != Created && c.State != Updated {
			continue
		}
		s, err := atomicfile.Stage(filepath.Join(dir, filepath.FromSlash(c.Path)), c.New, 0o644)
		if err != nil {
			for _, st := range staged {
				st.s.Abort()
			}
			return nil, err
		}
		staged = append(staged, stagedChange{c, s})
	}
	var done []Change
	for i, st := range staged {
		if err := st.s.Commit(); err != nil {
			for _, rest := range staged[i+1:] {
				rest.s.Abort()
			}
			return done, err
		}
		done = append(done, st.c)
	}
	if prune {
		for _, c := range changes {
			if c.State == Stale {
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(c.Path))); err != nil {
					return done, fmt.Errorf("prune %s: %w", c.Path, err)
				}
				done = append(done, c)
				removeEmptyParents(dir, c.Path)
			}
		}
	}
	return done, nil
}

// removeEmptyParents removes the directories above the pruned file rel, up
// to but not including dir, that the removal left empty, so that pruning a
// whole generated folder (a dashboard or runbook set no longer produced)
// does not leave its empty skeleton behind. A directory that still holds
// anything, the user's files included, stops the climb.
func removeEmptyParents(dir, rel string) {
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if os.Remove(filepath.Join(dir, filepath.FromSlash(p))) != nil {
			return
		}
	}
}

// Diff is a unified diff of one change, old on disk against new, in the
// format every command prints (internal/textdiff).
func Diff(c Change) string {
	from, to := "a/"+c.Path, "b/"+c.Path
	switch c.State {
	case Created:
		from = "/dev/null"
	case Stale:
		to = "/dev/null"
	case Unchanged:
		return ""
	}
	return textdiff.Unified(from, to, string(c.Old), string(c.New))
}
