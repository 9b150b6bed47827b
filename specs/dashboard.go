package specs

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// Names of the dashboard's own template variables. The identity variables
// are named after their labels (job, …).
const (
	VarDatasource = "datasource"
	VarQueryType  = middleware.LabelQueryType
	// VarService selects services of a fleet.
	VarService = LabelService
	// VarDBName selects databases when the statement metrics carry
	// db_name (middleware.db_name_label).
	VarDBName = middleware.LabelDBName
)

// ProvisioningPath is where the provisioning file tells Grafana to read
// the dashboard JSON from: copy grafana/dashboard.json there.
const ProvisioningPath = "/var/lib/grafana/dashboards/dbmonctl"

// CheckDashboardThresholds: a gauge's colour steps differ from the alert
// thresholds in Config they are meant to show.
const CheckDashboardThresholds = "dashboard-alert-thresholds"

// Threshold colours, Grafana's named palette colours.
const (
	dashColorOK       = "green"
	dashColorWarning  = "yellow"
	dashColorCritical = "red"
)

// dashPercentiles are the lines of the Query Duration Percentiles panel; the
// last one is the p99 the latency alerts watch.
var dashPercentiles = []float64{0.5, 0.95, 0.99}

// dashP99 is the quantile of the latency gauge, the table and the alerts.
const dashP99 = 0.99

// dashGaugeHeadroom is the p99 gauge's maximum as a multiple of the
// critical latency threshold.
const dashGaugeHeadroom = 2

// Grafana unit ids.
const (
	dashUnitSeconds     = "s"
	dashUnitOpsPerSec   = "ops"
	dashUnitPercentUnit = "percentunit" // 0–1 shown as 0–100 %
	dashUnitShort       = "short"
)

// Column names of the statistics table, after the organize transformation.
const (
	dashColumnType = "Type"
	dashColumnQPS  = "QPS"
	dashColumnP99  = "p99"
	dashColumnSlow = "Slow %"
	// dashColumnDatabase is the db_name column, when the statement
	// metrics carry it.
	dashColumnDatabase = "Database"
)

// DashboardDefinition is the Grafana dashboard of c's default pack: the
// seven panels of the query metrics and three for errors and the
// connection pool, so that every alert's dashboard_url opens a panel that
// plots its signal. Every number it shows (gauge colours, slow threshold,
// gauge ranges) is read from c.Thresholds, the same values the alert rules
// use; every metric and label comes from the middleware's contract; the
// alerts a panel's description names are the pack's.
func DashboardDefinition(c Config) dashboard.Definition {
	return build(c, buildOptions{noTests: true}).Dashboard
}

