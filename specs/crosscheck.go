package specs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// Check IDs of the findings that compare artifacts with each other, with
// the middleware's contract, and with the real loaders.
const (
	CheckPromQL       = "promql"
	CheckRuleFile     = "rule-file"
	CheckRuleMetadata = "rule-metadata"
	CheckAlertSet     = "alert-set"
	CheckAlertTests   = "alert-tests"
	CheckAlertmanager = "alertmanager"
	CheckRunbook      = "runbook"
)

// crossCheck runs the checks that need the built pack.
func (p *Pack) crossCheck() []error {
	var errs []error
	add := func(id, path, format string, args ...any) {
		errs = append(errs, diag.New(id, path, format, args...))
	}
	c := p.Config
	known := KnownSeries(c)

	// Rules: the rendered file loads with rulefmt; every expression parses
	// and names only contract series; le matchers are bucket bounds; every
	// alert carries the labels and annotations routing and humans need.
	if data, err := rules.Render(p.RuleGroups); err != nil {
		add(CheckRuleFile, "alerts", "render: %v", err)
	} else {
		errs = append(errs, rules.Validate(FileRules, data)...)
	}
	for _, g := range p.RuleGroups {
		for i, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = r.Record
			}
			path := fmt.Sprintf("groups[%q].rules[%d] %q", g.Name, i, name)
			use, problems := known.Check(r.Expr)
			for _, pr := range problems {
				add(CheckPromQL, path+".expr", "%s", pr)
			}
			for _, le := range use.LE {
				v, err := strconv.ParseFloat(le, 64)
				if err != nil || !slices.Contains(c.Thresholds.Buckets, v) {
					add(CheckBucketBound, path+".expr", "le=%q is not a bucket bound of thresholds.buckets %v", le, c.Thresholds.Buckets)
				}
			}
			if r.Alert == "" {
				continue
			}
			if !slices.Contains(Severities, r.Labels[LabelSeverity]) {
				add(CheckRuleMetadata, path+".labels."+LabelSeverity, "want one of %v, got %q", Severities, r.Labels[LabelSeverity])
			}
			for _, l := range []string{LabelTeam, LabelFamily} {
				if l == LabelTeam && c.Fleet() {
					continue // each service's recorded series carry its team (fleetGroups)
				}
				if r.Labels[l] == "" {
					add(CheckRuleMetadata, path+".labels."+l, "missing; routing and inhibition need it")
				}
			}
			for _, an := range []string{AnnotationSummary, AnnotationDescription, AnnotationRunbookURL, AnnotationDashboardURL} {
				if r.Annotations[an] == "" {
					add(CheckRuleMetadata, path+".annotations."+an, "missing")
				}
			}
		}
	}
	// Every alert is one value: a unique name, the label of its family,
	// a known severity, a runbook.
	seen := map[string]bool{}
	for _, f := range p.Families {
		for _, a := range f.Alerts {
			path := fmt.Sprintf("families[%q].alerts[%q]", f.Name, a.Name)
			switch {
			case a.Name == "":
				add(CheckAlertSet, path, "an alert has no name")
			case seen[a.Name]:
				add(CheckAlertSet, path, "alert %s is defined twice; alert names must be unique", a.Name)
			}
			seen[a.Name] = true
			if a.Family != f.Name {
				add(CheckAlertSet, path+".family", "alert %s of family %s has family label %q", a.Name, f.Name, a.Family)
			}
			if a.Text == nil {
				add(CheckAlertSet, path+".text", "alert %s has no summary and description", a.Name)
			}
			if a.Runbook.Summary == "" || a.Runbook.Fires == "" || len(a.Runbook.Checks) == 0 {
				add(CheckRunbook, path+".runbook", "alert %s has no runbook: it needs at least a summary, the condition it fires on and the checks to run first", a.Name)
			}
		}
	}

	// The runbook prose templates executed for every alert.
	for _, err := range p.runbookErrs {
		add(CheckRunbook, "runbooks", "%v", err)
	}

	// Every alert has a test where it fires and one where it must not.
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range p.RuleTests {
		for _, at := range tc.AlertTests {
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname] = true
			} else {
				quiet[at.Alertname] = true
			}
		}
	}
	for _, a := range p.Alerts {
		name := a.Name
		if !fires[name] {
			add(CheckAlertTests, "tests "+name, "no test where %s fires", name)
		}
		if !quiet[name] {
			add(CheckAlertTests, "tests "+name, "no test where %s must not fire", name)
		}
	}

	// Dashboard: queries parse and name contract series, ids and grid are
	// sound, the JSON round-trips, and the colours are the alert thresholds.
	errs = append(errs, validateDashboard(c, p.Dashboard)...)

	// The overview and the alert history: queries, grid, JSON; and every
	// data link between the dashboards opens one the pack generates.
	for _, x := range []struct {
		d     dashboard.Definition
		known promcheck.Known
	}{{p.Overview, KnownSeries(c)}, {p.AlertHistory, p.alertSeriesKnown()}} {
		for _, e := range dashboard.Validate(x.d, x.known) {
			d := diag.As(e)
			d.Path = strings.TrimSuffix(x.d.UID+"."+d.Path, ".")
			errs = append(errs, d)
		}
	}
	errs = append(errs, DashboardLinkFindings(p.Dashboards())...)

	// Every alert's dashboard_url opens a panel that plots its metrics.
	errs = append(errs, AlertPanelFindings(c, p.RuleGroups, p.Dashboard)...)

	// Alertmanager: no inline secrets and a sound model; the rendered file
	// loads with Alertmanager's own loader; every severity reaches a
	// receiver of its own.
	routing := routingFindings(c, p.Routing)
	errs = append(errs, routing...)
	if len(routing) == 0 { // Render refuses a model with findings: they are reported above
		if data, err := alertmanager.Render(p.Routing); err != nil {
			add(CheckAlertmanager, "alertmanager", "render: %v", err)
		} else if _, lerrs := alertmanager.Load(data); len(lerrs) > 0 {
			errs = append(errs, lerrs...)
		}
	}
	return errs
}
