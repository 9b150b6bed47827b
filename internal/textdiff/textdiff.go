// Package textdiff renders the unified diffs every command prints
// (generate --check, push --dry-run, rules and alertmanager diff): one
// differ (go-difflib), one format (diff -u, 3 lines of context), and no
// spurious empty context line after a final newline.
package textdiff

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Unified returns the unified diff from a to b labelled with the two
// names, or "" when they are equal. Either side may be empty (a creation
// or a deletion).
func Unified(aName, bName, a, b string) string {
	if a == b {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        lines(a),
		B:        lines(b),
		FromFile: aName,
		ToFile:   bName,
		Context:  3,
	})
	if err != nil {
		// difflib only fails when writing to its own buffer fails.
		return fmt.Sprintf("--- %s\n+++ %s\n(diff failed: %v)\n", aName, bName, err)
	}
	return d
}

// lines splits s into lines that each end in "\n"; difflib.SplitLines
// alone would add an empty last line to text ending in a newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(s, "\n"))
}
