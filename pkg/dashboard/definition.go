package dashboard

// GridColumns is the width of Grafana's dashboard grid: a panel's X+W must
// not exceed it.
const GridColumns = 24

// Definition is a dashboard in the terms this package builds: identity,
// time settings, template variables and panels. Zero values of optional
// fields get the defaults Build documents, never Grafana's implicit ones.
type Definition struct {
	// UID is the dashboard's stable identifier across Grafana instances
	// (Grafana accepts up to 40 characters).
	UID string
	// Title is the dashboard's title.
	Title string
	// Description is shown in the dashboard settings; optional.
	Description string
	// Tags are the dashboard's tags, in the order given.
	Tags []string
	// Refresh is the auto-refresh interval in Grafana notation ("5s", "1m");
	// empty turns auto-refresh off.
	Refresh string
	// From and To are the default time range in Grafana notation
	// ("now-1h", "now").
	From, To string
	// CursorSync says whether panels share the crosshair and tooltip.
	CursorSync CursorSync
	// Datasource is the data source every panel and query variable uses,
	// normally a reference to the datasource variable: {Type: "prometheus",
	// UID: "${datasource}"}.
	Datasource DatasourceRef
	// Variables are the template variables, in display order.
	Variables []Variable
	// Panels are the panels; Build keeps their order.
	Panels []Panel
	// Links are the dashboard's header links (Grafana's dashboard links),
	// in order, e.g. to the other dashboards generated with it.
	Links []DashboardLink
}

// DashboardLink is a link in the dashboard's header to a URL, normally
// another dashboard (/d/<uid>). It keeps the time range and passes the
// template variables' values, so the dashboard it opens shows the same
// data source, period and selection where it has the same variables.
type DashboardLink struct {
	// Title is the link's text.
	Title string
	// URL is what it opens; a Grafana-relative /d/<uid> for a dashboard.
	URL string
	// Tooltip is shown on hover; optional.
	Tooltip string
}

// CursorSync is Grafana's graphTooltip setting.
type CursorSync int

// Cursor sync modes, as Grafana numbers them.
const (
	CursorSyncOff       CursorSync = 0 // each panel has its own crosshair
	CursorSyncCrosshair CursorSync = 1 // shared crosshair
	CursorSyncTooltip   CursorSync = 2 // shared crosshair and tooltip
)

// DatasourceRef names a Grafana data source by plugin type and UID; the UID
// may be a variable reference such as "${datasource}".
type DatasourceRef struct {
	Type string
	UID  string
}

// VariableKind is the type of a template variable.
type VariableKind string

// The variable kinds this package builds.
const (
	// VariableDatasource picks a data source of one plugin type.
	VariableDatasource VariableKind = "datasource"
	// VariableQuery takes its values from a data source query, such as
	// Prometheus' label_values().
	VariableQuery VariableKind = "query"
)

// Variable is a dashboard template variable.
type Variable struct {
	// Kind is datasource or query.
	Kind VariableKind
	// Name is how queries refer to it: $Name or ${Name}.
	Name string
	// Label is the name shown in the variable bar; empty shows Name.
	Label string
	// Description is the tooltip of the variable.
	Description string
	// Query is, for a datasource variable, the plugin type it offers
	// ("prometheus"); for a query variable, the query that lists its values
	// (`label_values(db_queries_total, job)`).
	Query string
	// Default is the value selected when the dashboard opens: for a
	// datasource variable the data source's UID, which is what Grafana
	// stores as the variable's value and substitutes into ${name}; for a
	// query variable a value, or empty to select All when IncludeAll is set.
	Default string
	// DefaultText is the text shown for Default; empty shows Default. For a
	// datasource variable it is the data source's name: Grafana selects the
	// option whose UID is Default and, when there is none, the one whose
	// name is DefaultText.
	DefaultText string
	// Multi allows selecting several values.
	Multi bool
	// IncludeAll offers an "All" option.
	IncludeAll bool
	// AllValue is what All expands to in queries; empty lets Grafana
	// expand it to the alternation of every value. ".*" keeps queries
	// short and also matches values that appeared after the variable was
	// refreshed.
	AllValue string
	// Refresh says when a query variable reloads its values.
	Refresh VariableRefresh
	// Sort orders a query variable's values.
	Sort VariableSort
}

// VariableRefresh is when a query variable reloads its values.
type VariableRefresh int

// Refresh modes, as Grafana numbers them.
const (
	RefreshNever       VariableRefresh = 0
	RefreshOnLoad      VariableRefresh = 1
	RefreshOnTimeRange VariableRefresh = 2
)

// VariableSort orders a query variable's values.
type VariableSort int

// Sort orders, as Grafana numbers them (the subset this package uses).
const (
	SortDisabled        VariableSort = 0
	SortAlphabeticalAsc VariableSort = 1
)

// PanelKind is the visualisation of a panel (Grafana's panel plugin id).
type PanelKind string

// The panel kinds this package builds.
const (
	KindTimeseries PanelKind = "timeseries"
	KindGauge      PanelKind = "gauge"
	KindPiechart   PanelKind = "piechart"
	KindTable      PanelKind = "table"
	// KindStateTimeline draws each series as a band coloured by its value
	// over time (e.g. an alert's firing periods).
	KindStateTimeline PanelKind = "state-timeline"
)

