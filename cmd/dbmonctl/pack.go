package main

import (
	"errors"
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

func init() {
	// push renders the spec's dashboards when --file is not given: the
	// same bytes generate writes to grafana/dashboard.json, overview.json
	// and alert-history.json.
	renderSpecDashboard = func(a *app) ([][]byte, error) {
		p, err := a.loadPack()
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, d := range p.Dashboards() {
			b, err := dashboard.Render(d)
			if err != nil {
				return nil, fmt.Errorf("dashboard %q: %w", d.UID, err)
			}
			out = append(out, b)
		}
		return out, nil
	}
}

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