// DefaultPanels are the panels of the default dashboard, in order.
func DefaultPanels(c Config) []Panel {
	q := dashQueries{sel: dashboardSelector(c), db: c.Middleware.DBNameLabel}
	// The pool metrics carry db_name, not query_type: the query_type
	// variable must not filter them away.
	pool := dashQueries{sel: dashPoolSelector(c)}
	if c.Fleet() {
		// A fleet's panels read the series its recording groups record
		// per service, which carry the service label the raw series
		// lack; their rates are over thresholds.rate_window.
		w := newQuery(c).window.String()
		q.window, pool.window = w, w
	}
	t := c.Thresholds
	slow := t.SlowQuery.Std().Seconds()
	latencySteps := dashLatencySteps(c)
	slowRateSteps := []dashboard.Step{
		{Value: nil, Color: dashColorOK},
		{Value: dashboard.Float(t.SlowRate.Warning.Threshold), Color: dashColorWarning},
		{Value: dashboard.Float(t.SlowRate.Critical.Threshold), Color: dashColorCritical},
	}
	byTypeSteps := []dashboard.Step{
		{Value: nil, Color: dashColorOK},
		{Value: dashboard.Float(t.SlowRateByType.Threshold), Color: dashColorCritical},
	}
	errorSteps := []dashboard.Step{
		{Value: nil, Color: dashColorOK},
		{Value: dashboard.Float(t.ErrorRate.Threshold), Color: dashColorCritical},
	}
	waitSteps := []dashboard.Step{
		{Value: nil, Color: dashColorOK},
		{Value: dashboard.Float(t.PoolWait.Threshold), Color: dashColorCritical},
	}
	seriesLegend := dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}}
	seriesTooltip := dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"}

	percentileQueries := make([]dashboard.Query, len(dashPercentiles))
	for i, p := range dashPercentiles {
		percentileQueries[i] = dashboard.Query{
			RefID:        dashRefID(i),
			Expr:         q.quantile(p),
			LegendFormat: q.legend("p" + dashPercent(p)),
		}
	}

	panels := []Panel{
		{
			About: fmt.Sprintf("Statements executed per second, one line per query type (%s), from %s.",
				dashQueryTypeList(), middleware.MetricQueriesTotal),
			Panel: dashboard.Panel{
				ID:      PanelQueryRate,
				Title:   "Query Rate by Type",
				Kind:    dashboard.KindTimeseries,
				Grid:    dashboard.GridPos{X: 0, Y: 0, W: 12, H: 8},
				Unit:    dashUnitOpsPerSec,
				Min:     dashboard.Float(0),
				Legend:  dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}},
				Tooltip: dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
				Queries: []dashboard.Query{{RefID: "A", Expr: q.rateByType(middleware.MetricQueriesTotal), LegendFormat: q.legend(dashLegendQueryType())}},
			},
		},
		{
			About: fmt.Sprintf("99th percentile of statement duration over all selected query types, from the %s histogram. "+
				"Green below the slow-query threshold (%s), yellow from it, red from %s, the warning level of the p99. "+
				"Shows no data when there is no traffic.",
				middleware.MetricQueryDuration, FormatSeconds(slow), FormatSeconds(t.LatencyP99.Warning.Threshold)),
			Panel: dashboard.Panel{
				ID:       PanelLatencyP99,
				Title:    "Query Duration p99",
				Kind:     dashboard.KindGauge,
				Grid:     dashboard.GridPos{X: 12, Y: 0, W: 6, H: 8},
				Unit:     dashUnitSeconds,
				Decimals: dashboard.Int(3),
				Min:      dashboard.Float(0),
				// Twice the critical threshold, so the needle still moves
				// during a critical incident (a max equal to critical would
				// leave it pegged at the end of the scale) and critical sits
				// mid-scale, whatever the buckets: the next bucket bound would
				// leave almost no headroom with dense buckets and squash the
				// green and yellow zones with sparse ones.
				Max:               dashboard.Float(dashGaugeHeadroom * t.LatencyP99.Critical.Threshold),
				Thresholds:        latencySteps,
				ColorByThresholds: true,
				Reduce:            "lastNotNull",
				// Instant: a gauge shows now, so no traffic now is "No data"
				// rather than the last value seen earlier in the range.
				Queries: []dashboard.Query{{RefID: "A", Expr: q.quantile(dashP99), LegendFormat: q.legend("p" + dashPercent(dashP99)), Instant: true}},
			},
		},
		{
			About: fmt.Sprintf("p50, p95 and p99 of statement duration over time, from the %s histogram. "+
				"Dashed lines mark the slow-query threshold (%s) and the warning level of the p99 (%s).",
				middleware.MetricQueryDuration, FormatSeconds(slow), FormatSeconds(t.LatencyP99.Warning.Threshold)),
			Signals: []string{FamilyQueryLatencyP99},
			Panel: dashboard.Panel{
				ID:             PanelPercentiles,
				Title:          "Query Duration Percentiles",
				Kind:           dashboard.KindTimeseries,
				Grid:           dashboard.GridPos{X: 0, Y: 8, W: 12, H: 8},
				Unit:           dashUnitSeconds,
				Min:            dashboard.Float(0),
				Thresholds:     latencySteps,
				ThresholdLines: true,
				Legend:         dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}},
				Tooltip:        dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
				Queries:        percentileQueries,
			},
		},
		{
			About: fmt.Sprintf("Statements per second at or above the slow-query threshold (%s), one line per query type, from %s.",
				FormatSeconds(slow), middleware.MetricSlowQueriesTotal),
			Signals: []string{FamilySlowQueryRate, FamilySlowQueryRateByType},
			Panel: dashboard.Panel{
				ID:      PanelSlowRate,
				Title:   "Slow Query Rate by Type",
				Kind:    dashboard.KindTimeseries,
				Grid:    dashboard.GridPos{X: 12, Y: 8, W: 12, H: 8},
				Unit:    dashUnitOpsPerSec,
				Min:     dashboard.Float(0),
				Legend:  dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}},
				Tooltip: dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
				Queries: []dashboard.Query{{RefID: "A", Expr: q.rateByType(middleware.MetricSlowQueriesTotal), LegendFormat: q.legend(dashLegendQueryType())}},
			},
		},
		{
			About: fmt.Sprintf("Share of statements at or above the slow-query threshold (%s), over all selected query types. "+
				"Yellow from %s, the warning level; red from %s, the critical level. Shows no data when there is no traffic.",
				FormatSeconds(slow), FormatPercent(t.SlowRate.Warning.Threshold), FormatPercent(t.SlowRate.Critical.Threshold)),
			Panel: dashboard.Panel{
				ID:                PanelSlowPercentage,
				Title:             "Slow Query Percentage",
				Kind:              dashboard.KindGauge,
				Grid:              dashboard.GridPos{X: 18, Y: 0, W: 6, H: 8},
				Unit:              dashUnitPercentUnit,
				Decimals:          dashboard.Int(1),
				Min:               dashboard.Float(0),
				Max:               dashboard.Float(1),
				Thresholds:        slowRateSteps,
				ColorByThresholds: true,
				Reduce:            "lastNotNull",
				Queries:           []dashboard.Query{{RefID: "A", Expr: q.slowShare(false), LegendFormat: q.legend("slow"), Instant: true}},
			},
		},
		{
			About: fmt.Sprintf("Statements executed per query type over the dashboard's time range, from %s. "+
				"A shift in the mix often explains a change of the query rate or one slow query type.",
				middleware.MetricQueriesTotal),
			Signals: []string{FamilyQueryRate, FamilySlowQueryRateByType},
			Panel: dashboard.Panel{
				ID:       PanelDistribution,
				Title:    "Query Distribution",
				Kind:     dashboard.KindPiechart,
				Grid:     dashboard.GridPos{X: 0, Y: 16, W: 8, H: 9},
				Unit:     dashUnitShort,
				Decimals: dashboard.Int(0),
				Legend:   dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendRight, Values: []string{"value", "percent"}},
				Tooltip:  dashboard.Tooltip{Mode: dashboard.TooltipSingle, Sort: "none"},
				Reduce:   "lastNotNull",
				Queries:  []dashboard.Query{{RefID: "A", Expr: q.increaseByType(), LegendFormat: q.legend(dashLegendQueryType()), Instant: true}},
			},
		},
		{
			About: fmt.Sprintf("Per query type, now: statements per second, p99 duration and slow share. "+
				"p99 is yellow from %s and red from %s; the slow share is red from %s. Types without traffic show no p99 or slow share.",
				FormatSeconds(slow), FormatSeconds(t.LatencyP99.Warning.Threshold), FormatPercent(t.SlowRateByType.Threshold)),
			Signals: []string{FamilyQueryLatencyP99},
			Panel: dashboard.Panel{
				ID:    PanelStatisticsTable,
				Title: "Query Statistics Table",
				Kind:  dashboard.KindTable,
				Grid:  dashboard.GridPos{X: 8, Y: 16, W: 16, H: 9},
				Queries: []dashboard.Query{
					{RefID: "A", Expr: q.rateByType(middleware.MetricQueriesTotal), Instant: true, Format: dashboard.FormatTable},
					{RefID: "B", Expr: q.quantileByType(dashP99), Instant: true, Format: dashboard.FormatTable},
					{RefID: "C", Expr: q.slowShare(true), Instant: true, Format: dashboard.FormatTable},
				},
				// Instant queries in table format return one frame per
				// query with a Time column and a "Value #<refId>" column:
				// merge joins them on query_type into one row per type,
				// organize drops Time and names the columns.
				Transformations: statisticsTransformations(q.db),
				Overrides: []dashboard.FieldOverride{
					{Field: dashColumnQPS, Unit: dashUnitOpsPerSec, Decimals: dashboard.Int(2)},
					{Field: dashColumnP99, Unit: dashUnitSeconds, Decimals: dashboard.Int(3), Thresholds: latencySteps, CellColor: true},
					{Field: dashColumnSlow, Unit: dashUnitPercentUnit, Decimals: dashboard.Int(1), Thresholds: byTypeSteps, CellColor: true},
				},
			},
		},
		{
			About: fmt.Sprintf("Share of statements that returned an error, one line per query type and one over all selected types, from %s and %s. "+
				"The dashed line is the alert threshold (%s of all statements, for %s, with at least %s queries/s).",
				middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal,
				FormatPercent(t.ErrorRate.Threshold), t.ErrorRate.For, dashFloat(t.MinQueryRate)),
			Panel: dashboard.Panel{
				ID:             PanelErrorRate,
				Title:          "Query Error Rate by Type",
				Kind:           dashboard.KindTimeseries,
				Grid:           dashboard.GridPos{X: 0, Y: 25, W: 8, H: 8},
				Unit:           dashUnitPercentUnit,
				Min:            dashboard.Float(0),
				Thresholds:     errorSteps,
				ThresholdLines: true,
				Legend:         seriesLegend,
				Tooltip:        seriesTooltip,
				Queries: []dashboard.Query{
					{RefID: "A", Expr: q.share(middleware.MetricQueryErrorsTotal, true), LegendFormat: q.legend(dashLegendQueryType())},
					{RefID: "B", Expr: q.share(middleware.MetricQueryErrorsTotal, false), LegendFormat: q.legend("all")},
				},
			},
		},
		{
			About: fmt.Sprintf("Connections of each database/sql pool (%s label), summed over the selected instances: in use, idle, and the limit set by SetMaxOpenConns (0 = no limit), from %s, %s and %s.",
				middleware.LabelDBName, middleware.MetricPoolInUse, middleware.MetricPoolIdle, middleware.MetricPoolMaxOpen),
			Signals: []string{FamilyConnectionPool},
			Panel: dashboard.Panel{
				ID:       PanelPool,
				Title:    "Connection Pool",
				Kind:     dashboard.KindTimeseries,
				Grid:     dashboard.GridPos{X: 8, Y: 25, W: 8, H: 8},
				Unit:     dashUnitShort,
				Decimals: dashboard.Int(0),
				Min:      dashboard.Float(0),
				Legend:   seriesLegend,
				Tooltip:  seriesTooltip,
				Queries: []dashboard.Query{
					{RefID: "A", Expr: pool.sumByDB(middleware.MetricPoolInUse), LegendFormat: dashLegendDB("in use")},
					{RefID: "B", Expr: pool.sumByDB(middleware.MetricPoolIdle), LegendFormat: dashLegendDB("idle")},
					{RefID: "C", Expr: pool.sumByDB(middleware.MetricPoolMaxOpen), LegendFormat: dashLegendDB("max open")},
				},
			},
		},
		{
			About: fmt.Sprintf("Seconds spent waiting for a free connection per second, per pool (%s label), from %s, and the mean wait of one waiting call (with %s). "+
				"The dashed line is the alert threshold (%s per second, for %s).",
				middleware.LabelDBName, middleware.MetricPoolWaitDuration, middleware.MetricPoolWaitCount,
				FormatSeconds(t.PoolWait.Threshold), t.PoolWait.For),
			Panel: dashboard.Panel{
				ID:             PanelPoolWaits,
				Title:          "Connection Pool Waits",
				Kind:           dashboard.KindTimeseries,
				Grid:           dashboard.GridPos{X: 16, Y: 25, W: 8, H: 8},
				Unit:           dashUnitSeconds,
				Min:            dashboard.Float(0),
				Thresholds:     waitSteps,
				ThresholdLines: true,
				Legend:         seriesLegend,
				Tooltip:        seriesTooltip,
				Queries: []dashboard.Query{
					{RefID: "A", Expr: pool.rateByDB(middleware.MetricPoolWaitDuration), LegendFormat: dashLegendDB("waited per second")},
					{RefID: "B", Expr: pool.meanWait(), LegendFormat: dashLegendDB("mean wait")},
				},
			},
		},
	}
	return append(panels, statementPanels(c, panelsBottom(panels))...)
}

