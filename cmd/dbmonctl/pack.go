package main

import (
	"errors"
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

// loadPack loads the config, validates it and builds its pack once: the
// pack that was cross-checked is the one the command renders or tests. Findings
// are printed to stderr and stop here with ExitFindings, so no command
// renders an invalid pack; warnings are printed and the command goes on.
func (a *app) loadPack() (*specs.Pack, error) {
	c, src, err := a.loadConfig()
	if err != nil {
		return nil, a.reportLoadError(err)
	}
	p, errs := specs.Check(c, src)
	if n := printFindings(a.stderr, errs, src); n > 0 || p == nil {
		return nil, withCode(ExitFindings, fmt.Errorf("%d validation finding(s); nothing was done; check a fix with %s", n, a.hint("validate")))
	}
	return p, nil
}

// reportLoadError prints the findings of a config file that did not load
// and returns the error to exit with.
func (a *app) reportLoadError(err error) error {
	var fe *findingsError
	if errors.As(err, &fe) {
		n := printFindings(a.stderr, fe.errs, fe.src)
		return withCode(ExitFindings, fmt.Errorf("%d finding(s) in %s; nothing was done", n, fe.src.File))
	}
	return err
}

// asList reports whether err holds findings, and returns them.
func asList(err error, list *diag.List) bool {
	var fe *findingsError
	if errors.As(err, &fe) {
		*list = fe.errs
		return true
	}
	return errors.As(err, list)
}
