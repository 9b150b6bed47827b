package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

// printFindings writes findings the one way every command shows them:
// `file:line:col: path: message [check-id]`, a warning marked as such, and
// for a finding in the config file the offending line with a caret under
// the column, as rustc and pint do. It returns the number of findings that
// are not warnings.
func printFindings(w io.Writer, errs []error, src specs.Source) int {
	var lines []string
	if len(src.Data) > 0 {
		lines = strings.Split(string(bytes.ReplaceAll(src.Data, []byte("\r\n"), []byte("\n"))), "\n")
	}
	n := 0
	for _, err := range errs {
		d := diag.As(err)
		if d.Severity == diag.SeverityWarning {
			fmt.Fprintf(w, "%s [%s] (warning)\n", d.Error(), d.ID)
		} else {
			n++
			fmt.Fprintf(w, "%s [%s]\n", d.Error(), d.ID)
		}
		if d.File != "" && d.File == src.File && d.Line > 0 && d.Line <= len(lines) {
			writeSnippet(w, lines[d.Line-1], d.Line, d.Column)
		}
	}
	return n
}

// writeSnippet shows one source line and, when the column is known, a caret
// under it. Tabs are kept so that the caret lines up in a terminal.
func writeSnippet(w io.Writer, line string, num, col int) {
	gutter := fmt.Sprintf("%4d | ", num)
	fmt.Fprintf(w, "%s%s\n", gutter, line)
	if col <= 0 {
		return
	}
	var pad strings.Builder
	i := 0
	for _, r := range line {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
		i++
	}
	if col-1 > utf8.RuneCountInString(line) {
		pad.WriteString(strings.Repeat(" ", col-1-utf8.RuneCountInString(line)))
	}
	fmt.Fprintf(w, "%s%s^\n", strings.Repeat(" ", len(gutter)-2)+"| ", pad.String())
}