// statisticsTransformations merge the statistics table's three instant
// queries into one row per query type (per database and query type when
// db_name is kept): merge joins the frames on their label columns,
// organize drops Time and orders and names the columns.
func statisticsTransformations(db bool) []dashboard.Transformation {
	index := map[string]any{middleware.LabelQueryType: 0, "Value #A": 1, "Value #B": 2, "Value #C": 3}
	rename := map[string]any{
		middleware.LabelQueryType: dashColumnType, "Value #A": dashColumnQPS, "Value #B": dashColumnP99, "Value #C": dashColumnSlow,
	}
	if db {
		index = map[string]any{middleware.LabelDBName: 0, middleware.LabelQueryType: 1, "Value #A": 2, "Value #B": 3, "Value #C": 4}
		rename[middleware.LabelDBName] = dashColumnDatabase
	}
	return []dashboard.Transformation{
		{ID: "merge", Options: map[string]any{}},
		{ID: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"indexByName":   index,
			"renameByName":  rename,
		}},
	}
}

// dashboardOf is the dashboard of c with panels, whose descriptions name
// the alerts they show.
func dashboardOf(c Config, panels []Panel, alerts []Alert) dashboard.Definition {
	out := make([]dashboard.Panel, len(panels))
	for i, p := range panels {
		out[i] = p.Panel
		out[i].Description = p.describe(alerts)
	}
	return dashboard.Definition{
		UID:         c.Dashboard.UID,
		Title:       c.Dashboard.Title,
		Description: "Database query performance exported by the dbmonctl middleware: rate, latency, slow queries, errors and mix per query type, and the connection pool.",
		Tags:        append([]string(nil), c.Dashboard.Tags...),
		Refresh:     c.Dashboard.Refresh.String(),
		From:        "now-" + c.Dashboard.TimeFrom.String(),
		To:          "now",
		CursorSync:  dashboard.CursorSyncCrosshair,
		Datasource:  dashboard.DatasourceRef{Type: "prometheus", UID: "${" + VarDatasource + "}"},
		Variables:   dashboardVariables(c),
		Panels:      out,
	}
}

