package main

import (
	"fmt"
	"slices"
	"strings"
)

// enumFlag is a string flag that accepts one of a fixed set of values, so a
// typo is a usage error at parse time and the values complete in shells.
type enumFlag struct {
	value   *string
	allowed []string
}

// newEnumFlag sets *p to def and returns a flag value accepting allowed.
func newEnumFlag(p *string, def string, allowed ...string) *enumFlag {
	*p = def
	return &enumFlag{value: p, allowed: allowed}
}

func (f *enumFlag) String() string { return *f.value }
func (f *enumFlag) Type() string   { return "string" }

func (f *enumFlag) Set(s string) error {
	if !slices.Contains(f.allowed, s) {
		return fmt.Errorf("must be one of %s, got %q", strings.Join(f.allowed, ", "), s)
	}
	*f.value = s
	return nil
}
