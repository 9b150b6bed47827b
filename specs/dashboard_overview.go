package specs

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// The database overview: one row per monitored application (its identity
// labels) with its traffic, p99, slow share, error share and pool use, each
// row linking to the detailed dashboard filtered to it; and, per server
// pack switched on, one row per database server linking to the pack's
// panels. Every number is read from the same Config as the alerts.

// Generated files of the two extra dashboards.
const (
	FileOverview     = "grafana/overview.json"
	FileAlertHistory = "grafana/alert-history.json"
)

// UID suffixes of the extra dashboards: their UIDs are derived from
// dashboard.uid, so one setting names the three.
const (
	overviewUIDSuffix = "-overview"
	historyUIDSuffix  = "-alerts"
)

// Panel ids of the overview.
const (
	PanelOverviewServices = 1
	PanelOverviewPostgres = 2
	PanelOverviewMySQL    = 3
)

// OverviewUID is the overview dashboard's UID.
func (c Config) OverviewUID() string { return c.Dashboard.UID + overviewUIDSuffix }

// AlertHistoryUID is the alert history dashboard's UID.
func (c Config) AlertHistoryUID() string { return c.Dashboard.UID + historyUIDSuffix }

// dashLink is a Grafana-relative link to the dashboard uid, keeping the
// time range, with extra query parameters (written as is: they hold
// data-link variables).
func dashLink(uid string, params ...string) string {
	return "/d/" + url.PathEscape(uid) + "?" + strings.Join(append(params, "${__url_time_range}"), "&")
}

