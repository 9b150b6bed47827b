package main

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/specs"
)

func init() {
	// push renders the spec's dashboard when --file is not given: the
	// same bytes generate writes to grafana/dashboard.json.
	renderSpecDashboard = func(a *app) ([]byte, error) {
		p, err := a.loadPack()
		if err != nil {
			return nil, err
		}
		return dashboard.Render(p.Dashboard)
	}
}

// loadPack loads the config, validates it and builds its pack. Findings
// stop here with ExitFindings, so no command renders an invalid pack.
func (a *app) loadPack() (*specs.Pack, error) {
	c, src, err := a.loadConfigSource()
	if err != nil {
		return nil, err
	}
	if errs := specs.Validate(c, src); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(a.stderr, e)
		}
		return nil, withCode(ExitFindings, fmt.Errorf("%d validation finding(s); run dbmonctl validate for details", len(errs)))
	}
	return specs.NewPack(c), nil
}
