package dashboard

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// Check IDs of dashboard findings.
const (
	// CheckDefinition: a required setting is missing or the SDK rejects it.
	CheckDefinition = "dashboard-definition"
	// CheckPanelID: a panel id is zero or used twice.
	CheckPanelID = "dashboard-panel-id"
	// CheckGrid: a panel is empty, leaves the 24-column grid or overlaps another.
	CheckGrid = "dashboard-grid"
	// CheckThresholds: threshold steps have no base step or are not ascending.
	CheckThresholds = "dashboard-thresholds"
	// CheckVariable: a template variable is malformed, duplicated or undefined.
	CheckVariable = "dashboard-variable"
	// CheckQuery: a query has no refId, a duplicate refId or no expression.
	CheckQuery = "dashboard-query"
	// CheckPromQL: a query does not parse, or names a metric or label the
	// middleware does not export.
	CheckPromQL = "dashboard-promql"
	// CheckRoundTrip: the rendered JSON changes when read back through the
	// SDK's types, i.e. Grafana's schema would not keep it as written.
	CheckRoundTrip = "dashboard-roundtrip"
)

// SubstituteWindow is the range that $__rate_interval, $__interval and
// $__range stand for when a query is parsed for validation; any valid
// duration would do, since only the syntax and the series are checked.
const SubstituteWindow = "5m"

// maxUIDLength is Grafana's limit on a dashboard UID.
const maxUIDLength = 40

// Validate checks d and returns every finding as a *diag.Error whose Path
// names the field, e.g. `panels[2] "Query Duration p99".targets[0].expr`:
// required settings, unique panel ids, the 24-column grid without overlaps,
// ascending thresholds with a base step, template variables that exist and
// whose label_values() names a known series, queries that parse as PromQL
// once template variables are substituted and name only what known
// contains, and rendered JSON that round-trips through the SDK unchanged.
func Validate(d Definition, known promcheck.Known) []error {
	v := validator{known: known}
	v.definition(d)
	vars := v.variables(d.Variables)
	v.panels(d.Panels, vars)
	v.roundTrip(d)
	return v.errs
}

type validator struct {
	known promcheck.Known
	errs  []error
}

func (v *validator) add(id, path, format string, args ...any) {
	v.errs = append(v.errs, diag.New(id, path, format, args...))
}

func (v *validator) definition(d Definition) {
	if d.UID == "" {
		v.add(CheckDefinition, "uid", "must not be empty")
	} else if len(d.UID) > maxUIDLength {
		v.add(CheckDefinition, "uid", "Grafana limits a dashboard UID to %d characters, got %d", maxUIDLength, len(d.UID))
	}
	if d.Title == "" {
		v.add(CheckDefinition, "title", "must not be empty")
	}
	if d.From == "" || d.To == "" {
		v.add(CheckDefinition, "time", "from and to must both be set, got %q and %q", d.From, d.To)
	}
	if d.Datasource.Type == "" || d.Datasource.UID == "" {
		v.add(CheckDefinition, "datasource", "type and uid must both be set, got %q and %q", d.Datasource.Type, d.Datasource.UID)
	}
	for i, l := range d.Links {
		if l.Title == "" || l.URL == "" {
			v.add(CheckDefinition, fmt.Sprintf("links[%d]", i), "title and url must both be set, got %q and %q", l.Title, l.URL)
		}
	}
}

// labelValues matches Grafana's Prometheus variable query
// label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$`)

// variables checks the template variables and returns their names.
func (v *validator) variables(vars []Variable) map[string]bool {
	names := map[string]bool{}
	for i, vr := range vars {
		path := fmt.Sprintf("templating[%d] %q", i, vr.Name)
		switch {
		case vr.Name == "":
			v.add(CheckVariable, path+".name", "must not be empty")
		case strings.HasPrefix(vr.Name, "__"):
			v.add(CheckVariable, path+".name", "names starting with __ are Grafana's built-in variables")
		case names[vr.Name]:
			v.add(CheckVariable, path+".name", "variable %q is defined twice", vr.Name)
		}
		names[vr.Name] = true
		switch vr.Kind {
		case VariableDatasource:
			if vr.Query == "" {
				v.add(CheckVariable, path+".query", "a datasource variable needs the plugin type it offers, e.g. prometheus")
			}
		case VariableQuery:
			v.variableQuery(path+".query", vr.Query)
			v.references(path+".query", vr.Query, names)
		default:
			v.add(CheckVariable, path+".type", "unknown variable kind %q (want %q or %q)", vr.Kind, VariableDatasource, VariableQuery)
		}
		if vr.AllValue != "" && !vr.IncludeAll {
			v.add(CheckVariable, path+".allValue", "is set but includeAll is not")
		}
	}
	return names
}

// variableQuery checks label_values(selector, label): the selector names a
// known series and that series carries the label. Other query forms are
// passed to Grafana unchecked.
func (v *validator) variableQuery(path, query string) {
	if query == "" {
		v.add(CheckVariable, path, "a query variable needs a query")
		return
	}
	m := labelValues.FindStringSubmatch(query)
	if m == nil {
		return
	}
	// Grouping by the label makes promcheck report a label that none of
	// the selected series carries.
	expr := fmt.Sprintf("count by (%s) (%s)", m[2], promcheck.SubstituteGrafanaVars(m[1], SubstituteWindow))
	if _, problems := v.known.Check(expr); len(problems) > 0 {
		for _, p := range problems {
			v.add(CheckPromQL, path, "%s", p)
		}
	}
}

