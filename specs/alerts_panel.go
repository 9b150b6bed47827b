package specs

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// CheckAlertPanel: an alert's dashboard_url does not open a panel of the
// pack's dashboard, or opens one that does not plot the alert's signal.
const CheckAlertPanel = "alert-panel"

// AlertPanelFindings proves that the dashboard_url of every alert in
// groups opens a panel of d (c's dashboard with ?viewPanel=<id>) whose
// queries select every metric the alert's expression selects, so that the
// link in a notification shows the signal that fired rather than an
// unrelated graph. Metric names are read with the PromQL parser from both
// sides; an expression that does not parse is left to the PromQL checks.
func AlertPanelFindings(c Config, groups []rules.Group, d dashboard.Definition) []error {
	var errs []error
	panels := map[uint32]dashboard.Panel{}
	for _, p := range d.Panels {
		panels[p.ID] = p
	}
	for _, g := range groups {
		for i, r := range g.Rules {
			link := r.Annotations[AnnotationDashboardURL]
			if r.Alert == "" || link == "" { // a missing annotation is a rule-metadata finding
				continue
			}
			path := fmt.Sprintf("groups[%q].rules[%d] %q.annotations.%s", g.Name, i, r.Alert, AnnotationDashboardURL)
			want, err := exprMetrics(r.Expr)
			if err != nil {
				continue
			}
			id, err := viewPanel(link, c.DashboardURL(0))
			if err != nil {
				errs = append(errs, diag.New(CheckAlertPanel, path, "alert %s: %v; link the panel that plots %s", r.Alert, err, strings.Join(want, ", ")))
				continue
			}
			p, ok := panels[id]
			if !ok {
				errs = append(errs, diag.New(CheckAlertPanel, path, "alert %s links panel %d, which the dashboard does not have", r.Alert, id))
				continue
			}
			plotted := map[string]bool{}
			for _, q := range p.Queries {
				ms, _ := exprMetrics(promcheck.SubstituteGrafanaVars(q.Expr, dashboard.SubstituteWindow))
				for _, m := range ms {
					plotted[m] = true
				}
			}
			var missing []string
			for _, m := range want {
				if !plotted[m] {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				errs = append(errs, diag.New(CheckAlertPanel, path, "alert %s opens panel %d %q, which does not plot %s (the alert's expression uses %s)",
					r.Alert, p.ID, p.Title, strings.Join(missing, ", "), strings.Join(want, ", ")))
			}
		}
	}
	return errs
}

// viewPanel returns the panel id that link opens on the dashboard at
// dashURL: Grafana's ?viewPanel=<id>, or panel-<id> as Grafana 11 and
// later write it.
func viewPanel(link, dashURL string) (uint32, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, fmt.Errorf("dashboard_url %q is not a URL", link)
	}
	d, err := url.Parse(dashURL)
	if err != nil {
		return 0, fmt.Errorf("the dashboard's own URL %q does not parse", dashURL)
	}
	if u.Scheme != d.Scheme || u.Host != d.Host || (u.Path != d.Path && !strings.HasPrefix(u.Path, d.Path+"/")) {
		return 0, fmt.Errorf("dashboard_url %q does not open the dashboard %s", link, dashURL)
	}
	v := u.Query().Get("viewPanel")
	if v == "" {
		return 0, fmt.Errorf("dashboard_url %q opens no panel (no viewPanel=<id>)", link)
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(v, "panel-"), 10, 32)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("dashboard_url %q: viewPanel=%s is not a panel id", link, v)
	}
	return uint32(id), nil
}

// exprMetrics returns the metric names that expr selects, sorted and
// without duplicates.
func exprMetrics(expr string) ([]string, error) {
	e, err := promcheck.Parse(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		// A fleet's alerts read recorded series: they stand for the raw
		// metric they record; a threshold series stands for none.
		if name = recordedFrom(name); name != "" && !strings.HasPrefix(name, thresholdPrefix) {
			seen[name] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out, nil
}