// describe is the panel's description: what it plots (About), then the
// alerts it shows, in rule order: those whose dashboard link opens it and
// those of the families it plots, each with its severity, for duration
// and summary.
func (p Panel) describe(alerts []Alert) string {
	var named []string
	for _, a := range alerts {
		if a.Panel == int(p.ID) || slices.Contains(p.Signals, a.Family) {
			named = append(named, fmt.Sprintf("%s (%s, for %s): %s", a.Name, a.Severity, a.For, a.Runbook.Summary))
		}
	}
	if len(named) == 0 {
		return p.About
	}
	return p.About + " Alerts: " + strings.Join(named, " ")
}

// dashboardVariables are the datasource picker, one variable per identity
// label (each filtered by the ones before it) and query_type.
func dashboardVariables(c Config) []dashboard.Variable {
	vars := []dashboard.Variable{{
		Kind:        dashboard.VariableDatasource,
		Name:        VarDatasource,
		Label:       "Data source",
		Description: "The Prometheus data source that scrapes the application's database metrics.",
		Query:       "prometheus",
		// Grafana stores a data source's UID as the value and its name as
		// the text.
		Default:     c.Dashboard.DatasourceUID,
		DefaultText: c.Dashboard.Datasource,
	}}
	var matchers []string
	if s := dashServiceSelector(c); s != "" {
		matchers = append(matchers, s)
	}
	source := middleware.MetricQueriesTotal
	if c.Fleet() {
		// The recorded rate carries the service label and exists for
		// every service that exports the metric, so its values are the
		// fleet's service names.
		source = newQuery(c).rateRecord(middleware.MetricQueriesTotal)
	}
	labelQuery := func(label string) string {
		if len(matchers) == 0 {
			return fmt.Sprintf("label_values(%s, %s)", source, label)
		}
		return fmt.Sprintf("label_values(%s{%s}, %s)", source, strings.Join(matchers, ", "), label)
	}
	if c.Fleet() {
		vars = append(vars, dashboard.Variable{
			Kind:        dashboard.VariableQuery,
			Name:        VarService,
			Label:       "Service",
			Description: "The services of the fleet to show; All sums the whole fleet.",
			Query:       labelQuery(LabelService),
			Multi:       true,
			IncludeAll:  true,
			AllValue:    ".*",
			Refresh:     dashboard.RefreshOnTimeRange,
			Sort:        dashboard.SortAlphabeticalAsc,
		})
		matchers = append(matchers, dashVarMatcher(LabelService, VarService))
	}
	for _, l := range c.Service.IdentityLabels {
		vars = append(vars, dashboard.Variable{
			Kind:        dashboard.VariableQuery,
			Name:        l,
			Label:       l,
			Description: fmt.Sprintf("The %s label of the monitored application; the alerts group by it.", l),
			Query:       labelQuery(l),
			Multi:       true,
			IncludeAll:  true,
			AllValue:    ".*",
			Refresh:     dashboard.RefreshOnTimeRange,
			Sort:        dashboard.SortAlphabeticalAsc,
		})
		matchers = append(matchers, dashVarMatcher(l, l))
	}
	if c.Middleware.DBNameLabel {
		vars = append(vars, dashboard.Variable{
			Kind:        dashboard.VariableQuery,
			Name:        VarDBName,
			Label:       "Database",
			Description: "The databases (db_name label, the application's WithDBName) to show; the alerts fire per database.",
			Query:       labelQuery(middleware.LabelDBName),
			Multi:       true,
			IncludeAll:  true,
			AllValue:    ".*",
			Refresh:     dashboard.RefreshOnTimeRange,
			Sort:        dashboard.SortAlphabeticalAsc,
		})
		matchers = append(matchers, dashVarMatcher(middleware.LabelDBName, VarDBName))
	}
	vars = append(vars, dashboard.Variable{
		Kind:        dashboard.VariableQuery,
		Name:        VarQueryType,
		Label:       "Query type",
		Description: "The statement types to show (" + dashQueryTypeList() + ").",
		Query:       labelQuery(middleware.LabelQueryType),
		Multi:       true,
		IncludeAll:  true,
		AllValue:    ".*",
		Refresh:     dashboard.RefreshOnTimeRange,
		Sort:        dashboard.SortAlphabeticalAsc,
	})
	return vars
}

