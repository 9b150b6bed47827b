// Package diag is the error model shared by every validator: a problem with
// a check ID, the field path it concerns and, when it comes from a file, the
// file, line and column. Validators return []error holding *Error values so
// that callers see every problem at once and can sort, print or serialise
// them (validate --format json).
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one validation finding.
type Error struct {
	// ID names the check that failed, e.g. "threshold-order"; stable, for
	// machines and for suppressing in CI.
	ID string `json:"id"`
	// Path is the field path in the spec or config, e.g.
	// `thresholds.slow_rate.warning.threshold` or `alerts[3] "QueryLatencyP99Warning".for`.
	Path string `json:"path,omitempty"`
	// File, Line and Column locate the problem in a user file when known.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Message says what is wrong, lower case, no trailing period.
	Message string `json:"message"`
	// Severity is SeverityError (the default when empty) or
	// SeverityWarning: a warning is shown but does not fail a command.
	Severity string `json:"severity,omitempty"`
	// Related are other field paths the finding depends on, in order: when
	// the file did not set Path itself, it is located at the first of them
	// it did set (a rate window too short for the scrape interval the user
	// changed points at that scrape interval).
	Related []string `json:"related,omitempty"`
}

// Severities of a finding.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// IsWarning reports whether err is a finding of severity warning.
func IsWarning(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Severity == SeverityWarning
}

// Errors returns the findings of errs that are not warnings.
func Errors(errs []error) []error {
	var out []error
	for _, e := range errs {
		if !IsWarning(e) {
			out = append(out, e)
		}
	}
	return out
}

// Error formats as `file:line:col: path: message` with absent parts left out.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// New returns a finding without a file position.
func New(id, path, format string, args ...any) *Error {
	return &Error{ID: id, Path: path, Message: fmt.Sprintf(format, args...)}
}

// Warn returns a warning without a file position.
func Warn(id, path, format string, args ...any) *Error {
	return &Error{ID: id, Path: path, Message: fmt.Sprintf(format, args...), Severity: SeverityWarning}
}

// Relate adds paths the finding depends on (see Error.Related) and returns e.
func (e *Error) Relate(paths ...string) *Error {
	e.Related = append(e.Related, paths...)
	return e
}

// As returns the *Error inside err, or a finding with ID "error" that wraps
// err's text, so that any error can be reported the same way.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{ID: "error", Message: err.Error()}
}

// Sort orders findings by file, line, column, path and message, so output is
// deterministic whatever order the checks ran in.
func Sort(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := As(errs[i]), As(errs[j])
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

// List is a non-empty set of findings returned as one error.
type List []error

// Error joins the findings one per line.
func (l List) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap exposes the findings to errors.Is and errors.As.
func (l List) Unwrap() []error { return l }

// Join returns nil for no findings and a List otherwise.
func Join(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return List(errs)
}
