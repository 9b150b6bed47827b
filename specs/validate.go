package specs

import (
	"github.com/dbmonctl/dbmonctl/internal/diag"
)

// Validate runs every check of the spec c and returns all findings, sorted.
// src locates findings about values a user file set (file:line:col).
func Validate(c Config, src Source) []error {
	errs := validateConfig(c)
	if len(errs) == 0 {
		// The artifacts of a config with bad values would only echo them;
		// cross-checks run on a config whose own values are sound.
		errs = append(errs, NewPack(c).crossCheck()...)
	} else {
		errs = append(errs, RoutingFindings(c)...)
	}
	src.Locate(errs)
	diag.Sort(errs)
	return errs
}