// dashServiceSelector is Service.Selector without surrounding blanks or a
// trailing comma, ready to join with other matchers.
func dashServiceSelector(c Config) string {
	return strings.TrimSuffix(strings.TrimSpace(c.Service.Selector), ",")
}

// dashPoolSelector is the matcher list of the pool panels: the service
// selector and each identity variable, without query_type.
func dashPoolSelector(c Config) string {
	var m []string
	if s := dashServiceSelector(c); s != "" {
		m = append(m, s)
	}
	if c.Fleet() {
		m = append(m, dashVarMatcher(LabelService, VarService))
	}
	for _, l := range c.Service.IdentityLabels {
		m = append(m, dashVarMatcher(l, l))
	}
	if c.Middleware.DBNameLabel {
		m = append(m, dashVarMatcher(middleware.LabelDBName, VarDBName))
	}
	return strings.Join(m, ", ")
}

func dashVarMatcher(label, variable string) string {
	return fmt.Sprintf(`%s=~"$%s"`, label, variable)
}

// dashboardSelector is the label-matcher list every query of the query
// metrics uses: the pool panels' matchers and the query_type variable.
func dashboardSelector(c Config) string {
	m := dashVarMatcher(middleware.LabelQueryType, VarQueryType)
	if p := dashPoolSelector(c); p != "" {
		return p + ", " + m
	}
	return m
}

