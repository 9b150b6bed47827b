package specs

import (
	"github.com/dbmonctl/dbmonctl/internal/diag"
)

// Validate runs every check of the spec c and returns all findings, sorted.
// src locates findings about values a user file set (file:line:col).
func Validate(c Config, src Source) []error {
	errs := validateConfig(c)
	src.Locate(errs)
	diag.Sort(errs)
	return errs
}