// variableRef matches template variable references in a query: $name,
// ${name}, ${name:format} and [[name]].
var variableRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// references reports variables that s uses but that are not defined
// (before it, for a variable's own query). Grafana leaves an undefined
// reference in the query text, which then fails or matches nothing.
func (v *validator) references(path, s string, defined map[string]bool) {
	seen := map[string]bool{}
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2] + m[3]
		if strings.HasPrefix(name, "__") || seen[name] {
			continue
		}
		seen[name] = true
		if !defined[name] {
			v.add(CheckVariable, path, "uses variable $%s, which is not defined", name)
		}
	}
}

func (v *validator) panels(panels []Panel, vars map[string]bool) {
	ids := map[uint32]string{}
	for i, p := range panels {
		path := fmt.Sprintf("panels[%d] %q", i, p.Title)
		if p.Title == "" {
			v.add(CheckDefinition, path+".title", "must not be empty")
		}
		switch p.Kind {
		case KindTimeseries, KindGauge, KindPiechart, KindTable, KindStateTimeline:
		default:
			v.add(CheckDefinition, path+".type", "unknown panel kind %q", p.Kind)
		}
		if p.ID == 0 {
			v.add(CheckPanelID, path+".id", "must be set: links such as ?viewPanel= need a stable id")
		} else if first, ok := ids[p.ID]; ok {
			v.add(CheckPanelID, path+".id", "id %d is already used by %s", p.ID, first)
		} else {
			ids[p.ID] = path
		}
		v.grid(path, p.Grid)
		v.steps(path+".fieldConfig.defaults.thresholds", p.Thresholds)
		for j, o := range p.Overrides {
			op := fmt.Sprintf("%s.fieldConfig.overrides[%d]", path, j)
			if o.Field == "" {
				v.add(CheckDefinition, op+".matcher", "the field name must not be empty")
			}
			v.steps(op+".thresholds", o.Thresholds)
		}
		v.queries(path, p.Queries, vars)
	}
	v.overlaps(panels)
}

func (v *validator) grid(path string, g GridPos) {
	if g.W == 0 || g.H == 0 {
		v.add(CheckGrid, path+".gridPos", "width and height must be positive, got w=%d h=%d", g.W, g.H)
	}
	if g.X+g.W > GridColumns {
		v.add(CheckGrid, path+".gridPos", "x+w = %d exceeds the %d-column grid", g.X+g.W, GridColumns)
	}
}

// overlaps reports every pair of panels whose rectangles intersect, on the
// later panel of the pair.
func (v *validator) overlaps(panels []Panel) {
	for j := range panels {
		for i := range j {
			a, b := panels[i].Grid, panels[j].Grid
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				v.add(CheckGrid, fmt.Sprintf("panels[%d] %q.gridPos", j, panels[j].Title),
					"overlaps panels[%d] %q (x=%d y=%d w=%d h=%d)", i, panels[i].Title, a.X, a.Y, a.W, a.H)
			}
		}
	}
}

// steps checks threshold steps: a base step without a value first, then
// values strictly ascending, every step with a colour. Empty is fine
// (Build adds the base step).
func (v *validator) steps(path string, steps []Step) {
	for k, s := range steps {
		sp := fmt.Sprintf("%s.steps[%d]", path, k)
		if s.Color == "" {
			v.add(CheckThresholds, sp+".color", "must not be empty")
		}
		switch {
		case k == 0 && s.Value != nil:
			v.add(CheckThresholds, sp+".value", "the first step is the base step and must have no value (from minus infinity), got %v", *s.Value)
		case k > 0 && s.Value == nil:
			v.add(CheckThresholds, sp+".value", "only the first step may have no value")
		case k > 1 && steps[k-1].Value != nil && *s.Value <= *steps[k-1].Value:
			v.add(CheckThresholds, sp+".value", "steps must ascend: %v follows %v", *s.Value, *steps[k-1].Value)
		}
	}
}

func (v *validator) queries(path string, queries []Query, vars map[string]bool) {
	if len(queries) == 0 {
		v.add(CheckQuery, path+".targets", "a panel needs at least one query")
	}
	refs := map[string]bool{}
	for j, q := range queries {
		qp := fmt.Sprintf("%s.targets[%d]", path, j)
		switch {
		case q.RefID == "":
			v.add(CheckQuery, qp+".refId", "must be set: transformations and overrides refer to it")
		case refs[q.RefID]:
			v.add(CheckQuery, qp+".refId", "refId %q is used twice in the panel", q.RefID)
		}
		refs[q.RefID] = true
		switch q.Format {
		case "", FormatTimeSeries, FormatTable:
		default:
			v.add(CheckQuery, qp+".format", "unknown format %q (want %q or %q)", q.Format, FormatTimeSeries, FormatTable)
		}
		if strings.TrimSpace(q.Expr) == "" {
			v.add(CheckQuery, qp+".expr", "must not be empty")
			continue
		}
		v.references(qp+".expr", q.Expr, vars)
		_, problems := v.known.Check(promcheck.SubstituteGrafanaVars(q.Expr, SubstituteWindow))
		for _, p := range problems {
			v.add(CheckPromQL, qp+".expr", "%s", p)
		}
	}
}

func (v *validator) roundTrip(d Definition) {
	rendered, err := Render(d)
	if err != nil {
		v.add(CheckDefinition, "", "the dashboard does not build: %v", err)
		return
	}
	diff, err := roundTrip(rendered)
	if err != nil {
		v.add(CheckRoundTrip, "", "the rendered JSON does not read back through the SDK's types: %v", err)
		return
	}
	if diff != "" {
		v.add(CheckRoundTrip, diff, "the rendered JSON changes when read back through the SDK's types")
	}
}