// dashQueries writes the panels' PromQL. Every range uses Grafana's
// $__rate_interval (at least four scrapes, whatever the zoom), except the
// distribution, which covers the whole time range with $__range.
//
// In a fleet (window set) they read the series the recording groups
// record per service instead: rates over the rule window, gauges summed
// per pool.
//
// With db set (middleware.db_name_label) every aggregation of the
// statement metrics keeps db_name, so each database is a line, a gauge or
// a row of its own.
type dashQueries struct {
	sel, window string
	db          bool
}

// sum is the aggregation of the statement metrics by ls, and by db_name
// first when they carry it: "sum by (db_name, query_type) ", or "sum"
// over everything.
func (q dashQueries) sum(ls ...string) string {
	if q.db {
		ls = append([]string{middleware.LabelDBName}, ls...)
	}
	if len(ls) == 0 {
		return "sum"
	}
	return fmt.Sprintf("sum by (%s) ", strings.Join(ls, ", "))
}

// on is the matching clause of a guard: on () or on (db_name).
func (q dashQueries) on(ls ...string) string {
	if q.db {
		ls = append([]string{middleware.LabelDBName}, ls...)
	}
	return "on (" + strings.Join(ls, ", ") + ")"
}

// legend prefixes a legend with the database when db_name is kept.
func (q dashQueries) legend(l string) string {
	if q.db {
		return "{{" + middleware.LabelDBName + "}} " + l
	}
	return l
}

func (q dashQueries) series(metric string) string {
	if q.window != "" {
		metric = recordName(metric, poolSumOp)
	}
	return fmt.Sprintf("%s{%s}", metric, q.sel)
}

func (q dashQueries) rate(metric string) string {
	if q.window != "" {
		return fmt.Sprintf("%s{%s}", recordName(metric, "rate"+q.window), q.sel)
	}
	return fmt.Sprintf("rate(%s[$__rate_interval])", q.series(metric))
}

func (q dashQueries) rateByType(metric string) string {
	return fmt.Sprintf("%s(%s)", q.sum(middleware.LabelQueryType), q.rate(metric))
}

func (q dashQueries) increaseByType() string {
	if q.window != "" {
		// The recorded rate's mean over the range times the range: the
		// statements executed, as increase() counts them.
		return fmt.Sprintf("%s(avg_over_time(%s[$__range])) * $__range_s", q.sum(middleware.LabelQueryType), q.rate(middleware.MetricQueriesTotal))
	}
	return fmt.Sprintf("%s(increase(%s[$__range]))", q.sum(middleware.LabelQueryType), q.series(middleware.MetricQueriesTotal))
}