// Panel is one visualisation.
type Panel struct {
	// ID is unique within the dashboard; links such as ?viewPanel=<id> use it.
	ID uint32
	// Title is the panel's title.
	Title string
	// Description is the panel's info tooltip: what it shows and which
	// alerts relate to it.
	Description string
	// Kind is the visualisation.
	Kind PanelKind
	// Grid is the panel's position on the 24-column grid.
	Grid GridPos
	// Unit is Grafana's unit id for the values ("s", "ops", "percentunit").
	Unit string
	// Decimals fixes the number of decimals shown; nil lets Grafana choose.
	Decimals *int
	// Min and Max bound the value axis or gauge; nil lets Grafana choose.
	Min, Max *float64
	// Thresholds are the colour steps, ascending; the first is the base
	// step and has a nil Value. Empty gives a single green base step.
	Thresholds []Step
	// ColorByThresholds colours values by Thresholds instead of the
	// classic palette (gauges).
	ColorByThresholds bool
	// ThresholdLines draws Thresholds as dashed lines on a time series, so
	// a graph shows where the alerts start.
	ThresholdLines bool
	// Legend configures the legend of time series and pie charts.
	Legend Legend
	// Tooltip configures the hover tooltip of time series and pie charts.
	Tooltip Tooltip
	// Reduce is the calculation a gauge or pie chart reduces each series
	// to ("lastNotNull"); empty means lastNotNull.
	Reduce string
	// Queries are the panel's queries (Grafana's targets).
	Queries []Query
	// Transformations run on the query results before display, in order.
	Transformations []Transformation
	// Overrides set per-field (per-column) options.
	Overrides []FieldOverride
}

// GridPos is a position on the dashboard grid: X and W in columns (of
// GridColumns), Y and H in rows of 30 pixels.
type GridPos struct {
	X, Y, W, H uint32
}

// Step is one threshold step: from Value upwards the colour is Color. The
// base step has a nil Value (from minus infinity).
type Step struct {
	Value *float64
	Color string
}

// LegendMode is how a legend is drawn.
type LegendMode string

// Legend modes.
const (
	LegendList   LegendMode = "list"
	LegendTable  LegendMode = "table"
	LegendHidden LegendMode = "hidden"
)

// LegendPlacement is where a legend is drawn.
type LegendPlacement string

// Legend placements.
const (
	LegendBottom LegendPlacement = "bottom"
	LegendRight  LegendPlacement = "right"
)

// Legend configures a legend. The zero value is a visible list at the bottom.
type Legend struct {
	Mode      LegendMode
	Placement LegendPlacement
	// Calcs are the reductions shown per series in the legend ("mean", "max").
	Calcs []string
	// Values are the pie chart legend's per-slice values ("value", "percent").
	Values []string
}

// TooltipMode is how many series the hover tooltip shows.
type TooltipMode string

// Tooltip modes.
const (
	TooltipSingle TooltipMode = "single"
	TooltipMulti  TooltipMode = "multi"
	TooltipNone   TooltipMode = "none"
)

// Tooltip configures the hover tooltip. The zero value shows every series,
// sorted by value descending, so the largest contributor comes first.
type Tooltip struct {
	Mode TooltipMode
	// Sort is "asc", "desc" or "none".
	Sort string
}

// QueryFormat is the shape a Prometheus query's result is returned in.
type QueryFormat string

// Query formats.
const (
	FormatTimeSeries QueryFormat = "time_series"
	FormatTable      QueryFormat = "table"
)

// Query is one Prometheus query of a panel.
type Query struct {
	// RefID names the query within the panel ("A", "B"); transformations
	// and column names refer to it.
	RefID string
	// Expr is the PromQL expression; it may use template variables.
	Expr string
	// LegendFormat names each series ("{{query_type}}", "p99"); empty
	// leaves it out.
	LegendFormat string
	// Instant evaluates the query at the end of the range only (tables,
	// pie charts); otherwise it is a range query.
	Instant bool
	// Format is time_series or table; empty means time_series.
	Format QueryFormat
}

// Transformation is a Grafana data transformation (its id and options, as
// in the JSON model).
type Transformation struct {
	ID      string
	Options map[string]any
}

// FieldOverride sets options on the fields (table columns, series) whose
// name is Field, as displayed after transformations.
type FieldOverride struct {
	Field string
	// Unit is Grafana's unit id; empty leaves the panel's.
	Unit string
	// Decimals fixes the number of decimals; nil leaves the panel's.
	Decimals *int
	// Thresholds and ColorByThresholds colour the field by its own steps
	// (e.g. a latency column) when Thresholds is not empty.
	Thresholds []Step
	// CellColor, for a table, colours the cell background by Thresholds.
	CellColor bool
	// Links are data links on the field's values (a table cell opens
	// another dashboard); URLs may use Grafana's data-link variables
	// such as ${__value.raw} and ${__url_time_range}.
	Links []Link
}

// Link is a data link: a title and the URL it opens.
type Link struct {
	Title string
	URL   string
}

// Float returns a pointer to v, for the optional numbers of a Definition.
func Float(v float64) *float64 { return &v }

// Int returns a pointer to v, for the optional numbers of a Definition.
func Int(v int) *int { return &v }
