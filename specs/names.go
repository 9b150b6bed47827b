package specs

// Alert names: the twelve alerting rules of the pack. Routing, inhibitions,
// runbooks and tests refer to alerts through these constants.
const (
	AlertSlowQueryRateCritical   = "SlowQueryRateCritical"
	AlertSlowQueryRateWarning    = "SlowQueryRateWarning"
	AlertSlowQueryRateInfo       = "SlowQueryRateInfo"
	AlertQueryLatencyP99Critical = "QueryLatencyP99Critical"
	AlertQueryLatencyP99Warning  = "QueryLatencyP99Warning"
	AlertQueryRateSpike          = "QueryRateSpike"
	AlertQueryTrafficDrop        = "QueryTrafficDrop"
	AlertQueryMetricsAbsent      = "QueryMetricsAbsent"
	AlertQueryErrorRateHigh      = "QueryErrorRateHigh"
	AlertSlowQueryRateByType     = "SlowQueryRateByType"
	AlertConnectionPoolSaturated = "ConnectionPoolSaturated"
	AlertConnectionPoolWaits     = "ConnectionPoolWaits"
)

// AlertNames lists the twelve alerts in a stable order.
var AlertNames = []string{
	AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo,
	AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning,
	AlertQueryRateSpike, AlertQueryTrafficDrop, AlertQueryMetricsAbsent,
	AlertQueryErrorRateHigh, AlertSlowQueryRateByType,
	AlertConnectionPoolSaturated, AlertConnectionPoolWaits,
}

// Labels every alert rule carries, besides the identity labels it
// aggregates by.
const (
	// LabelSeverity is critical, warning or info; routing matches on it.
	LabelSeverity = "severity"
	// LabelTeam is Alerting.Team.
	LabelTeam = "team"
	// LabelFamily names the signal an alert watches (e.g. slow_query_rate);
	// the levels of one signal share it, so a critical alert can inhibit its
	// warning twin with equal: [family, identity labels...].
	LabelFamily = "family"
)

// Severities, most urgent first.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Severities lists the severity values, most urgent first.
var Severities = []string{SeverityCritical, SeverityWarning, SeverityInfo}

// Families: the values of LabelFamily.
const (
	FamilySlowQueryRate       = "slow_query_rate"
	FamilySlowQueryRateByType = "slow_query_rate_by_type"
	FamilyQueryLatencyP99     = "query_latency_p99"
	FamilyQueryRate           = "query_rate"
	FamilyQueryErrors         = "query_errors"
	FamilyQueryMetrics        = "query_metrics"
	FamilyConnectionPool      = "connection_pool"
)

// Annotations every alert rule carries.
const (
	AnnotationSummary      = "summary"
	AnnotationDescription  = "description"
	AnnotationRunbookURL   = "runbook_url"
	AnnotationDashboardURL = "dashboard_url"
)

// Dashboard panel ids; alert dashboard links open the panel that shows
// their signal.
const (
	PanelQueryRate       = 1  // Query Rate by Type
	PanelLatencyP99      = 2  // Query Duration p99
	PanelPercentiles     = 3  // Query Duration Percentiles
	PanelSlowRate        = 4  // Slow Query Rate by Type
	PanelSlowPercentage  = 5  // Slow Query Percentage
	PanelDistribution    = 6  // Query Distribution
	PanelStatisticsTable = 7  // Query Statistics Table
	PanelErrorRate       = 8  // Query Error Rate by Type
	PanelPool            = 9  // Connection Pool
	PanelPoolWaits       = 10 // Connection Pool Waits
)
