package main

import (
	"errors"

	"github.com/dbmonctl/dbmonctl/internal/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

// loadConfig returns the embedded default spec, overlaid with the user
// config file named by --config or $DBMONCTL_CONFIG when there is one.
// Findings in the file (syntax, unknown keys, wrong types) exit with
// ExitFindings.
func (a *app) loadConfig() (specs.Config, error) {
	c, _, err := a.loadConfigSource()
	return c, err
}

// loadConfigSource is loadConfig that also returns where each value came
// from, so later findings can point at file:line:col.
func (a *app) loadConfigSource() (specs.Config, specs.Source, error) {
	if a.configPath == "" {
		return specs.Default(), specs.Source{}, nil
	}
	a.log.Debug("loading config", "file", a.configPath)
	c, src, err := specs.LoadFile(a.configPath)
	if err != nil {
		var list diag.List
		if errors.As(err, &list) {
			return c, src, withCode(ExitFindings, err)
		}
		return c, src, err
	}
	return c, src, nil
}

// asList reports whether err holds a diag.List of findings.
func asList(err error, list *diag.List) bool { return errors.As(err, list) }