// quantile is the phi-quantile over all selected series. With no traffic
// every bucket rate is 0 and histogram_quantile returns NaN; the "and"
// drops the sample instead, so the gauge shows "No data", not NaN.
func (q dashQueries) quantile(phi float64) string {
	return fmt.Sprintf("histogram_quantile(%s, %s(%s)) and %s (%s(%s) > 0)",
		dashFloat(phi), q.sum(middleware.LabelLE), q.rate(middleware.MetricQueryDuration+"_bucket"),
		q.on(), q.sum(), q.rate(middleware.MetricQueryDuration+"_count"))
}

// quantileByType is quantile per query type, guarded per type.
func (q dashQueries) quantileByType(phi float64) string {
	t := middleware.LabelQueryType
	return fmt.Sprintf("histogram_quantile(%s, %s(%s)) and %s (%s(%s) > 0)",
		dashFloat(phi), q.sum(t, middleware.LabelLE), q.rate(middleware.MetricQueryDuration+"_bucket"),
		q.on(t), q.sum(t), q.rate(middleware.MetricQueryDuration+"_count"))
}

// slowShare is slow statements / all statements (0–1), overall or per type.
func (q dashQueries) slowShare(byType bool) string {
	return q.share(middleware.MetricSlowQueriesTotal, byType)
}

// share is the statements counted by part / all statements (0–1), overall
// or per type. The "> 0" on the divisor drops zero traffic instead of
// dividing 0 by 0.
func (q dashQueries) share(part string, byType bool) string {
	agg := q.sum()
	if byType {
		agg = q.sum(middleware.LabelQueryType)
	}
	return fmt.Sprintf("%s(%s) / (%s(%s) > 0)",
		agg, q.rate(part), agg, q.rate(middleware.MetricQueriesTotal))
}

// sumByDB sums a pool gauge per pool over the selected instances.
func (q dashQueries) sumByDB(metric string) string {
	return fmt.Sprintf("sum by (%s) (%s)", middleware.LabelDBName, q.series(metric))
}

// rateByDB is the per-second rate of a pool counter, per pool.
func (q dashQueries) rateByDB(metric string) string {
	return fmt.Sprintf("sum by (%s) (%s)", middleware.LabelDBName, q.rate(metric))
}

// meanWait is the mean time one call waited for a connection, per pool;
// the "> 0" drops intervals without waits instead of dividing 0 by 0.
func (q dashQueries) meanWait() string {
	return fmt.Sprintf("%s / (%s > 0)", q.rateByDB(middleware.MetricPoolWaitDuration), q.rateByDB(middleware.MetricPoolWaitCount))
}

func dashLegendQueryType() string { return "{{" + middleware.LabelQueryType + "}}" }

// dashLegendDB names a pool series: "{{db_name}} in use".
func dashLegendDB(what string) string { return "{{" + middleware.LabelDBName + "}} " + what }

