package drivertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// newTestMiddleware returns an unregistered middleware that logs nowhere.
func newTestMiddleware(t testing.TB, opts ...middleware.Option) *middleware.Middleware {
	t.Helper()
	m, err := middleware.New(append([]middleware.Option{middleware.WithLogger(nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// compareLines fails with a line diff when got differs from want.
func compareLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	var diffs []string
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("line %d:\n  bare:    %s\n  wrapped: %s", i, w, g))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s: wrapped differs from bare:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// slowLines returns the slow-query records a JSON handler wrote.
func slowLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "slow query" {
			out = append(out, rec)
		}
	}
	return out
}
