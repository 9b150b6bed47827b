package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
	"github.com/dbmonctl/dbmonctl/specs"
)

// fleetConfig is the default spec with n services (jobs svc-0 … svc-n-1,
// three instances each for the series projection), their teams
// round-robin over ten teams: the fleet of the specs benchmarks.
func fleetConfig(n, instances int) specs.Config {
	c := specs.Default()
	c.Teams = map[string]specs.Team{}
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("team-%d", i)
		t := specs.Team{PagerDuty: c.Alertmanager.PagerDuty, Slack: c.Alertmanager.Slack, Email: c.Alertmanager.Email}
		t.Slack.CriticalChannel = "#" + name
		c.Teams[name] = t
	}
	for i := 0; i < n; i++ {
		c.Services = append(c.Services, specs.FleetService{
			Name:      serviceName(i),
			Selector:  fmt.Sprintf(`job=%q`, serviceName(i)),
			Team:      fmt.Sprintf("team-%d", i%10),
			Instances: instances,
		})
	}
	return c
}

func serviceName(i int) string { return fmt.Sprintf("svc-%d", i) }

// naiveGroups are the alternative the recording layer replaces: for every
// service, the single-service pack's alerts (which read the raw series,
// buckets included, through the service's selector), in a group of their
// own, labelled with the service and its team as the fleet's alerts are.
func naiveGroups(c specs.Config) []rules.Group {
	var out []rules.Group
	for _, s := range c.Services {
		one := specs.Default()
		one.Service.Selector = s.Selector
		for _, g := range specs.Build(one).RuleGroups {
			g.Name += ":" + s.Name
			rs := make([]rules.Rule, 0, len(g.Rules))
			for _, r := range g.Rules {
				ls := map[string]string{specs.LabelService: s.Name, specs.LabelTeam: s.Team}
				for k, v := range r.Labels {
					if k != specs.LabelTeam {
						ls[k] = v
					}
				}
				r.Labels = ls
				rs = append(rs, r)
			}
			g.Rules = rs
			out = append(out, g)
		}
	}
	return out
}

// writeFiles writes fleet.yml (the generated rule file of the fleet),
// naive.yml and dashboard.json (the generated fleet dashboard) into dir.
func writeFiles(n int, dir string, stdout io.Writer) error {
	c := fleetConfig(n, 3)
	p, errs := specs.Check(c, specs.Source{})
	for _, e := range errs {
		if !diag.IsWarning(e) {
			return fmt.Errorf("the benchmark fleet does not validate: %v", e)
		}
	}
	files, err := p.Files()
	if err != nil {
		return err
	}
	naive, err := rules.Render(naiveGroups(c))
	if err != nil {
		return fmt.Errorf("render the naive rules: %w", err)
	}
	if errs := rules.Validate("naive.yml", naive); len(errs) > 0 {
		return fmt.Errorf("the naive rules do not load: %v", errs[0])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"fleet.yml":      files[specs.FileRules],
		"naive.yml":      naive,
		"dashboard.json": files[specs.FileDashboard],
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	count := func(gs []rules.Group) (groups, records, alerts int) {
		for _, g := range gs {
			groups++
			for _, r := range g.Rules {
				if r.Record != "" {
					records++
				} else {
					alerts++
				}
			}
		}
		return
	}
	g, r, a := count(p.RuleGroups)
	fmt.Fprintf(stdout, "fleet.yml: %d services, %d groups, %d recording rules, %d alerting rules\n", n, g, r, a)
	g, r, a = count(naiveGroups(c))
	fmt.Fprintf(stdout, "naive.yml: %d services, %d groups, %d recording rules, %d alerting rules\n", n, g, r, a)
	return nil
}