// OverviewDefinition is the overview dashboard of c.
func OverviewDefinition(c Config) dashboard.Definition {
	t := c.Thresholds
	var sel []string
	if s := dashServiceSelector(c); s != "" {
		sel = append(sel, s)
	}
	series := func(metric string) string {
		if len(sel) == 0 {
			return metric
		}
		return metric + "{" + strings.Join(sel, ", ") + "}"
	}
	// One row per application, and per database of it when the
	// statement metrics carry db_name.
	rowLabels := append([]string(nil), c.Service.IdentityLabels...)
	if c.Middleware.DBNameLabel {
		rowLabels = append(rowLabels, middleware.LabelDBName)
	}
	id := strings.Join(rowLabels, ", ")
	rate := func(metric string) string {
		return fmt.Sprintf("sum by (%s) (rate(%s[$__rate_interval]))", id, series(metric))
	}
	share := func(part string) string {
		return fmt.Sprintf("%s / (%s > 0)", rate(part), rate(middleware.MetricQueriesTotal))
	}
	p99 := fmt.Sprintf("histogram_quantile(%s, sum by (%s, %s) (rate(%s[$__rate_interval])))",
		dashFloat(dashP99), id, middleware.LabelLE, series(middleware.MetricQueryDuration+"_bucket"))
	pool := fmt.Sprintf("sum by (%s) (%s) / (sum by (%s) (%s) > 0)", id, series(middleware.MetricPoolInUse), id, series(middleware.MetricPoolMaxOpen))

	// the identity columns link to the detailed dashboard, filtered to
	// the row's application
	var params []string
	for _, l := range rowLabels {
		params = append(params, fmt.Sprintf("var-%s=${__data.fields.%s}", l, l))
	}
	detail := []dashboard.Link{{Title: "Open " + c.Dashboard.Title, URL: dashLink(c.Dashboard.UID, params...)}}
	var overrides []dashboard.FieldOverride
	for _, l := range rowLabels {
		overrides = append(overrides, dashboard.FieldOverride{Field: l, Links: detail})
	}
	steps := func(values ...float64) []dashboard.Step {
		s := []dashboard.Step{{Value: nil, Color: dashColorOK}}
		colors := []string{dashColorWarning, dashColorCritical}
		for i, v := range values {
			s = append(s, dashboard.Step{Value: dashboard.Float(v), Color: colors[len(colors)-len(values)+i]})
		}
		return s
	}
	overrides = append(overrides,
		dashboard.FieldOverride{Field: "QPS", Unit: dashUnitOpsPerSec, Decimals: dashboard.Int(2)},
		dashboard.FieldOverride{Field: "p99", Unit: dashUnitSeconds, Decimals: dashboard.Int(3), Thresholds: steps(t.SlowQuery.Std().Seconds(), t.LatencyP99.Warning.Threshold), CellColor: true},
		dashboard.FieldOverride{Field: "Slow %", Unit: dashUnitPercentUnit, Decimals: dashboard.Int(1), Thresholds: steps(t.SlowRate.Warning.Threshold, t.SlowRate.Critical.Threshold), CellColor: true},
		dashboard.FieldOverride{Field: "Errors %", Unit: dashUnitPercentUnit, Decimals: dashboard.Int(1), Thresholds: steps(t.ErrorRate.Threshold), CellColor: true},
		dashboard.FieldOverride{Field: "Pool in use", Unit: dashUnitPercentUnit, Decimals: dashboard.Int(0), Thresholds: steps(t.PoolSaturation.Threshold), CellColor: true},
	)
	index := map[string]any{}
	for i, l := range rowLabels {
		index[l] = i
	}
	n := len(rowLabels)
	cols := []string{"QPS", "p99", "Slow %", "Errors %", "Pool in use"}
	rename := map[string]any{}
	for i, col := range cols {
		ref := "Value #" + dashRefID(i)
		index[ref] = n + i
		rename[ref] = col
	}
	panels := []dashboard.Panel{{
		ID:    PanelOverviewServices,
		Title: "Applications",
		Description: fmt.Sprintf("One row per application (%s), now: statements per second, p99 duration, slow share (at or above %s), error share and the share of the connection pool in use. "+
			"Colours are the alert thresholds: p99 from %s and %s, slow share %s and %s, errors %s, pool %s. Click an application to open %s filtered to it.",
			id, FormatSeconds(t.SlowQuery.Std().Seconds()), FormatSeconds(t.SlowQuery.Std().Seconds()), FormatSeconds(t.LatencyP99.Warning.Threshold),
			FormatPercent(t.SlowRate.Warning.Threshold), FormatPercent(t.SlowRate.Critical.Threshold), FormatPercent(t.ErrorRate.Threshold), FormatPercent(t.PoolSaturation.Threshold), c.Dashboard.Title),
		Kind: dashboard.KindTable,
		Grid: dashboard.GridPos{X: 0, Y: 0, W: dashboard.GridColumns, H: 10},
		Queries: []dashboard.Query{
			{RefID: "A", Expr: rate(middleware.MetricQueriesTotal), Instant: true, Format: dashboard.FormatTable},
			{RefID: "B", Expr: p99, Instant: true, Format: dashboard.FormatTable},
			{RefID: "C", Expr: share(middleware.MetricSlowQueriesTotal), Instant: true, Format: dashboard.FormatTable},
			{RefID: "D", Expr: share(middleware.MetricQueryErrorsTotal), Instant: true, Format: dashboard.FormatTable},
			{RefID: "E", Expr: pool, Instant: true, Format: dashboard.FormatTable},
		},
		Transformations: []dashboard.Transformation{
			{ID: "merge", Options: map[string]any{}},
			{ID: "organize", Options: map[string]any{"excludeByName": map[string]any{"Time": true}, "indexByName": index, "renameByName": rename}},
		},
		Overrides: overrides,
	}}
	y := uint32(10)
	for _, sp := range enabledServerPacks(c) {
		p := sp.overview(c, y)
		panels = append(panels, p)
		y += p.Grid.H
	}
	return dashboard.Definition{
		UID:         c.OverviewUID(),
		Title:       c.Dashboard.Title + " — Overview",
		Description: "One row per application and per database server, each linking to the detailed dashboard.",
		Tags:        append([]string(nil), c.Dashboard.Tags...),
		Refresh:     c.Dashboard.Refresh.String(),
		From:        "now-" + c.Dashboard.TimeFrom.String(),
		To:          "now",
		CursorSync:  dashboard.CursorSyncCrosshair,
		Datasource:  dashboard.DatasourceRef{Type: "prometheus", UID: "${" + VarDatasource + "}"},
		Variables:   dashboardVariables(c)[:1],
		Panels:      panels,
	}
}