func dashQueryTypeList() string {
	s := make([]string, len(middleware.QueryTypes))
	for i, t := range middleware.QueryTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// dashRefID is Grafana's refId of the i-th query: A, B, C, …
func dashRefID(i int) string { return string(rune('A' + i)) }

func dashFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// dashPercent writes a 0–1 ratio as a percentage number without float noise
// (0.95 → "95", 0.075 → "7.5").
func dashPercent(v float64) string { return dashFloat(math.Round(v*1e6) / 1e4) }

// Provisioning is the Grafana file-provisioning provider of c's dashboard:
// it loads the JSON files under ProvisioningPath into c's folder.
func Provisioning(c Config) dashboard.ProvisioningOptions {
	return dashboard.ProvisioningOptions{
		Header: GeneratedHeader +
			"# Grafana dashboard provider for the dbmonctl dashboards, for deployments by\n" +
			"# files instead of `dbmonctl push`: put this file in Grafana's\n" +
			"# provisioning/dashboards directory and " + FileDashboard + ",\n" +
			"# " + FileOverview + " and " + FileAlertHistory + " in\n" +
			"# " + ProvisioningPath + ".\n",
		Name:      "dbmonctl",
		OrgID:     1,
		Folder:    c.Dashboard.FolderTitle,
		FolderUID: c.Dashboard.FolderUID,
		Path:      ProvisioningPath,
	}
}

// ValidateDashboard checks the dashboard of c: everything dashboard.Validate
// checks (queries against the middleware's contract, ids, grid, JSON round
// trip), DashboardThresholdFindings, and that dashboard.datasource_uid can
// be a data source UID. Paths start with "dashboard.".
func ValidateDashboard(c Config) []error { return validateDashboard(c, DashboardDefinition(c)) }

// validateDashboard checks d, the dashboard of c's pack.
func validateDashboard(c Config, d dashboard.Definition) []error {
	errs := dashboard.Validate(d, KnownSeries(c))
	errs = append(errs, DashboardThresholdFindings(c, d)...)
	if !grafanaUID.MatchString(c.Dashboard.DatasourceUID) {
		errs = append(errs, diag.New(CheckSetting, "datasource_uid",
			"%q is not a Grafana data source UID (1 to 40 letters, digits, - or _); copy it from the data source's URL in Grafana, …/connections/datasources/edit/<uid>", c.Dashboard.DatasourceUID))
	}
	for _, e := range errs {
		if d := diag.As(e); d.Path != "" {
			d.Path = "dashboard." + d.Path
		} else {
			d.Path = "dashboard"
		}
	}
	return errs
}

// grafanaUID is what Grafana accepts as a UID.
var grafanaUID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// KnownSeries is what a query of c's pack may name: the middleware's
// contract, the exporters' contracts of the server packs c switches on
// (and no others), plus the target labels c relies on, i.e. the identity labels and
// the labels Service.Selector matches (Prometheus attaches them to every
// scraped series, so the contract cannot list them).
func KnownSeries(c Config) promcheck.Known {
	k := promcheck.FromContract(append(middleware.ContractWith(c.ContractOptions()), serverDescs(c)...), knownTargetLabels(c)...)
	if c.Fleet() {
		return knownRecords(c, k)
	}
	return k
}

// knownTargetLabels are the identity labels and the labels
// Service.Selector matches.
func knownTargetLabels(c Config) []string {
	labels := append([]string(nil), c.Service.IdentityLabels...)
	if s := dashServiceSelector(c); s != "" {
		// An unparsable selector is reported by the config checks; here it
		// only contributes no labels.
		if ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + s + "}"); err == nil {
			for _, m := range ms {
				labels = append(labels, m.Name)
			}
		}
	}
	if c.Fleet() {
		for _, s := range c.Services {
			if ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + s.Selector + "}"); err == nil {
				for _, m := range ms {
					labels = append(labels, m.Name)
				}
			}
		}
	}
	return labels
}

// DashboardThresholdFindings proves that the panels showing an alerted
// signal colour it at the alert's thresholds, so that the dashboard turns
// red where the alert fires: the p99 gauge and the percentile lines at the
// slow threshold and the p99 warning, the slow-share gauge at the slow-rate
// warning and critical, the error and pool-wait lines at their alerts'
// thresholds.
func DashboardThresholdFindings(c Config, d dashboard.Definition) []error {
	t := c.Thresholds
	want := map[uint32][]float64{
		PanelLatencyP99:     {t.SlowQuery.Std().Seconds(), t.LatencyP99.Warning.Threshold},
		PanelPercentiles:    {t.SlowQuery.Std().Seconds(), t.LatencyP99.Warning.Threshold},
		PanelSlowPercentage: {t.SlowRate.Warning.Threshold, t.SlowRate.Critical.Threshold},
		PanelErrorRate:      {t.ErrorRate.Threshold},
		PanelPoolWaits:      {t.PoolWait.Threshold},
	}
	var errs []error
	found := map[uint32]bool{}
	for i, p := range d.Panels {
		w, ok := want[p.ID]
		if !ok {
			continue
		}
		found[p.ID] = true
		var got []float64
		for _, s := range p.Thresholds {
			if s.Value != nil {
				got = append(got, *s.Value)
			}
		}
		if !dashEqualFloats(got, w) {
			errs = append(errs, diag.New(CheckDashboardThresholds, fmt.Sprintf("panels[%d] %q.fieldConfig.defaults.thresholds", i, p.Title),
				"colour steps at %v differ from the alert thresholds %v", got, w))
		}
	}
	for _, id := range []uint32{PanelLatencyP99, PanelPercentiles, PanelSlowPercentage, PanelErrorRate, PanelPoolWaits} {
		if !found[id] {
			errs = append(errs, diag.New(CheckDashboardThresholds, "panels", "no panel with id %d shows its alert thresholds", id))
		}
	}
	return errs
}

func dashEqualFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// dashLatencySteps colour a duration: green below the slow threshold,
// amber from it, red from the p99 warning level.
func dashLatencySteps(c Config) []dashboard.Step {
	t := c.Thresholds
	return []dashboard.Step{
		{Value: nil, Color: dashColorOK},
		{Value: dashboard.Float(t.SlowQuery.Std().Seconds()), Color: dashColorWarning},
		{Value: dashboard.Float(t.LatencyP99.Warning.Threshold), Color: dashColorCritical},
	}
}
