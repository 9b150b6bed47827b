package main

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes, in one place. Scripts and CI branch on them.
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitFailure: the command failed (I/O, a failing test, drift found by
	// generate --check, a server error).
	ExitFailure = 1
	// ExitUsage: bad flags or arguments.
	ExitUsage = 2
	// ExitFindings: the spec or config has validation findings.
	ExitFindings = 3
	// ExitAuth: the server refused the credentials (401) or the
	// permission (403).
	ExitAuth = 4
	// ExitNotFound: the server answered 404 (wrong URL, path prefix,
	// folder or org, or an API that is not enabled).
	ExitNotFound = 5
	// ExitConflict: Grafana refused the save (412, or 400 for a
	// provisioned dashboard), or the dashboard was edited outside dbmonctl
	// or is provisioned from a file, and --force was not given; or a rule
	// namespace or group is not managed by dbmonctl.
	ExitConflict = 6
	// ExitTooLarge: Grafana refused the dashboard's size (413), or a
	// ruler or Alertmanager API refused a request's size (413).
	ExitTooLarge = 7
	// ExitSchemaV2: the dashboard is in schema v2 (Grafana 13 stored it as
	// v2, GET /api answers 406; or a v2 resource was pushed) and the
	// classic /api cannot read or write it; push through /apis.
	ExitSchemaV2 = 8
	// ExitAPIUnavailable: the server does not serve the API version the
	// push needs (--api apis without dashboard.grafana.app/v1, or
	// --schema v2 without dashboard.grafana.app/v2).
	ExitAPIUnavailable = 9
	// ExitRejected: a ruler or Alertmanager API refused the content (400:
	// an invalid group, a limit, a setting it does not allow), or the
	// content is one it would refuse; the engine's reason is printed.
	ExitRejected = 10
)

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode attaches an exit code to err; nil stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageError marks err as a usage error (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// errSilent reports failure without printing: the command already said why.
var errSilent = errors.New("")

// exitCode maps an error to its exit code and prints it to stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, errSilent) && err.Error() != "" {
		fmt.Fprintf(stderr, "dbmonctl: %v\n", err)
	}
	return code
}