// serverOverview is the overview row of a server pack: one table row per
// server (exporter target) with its instant queries as columns, the
// instance column linking to the pack's panels on the main dashboard.
func serverOverview(c Config, y uint32, id int, title, description string, panel int, cols []string, exprs []string, thresholds map[string][]dashboard.Step, units map[string]string) dashboard.Panel {
	index := map[string]any{"instance": 0}
	rename := map[string]any{}
	var queries []dashboard.Query
	for i, e := range exprs {
		ref := dashRefID(i)
		queries = append(queries, dashboard.Query{RefID: ref, Expr: e, Instant: true, Format: dashboard.FormatTable})
		index["Value #"+ref] = i + 1
		rename["Value #"+ref] = cols[i]
	}
	overrides := []dashboard.FieldOverride{{Field: "instance", Links: []dashboard.Link{{
		Title: "Open the server's panels",
		URL:   dashLink(c.Dashboard.UID, "viewPanel="+strconv.Itoa(panel)),
	}}}}
	for _, col := range cols {
		o := dashboard.FieldOverride{Field: col, Unit: units[col]}
		if s, ok := thresholds[col]; ok {
			o.Thresholds, o.CellColor = s, true
		}
		overrides = append(overrides, o)
	}
	return dashboard.Panel{
		ID: uint32(id), Title: title, Description: description, Kind: dashboard.KindTable,
		Grid:    dashboard.GridPos{X: 0, Y: y, W: dashboard.GridColumns, H: 8},
		Queries: queries,
		Transformations: []dashboard.Transformation{
			{ID: "merge", Options: map[string]any{}},
			{ID: "organize", Options: map[string]any{"excludeByName": map[string]any{"Time": true, "job": true}, "indexByName": index, "renameByName": rename}},
		},
		Overrides: overrides,
	}
}

// CheckDashboardLink: a data link of a generated dashboard opens a
// dashboard or panel the pack does not generate.
const CheckDashboardLink = "dashboard-link"

// DashboardLinkFindings proves that every header link and data link of ds
// opens one of ds (by UID) and, when it names a panel (viewPanel), a panel
// of it.
func DashboardLinkFindings(ds []dashboard.Definition) []error {
	panels := map[string]map[uint32]bool{}
	for _, d := range ds {
		panels[d.UID] = map[uint32]bool{}
		for _, p := range d.Panels {
			panels[d.UID][p.ID] = true
		}
	}
	var errs []error
	check := func(path, link string) {
		u, err := url.Parse(strings.NewReplacer("${", "", "}", "").Replace(link))
		if err != nil {
			errs = append(errs, diag.New(CheckDashboardLink, path, "link %q does not open a dashboard (/d/<uid>)", link))
			return
		}
		uid, ok := strings.CutPrefix(u.Path, "/d/")
		if !ok {
			errs = append(errs, diag.New(CheckDashboardLink, path, "link %q does not open a dashboard (/d/<uid>)", link))
			return
		}
		uid, _, _ = strings.Cut(uid, "/")
		if unescaped, err := url.PathUnescape(uid); err == nil {
			uid = unescaped
		}
		target, ok := panels[uid]
		if !ok {
			errs = append(errs, diag.New(CheckDashboardLink, path, "link %q opens dashboard %q, which the pack does not generate", link, uid))
			return
		}
		if v := u.Query().Get("viewPanel"); v != "" {
			n, err := strconv.ParseUint(strings.TrimPrefix(v, "panel-"), 10, 32)
			if err != nil || !target[uint32(n)] {
				errs = append(errs, diag.New(CheckDashboardLink, path, "link %q opens panel %s, which dashboard %q does not have", link, v, uid))
			}
		}
	}
	for _, d := range ds {
		for i, l := range d.Links {
			check(fmt.Sprintf("%s.links[%d] %q", d.UID, i, l.Title), l.URL)
		}
		for i, p := range d.Panels {
			for j, o := range p.Overrides {
				for k, l := range o.Links {
					check(fmt.Sprintf("%s.panels[%d] %q.fieldConfig.overrides[%d].links[%d]", d.UID, i, p.Title, j, k), l.URL)
				}
			}
		}
	}
	return errs
}
