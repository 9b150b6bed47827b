package diag

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"a finding in a file names file, line, column and path", &Error{File: "d.yaml", Line: 3, Column: 5, Path: "a.b", Message: "bad"}, "d.yaml:3:5: a.b: bad"},
		{"a finding without a column names the line", &Error{File: "d.yaml", Line: 3, Message: "bad"}, "d.yaml:3: bad"},
		{"a finding without a file starts with the path", &Error{Path: "alerts[1]", Message: "bad"}, "alerts[1]: bad"},
		{"a bare finding is its message", &Error{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestListUnwrapsToFindings(t *testing.T) {
	inner := New("x", "p", "m %d", 1)
	err := fmt.Errorf("load: %w", Join([]error{inner}))
	var e *Error
	if !errors.As(err, &e) || e != inner {
		t.Fatalf("errors.As did not reach the finding: %v", err)
	}
	if Join(nil) != nil {
		t.Error("Join of no findings must be nil")
	}
	if got := As(errors.New("plain")); got.ID != "error" || got.Message != "plain" {
		t.Errorf("As(plain) = %+v", got)
	}
}

func TestSortIsByPosition(t *testing.T) {
	errs := []error{
		&Error{File: "b", Line: 1, Message: "x"},
		&Error{File: "a", Line: 9, Message: "x"},
		&Error{File: "a", Line: 2, Column: 7, Message: "x"},
		&Error{File: "a", Line: 2, Column: 3, Message: "x"},
	}
	Sort(errs)
	got := ""
	for _, e := range errs {
		got += e.Error() + ";"
	}
	if want := "a:2:3: x;a:2:7: x;a:9: x;b:1: x;"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
