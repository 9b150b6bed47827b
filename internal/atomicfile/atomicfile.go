// Package atomicfile writes files so that readers see either the old content
// or the new, never a half-written file: the data goes to a temporary file in
// the same directory, is synced, and is renamed over the target.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data and permission perm, creating
// parent directories (0755) as needed. On any error the target is untouched
// and the temporary file is removed.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	s, err := Stage(path, data, perm)
	if err != nil {
		return err
	}
	return s.Commit()
}

// Staged is a file written to a temporary name beside its target, waiting to
// be renamed over it. Staging every file of a set before committing any
// means a failure to write one leaves all targets untouched.
type Staged struct {
	tmp, path string
}

// Stage writes data to a synced temporary file beside path.
func Stage(path string, data []byte, perm fs.FileMode) (s *Staged, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Staged{tmp: tmp, path: path}, nil
}

// Commit renames the staged file over its target.
func (s *Staged) Commit() error {
	if err := os.Rename(s.tmp, s.path); err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// Abort removes the staged file, leaving the target untouched.
func (s *Staged) Abort() { os.Remove(s.tmp) }
