package grafana

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// UnifiedDiff returns a unified diff (diff -u format, 3 lines of context)
// from a to b, labelled with the two names, or "" when they are equal. It
// uses the same differ as `dbmonctl generate --check`, so both commands
// show changes alike.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(a),
		B:        splitLines(b),
		FromFile: aName,
		ToFile:   bName,
		Context:  3,
	})
	if err != nil {
		// difflib only fails when writing to its buffer fails.
		return fmt.Sprintf("--- %s\n+++ %s\n(diff failed: %v)\n", aName, bName, err)
	}
	return d
}

// splitLines splits into lines that each end in "\n". difflib.SplitLines
// alone would add an empty last line to text that ends in a newline, and
// show it as context.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(string(b), "\n"))
}
