package specs

import (
	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// Alert is one alerting rule of the pack as a value: everything every
// artifact needs about it. The rule file, the promtool and in-process
// tests, the runbook, the dashboard link, the routing and inhibition tests
// and the cross-checks are all read from these values, so an alert added
// to a family (or by a user's family, see WithFamilies) gets each of them.
type Alert struct {
	// Name is the alertname, e.g. SlowQueryRateCritical.
	Name string
	// Severity is critical, warning or info; routing matches on it.
	Severity string
	// Family is the signal the alert watches (the family label); the
	// levels of one signal share it, so a more urgent level mutes a less
	// urgent one.
	Family string
	// Expr is the PromQL expression, written with Query.
	Expr string
	// For is how long Expr must hold before the alert fires.
	For Duration
	// By are the labels the alert carries beyond the identity labels
	// (query_type, db_name), in the order the runbook names them.
	By []string
	// Absent marks an absent() alert: it carries only the equality
	// matchers of the service selector, not the identity labels, and it
	// mutes the alerts that read the metrics it watches.
	Absent bool
	// Panel is the id of the dashboard panel that plots the signal; the
	// dashboard_url annotation opens it, and a cross-check proves the
	// panel's queries select every metric of Expr.
	Panel int
	// Humanize names the Prometheus template function that writes the
	// observed value (humanize, humanizeDuration, humanizePercentage).
	Humanize string
	// Text returns the summary and description annotations, given how the
	// observed value and a label's value are written: Prometheus templates
	// in the rule, the expected values in the tests.
	Text func(value string, label func(name string) string) (summary, description string)
	// Runbook is the content of the alert's runbook.
	Runbook Runbook
	// Cases are the alert's rule unit tests. The coverage check requires,
	// over the whole pack, a case where it fires and one where it must not.
	Cases []rules.TestCase
}

// texts calls Text, or returns empty annotations when the alert has none:
// the alert-set cross-check reports a missing Text as a finding, so building
// the pack must not fail on it first.
func (a Alert) texts(value string, label func(name string) string) (summary, description string) {
	if a.Text == nil {
		return "", ""
	}
	return a.Text(value, label)
}

// Family is the alerts of one signal, e.g. the three levels of the slow
// query rate. A server pack (extra signals over an exporter's metrics) is a
// set of families plus the panels that plot them.
type Family struct {
	// Name is the family label of its alerts.
	Name string
	// Alerts are the family's alerts, in the order of the rule file.
	Alerts []Alert
	// Cases test several alerts of the family at once (e.g. a share
	// between the warning and the critical level fires only the warning).
	Cases []rules.TestCase
}

// Route is one route under the root of the Alertmanager tree, as a value:
// the routing tree renders the pack's routes in order, the route tests
// expect each alert at the receivers they select, and the runbooks quote
// the timing of the route an alert takes.
type Route struct {
	// Matchers select the alerts, in Alertmanager's syntax with a
	// double-quoted value (severity="critical"). All must match.
	Matchers []string
	// Receiver gets the alerts the route selects.
	Receiver string
	// Timing is the route's group wait, group interval and repeat interval.
	Timing RouteTiming
	// Continue lets an alert the route selects go on to the following
	// routes.
	Continue bool
	// Routes are the route's child routes, tried in order on the alerts
	// it selects; an alert none of them selects stays at Receiver. A zero
	// field of a child's Timing is its parent's.
	Routes []Route
}

// FamilyFunc builds a family from the environment of a pack.
type FamilyFunc func(e *Env) Family

// Panel is one dashboard panel as a value: its dashboard model (id, title,
// kind, queries, thresholds, grid position) and what its description says
// besides the alerts. The pack writes the description: About, then the
// alerts the panel shows, derived from the pack's alerts (those whose
// dashboard link opens the panel and those of Signals), so a description
// never names an alert by hand.
type Panel struct {
	dashboard.Panel
	// About is what the panel plots and what its colours mean; it names no
	// alert. Panel.Description is ignored: the pack writes it.
	About string
	// Signals are families whose alerts the panel helps to read besides
	// the alerts that link to it (the percentile lines of the p99 alerts).
	Signals []string
}

// PanelFunc builds extra dashboard panels from the config.
type PanelFunc func(c Config) []Panel

// Env is what a family builds its alerts from: the config, the one PromQL
// builder, and the test-case kit.
type Env struct {
	// Config is the pack's config.
	Config Config
	// Query writes PromQL over the config's selector and identity labels.
	Query Query
	tests *TestKit
	rb    *rbContext
}

// Tests returns f's cases, or nil when the pack is built without tests
// (the routing of a config that failed validation, whose values could not
// be sampled).
func (e *Env) Tests(f func(k *TestKit) []rules.TestCase) []rules.TestCase {
	if e.tests == nil {
		return nil
	}
	return f(e.tests)
}

// DefaultFamilies are the families of the pack, in the order of the rule
// file.
func DefaultFamilies() []FamilyFunc {
	return []FamilyFunc{
		slowRateFamily,
		latencyFamily,
		trafficFamily,
		absentFamily,
		errorsFamily,
		byTypeFamily,
		poolFamily,
	}
}

// Option changes what Build puts in a pack.
type Option func(*buildOptions)

type buildOptions struct {
	families []FamilyFunc
	panels   []PanelFunc
	noTests  bool
}

// WithFamilies adds families after the default ones. A family whose Name
// is that of a default family replaces it in place, so a user can change
// an alert by supplying its family.
func WithFamilies(f ...FamilyFunc) Option {
	return func(o *buildOptions) { o.families = append(o.families, f...) }
}

// WithPanels adds dashboard panels after the default ones.
func WithPanels(f ...PanelFunc) Option {
	return func(o *buildOptions) { o.panels = append(o.panels, f...) }
}

// Build builds the pack of c once: its families, alerts, dashboard,
// routing and every typed test. Render, validate and test from the
// result. c must have passed validateConfig (Check does both); the
// values of an invalid config may not yield tests.
func Build(c Config, opts ...Option) *Pack {
	o := buildOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	return build(c, o)
}

func build(c Config, o buildOptions) *Pack {
	p := &Pack{Config: c, Panels: DefaultPanels(c)}
	p.Panels = append(p.Panels, serverPanels(c, p.Panels)...)
	for _, f := range o.panels {
		p.Panels = append(p.Panels, f(c)...)
	}
	e := &Env{Config: c, Query: newQuery(c), rb: rbNewContext(c, p.Panels)}
	if !o.noTests {
		if !c.Fleet() {
			e.tests = newTestKit(c)
		} else if i := fleetTestService(c); i >= 0 {
			e.tests = newFleetTestKit(c, i)
		}
	}
	p.Families = familiesOf(e, o.families)
	p.runbookErrs = e.rb.errs
	defaults := map[string]Alert{}
	for _, f := range p.Families {
		p.Alerts = append(p.Alerts, f.Alerts...)
		for _, a := range f.Alerts {
			defaults[a.Name] = a
		}
	}
	p.variants = serviceVariants(c, o, p.Panels, defaults)
	p.Dashboard = dashboardOf(c, p.Panels, p.Alerts)
	p.Overview = OverviewDefinition(c)
	p.AlertHistory = p.AlertHistoryDefinition()
	p.linkDashboards()
	p.RuleGroups = p.ruleGroups()
	p.RuleTests = p.ruleTests()
	p.Routes = packRoutes(c)
	p.Routing = routing(c, p.Routes, p.Alerts)
	ids := sampleLabels(c)
	alerts := p.alertLabels(ids)
	rm := routeMatcher{}
	p.RouteTests = rm.routeTests(c, p.Routes, alerts, ids)
	for i := 1; i < len(c.Services); i++ {
		// Every service's alerts reach its team; the unmatched-severity
		// cases above are not repeated.
		p.RouteTests = append(p.RouteTests, rm.routeTests(c, p.Routes, p.relabel(alerts, serviceSample(c, i)), nil)[:len(p.Alerts)]...)
	}
	p.InhibitionTests = inhibitionTests(c, alerts, ids)
	return p
}

// familiesOf builds the default families, those of the server packs the
// config switches on, and extra, an extra family replacing the one of the
// same name.
func familiesOf(e *Env, extra []FamilyFunc) []Family {
	var out []Family
	for _, f := range append(DefaultFamilies(), serverFamilies(e.Config)...) {
		out = append(out, f(e))
	}
	for _, f := range extra {
		fam := f(e)
		replaced := false
		for i := range out {
			if out[i].Name == fam.Name {
				out[i], replaced = fam, true
			}
		}
		if !replaced {
			out = append(out, fam)
		}
	}
	return out
}

// Alert returns the pack's alert called name.
func (p *Pack) Alert(name string) (Alert, bool) {
	for _, a := range p.Alerts {
		if a.Name == name {
			return a, true
		}
	}
	return Alert{}, false
}
