package specs

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"sort"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// Pack is the monitoring pack one Config defines: its alerts as values,
// grouped in families, and every artifact in its typed form, before
// rendering. Build it once (Build, Check) and render, validate or test from
// it, so that all of them see the same values. The typed artifacts are
// derived from Families and Alerts by Build; change the values through
// Build's options, not by editing a built pack.
type Pack struct {
	Config Config
	// Families are the families of alerts, in rule order.
	Families []Family
	// Alerts are the alerts of every family, in rule order.
	Alerts []Alert
	// Routes are the routes under the root of the Alertmanager tree, in
	// order.
	Routes []Route
	// Panels are the dashboard's panels, in order; Dashboard renders them.
	Panels          []Panel
	RuleGroups      []rules.Group
	RuleTests       []rules.TestCase
	Routing         *alertmanager.Config
	RouteTests      []alertmanager.RouteTest
	InhibitionTests []alertmanager.InhibitionTest
	Dashboard       dashboard.Definition

	// runbookErrs are the errors of the runbook prose templates.
	runbookErrs []error
	// variants are a fleet's alerts as built with each distinct set of
	// per-service thresholds: the rules word their annotations for those
	// services from them (alerts_service_text.go).
	variants []textVariant
	// Overview and AlertHistory are the two dashboards beside Dashboard:
	// one row per application and server, and the alerts' history.
	Overview     dashboard.Definition
	AlertHistory dashboard.Definition
}

// Dashboards are the pack's dashboards: the detailed one, the overview
// and the alert history, in the order push publishes them.
func (p *Pack) Dashboards() []dashboard.Definition {
	return []dashboard.Definition{p.Dashboard, p.Overview, p.AlertHistory}
}

// linkDashboards gives each generated dashboard header links to the others,
// in the order of Dashboards, so that the detail, the overview and the alert
// history are one click apart; DashboardLinkFindings checks that they open
// dashboards the pack generates.
func (p *Pack) linkDashboards() {
	ds := []*dashboard.Definition{&p.Dashboard, &p.Overview, &p.AlertHistory}
	for _, d := range ds {
		d.Links = nil
		for _, o := range ds {
			if o.UID != d.UID {
				d.Links = append(d.Links, dashboard.DashboardLink{
					Title:   o.Title,
					URL:     "/d/" + url.PathEscape(o.UID),
					Tooltip: o.Description,
				})
			}
		}
	}
}

// Files renders every generated file of the pack, keyed by its path
// relative to the output directory (slash-separated). The bytes are
// deterministic: the same Config gives the same files.
func (p *Pack) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	var err error
	if files[FileDashboard], err = dashboard.Render(p.Dashboard); err != nil {
		return nil, fmt.Errorf("render dashboard %q: %w", p.Config.Dashboard.UID, err)
	}
	for file, d := range map[string]dashboard.Definition{FileOverview: p.Overview, FileAlertHistory: p.AlertHistory} {
		if files[file], err = dashboard.Render(d); err != nil {
			return nil, fmt.Errorf("render dashboard %q: %w", d.UID, err)
		}
	}
	if files[FileProvisioning], err = dashboard.RenderProvisioning(Provisioning(p.Config)); err != nil {
		return nil, fmt.Errorf("render dashboard provisioning: %w", err)
	}
	if files[FileRules], err = rules.Render(p.RuleGroups, rules.WithHeader(GeneratedHeader)); err != nil {
		return nil, fmt.Errorf("render alert rules: %w", err)
	}
	testOpts := []rules.Option{rules.WithHeader(RuleTestsHeader)}
	if len(p.RuleGroups) > 1 {
		var order []string
		for _, g := range p.RuleGroups {
			order = append(order, g.Name)
		}
		testOpts = append(testOpts, rules.WithGroupEvalOrder(order...))
	}
	if files[FileRuleTests], err = rules.RenderTests([]string{path.Base(FileRules)}, p.Config.Alerting.EvaluationInterval.Std(), p.RuleTests, testOpts...); err != nil {
		return nil, fmt.Errorf("render alert rule tests: %w", err)
	}
	if files[FilePrometheus], err = PrometheusConfig(p.Config); err != nil {
		return nil, err
	}
	if files[FileAlertmanager], err = alertmanager.Render(p.Routing, alertmanager.WithHeader(GeneratedHeader)); err != nil {
		return nil, fmt.Errorf("render alertmanager config: %w", err)
	}
	books, err := p.Runbooks()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(books))
	for name := range books {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		files[path.Join(DirRunbooks, name+".md")] = books[name]
	}
	return files, nil
}

// SuiteResult counts one kind of test.
type SuiteResult struct {
	Name           string
	Passed, Failed int
}

// TestSummary is the outcome of every typed test of a pack.
type TestSummary struct {
	Passed, Failed int
	// Suites are the per-kind counts: rules, routes, inhibitions.
	Suites []SuiteResult
	// Failures are the failed checks in expected/got form.
	Failures []string
}

// RunTests runs the pack's alert rule unit tests on the real Prometheus rule
// engine and its routing and inhibition tests with Alertmanager's own route
// matching and matchers, all in process.
func RunTests(ctx context.Context, p *Pack) TestSummary {
	var s TestSummary
	add := func(name string, passed, failed int, failures []string) {
		s.Suites = append(s.Suites, SuiteResult{Name: name, Passed: passed, Failed: failed})
		s.Passed += passed
		s.Failed += failed
		s.Failures = append(s.Failures, failures...)
	}
	r := rules.Run(ctx, p.RuleGroups, p.Config.Alerting.EvaluationInterval.Std(), p.RuleTests)
	var rf []string
	for _, f := range r.Failures {
		rf = append(rf, f.Error())
	}
	add("rules", r.Passed, r.Failed, rf)

	am, err := alertmanager.Render(p.Routing)
	if err != nil {
		add("routes", 0, 1, []string{fmt.Sprintf("render alertmanager config: %v", err)})
		return s
	}
	rt := alertmanager.RunRouteTests(am, p.RouteTests)
	add("routes", rt.Passed, rt.Failed, rt.Failures)
	it := alertmanager.RunInhibitionTests(am, p.InhibitionTests)
	add("inhibitions", it.Passed, it.Failed, it.Failures)
	return s
}
