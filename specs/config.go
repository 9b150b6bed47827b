package specs

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Config is the one typed definition every artifact reads: the alert rules,
// their tests, the dashboard, the Alertmanager tree and the Prometheus
// snippet. A user config file (dbmonctl.yaml) overrides any field of
// Default(); the YAML keys are the yaml tags below.
type Config struct {
	// Service identifies the monitored application in PromQL and routing.
	Service Service `yaml:"service"`
	// Middleware says which opt-in labels the application's middleware
	// puts on the statement metrics, so the alerts, panels and checks use
	// them: set it as the application wraps its connector.
	Middleware MiddlewareLabels `yaml:"middleware"`
	// Thresholds holds every number an alert or panel compares against.
	Thresholds Thresholds `yaml:"thresholds"`
	// Alerting holds the labels and links every alert rule carries.
	Alerting Alerting `yaml:"alerting"`
	// Dashboard holds the Grafana dashboard's identity and placement.
	Dashboard Dashboard `yaml:"dashboard"`
	// Prometheus holds the scrape and evaluation settings of the generated
	// prometheus.yml snippet.
	Prometheus Prometheus `yaml:"prometheus"`
	// Alertmanager holds the routing timings and the receivers' settings.
	Alertmanager Alertmanager `yaml:"alertmanager"`
	// Services, when present, makes the pack monitor a fleet: one entry
	// per service, each with its own selector, team and threshold
	// overrides. Empty means the one service of service.selector.
	Services []FleetService `yaml:"services"`
	// Teams are the receivers of each team named by services[].team. A
	// config file's team block is merged over the alertmanager receivers,
	// so a team may set only its channel or key file; the alertmanager
	// receivers themselves are the default team, alerting.team.
	Teams map[string]Team `yaml:"teams"`
	// ServerPacks switches on the optional server packs, alerts and panels
	// over the standard exporters' metrics: postgresql (postgres_exporter)
	// and mysql (mysqld_exporter), either or both. Their scrape jobs and
	// thresholds are under server. Empty: the middleware's signals only.
	ServerPacks []string `yaml:"server_packs"`
	// Server holds the server packs' exporter scrape jobs and thresholds;
	// a pack's settings are read only when server_packs switches it on.
	Server ServerSettings `yaml:"server"`
	// PrometheusOperator places the resources generate --target
	// prometheus-operator writes; the --namespace, --rule-label and
	// --secret-name flags override it.
	PrometheusOperator PrometheusOperator `yaml:"prometheus_operator"`
	// Limits are the rule engine's and the metrics store's limits that
	// validate compares the pack with (warnings): Mimir's defaults unless
	// your tenant's limits differ. 0 switches a check off.
	Limits Limits `yaml:"limits"`
}

// MiddlewareLabels are the opt-in labels of the middleware's statement
// metrics (middleware.ContractOptions). They are off by default, and the
// pack is then the same as without them.
type MiddlewareLabels struct {
	// DBNameLabel: the statement metrics carry db_name (the application
	// wraps each database with WithDBName). The alerts, recording rules
	// and panels then keep db_name, so two databases of one application
	// alert and plot separately, and the dashboard gets a db_name variable.
	DBNameLabel bool `yaml:"db_name_label"`
	// StatementLabel: the statement metrics carry statement (the
	// application wraps with WithStatementLabel), and the dashboard gets
	// the "Slowest Statements" table and the "Statement Names Folded" panel.
	StatementLabel bool `yaml:"statement_label"`
	// MaxStatements is the application's WithStatementLabel(max): the most
	// distinct statement names, besides _unnamed and _overflow. validate
	// projects the active series from it. Only with statement_label.
	MaxStatements int `yaml:"max_statements"`
}

// ContractOptions are the middleware contract options of c's labels.
func (c Config) ContractOptions() middleware.ContractOptions {
	return middleware.ContractOptions{DBName: c.Middleware.DBNameLabel, Statement: c.Middleware.StatementLabel}
}

// PrometheusOperator places the PrometheusRule and AlertmanagerConfig
// resources of the prometheus-operator target.
type PrometheusOperator struct {
	// Namespace is the namespace of both resources, and the value of the
	// namespace label every alert carries (the operator's OnNamespace
	// matcher strategy routes on it).
	Namespace string `yaml:"namespace"`
	// Labels are added to both resources' metadata: what the Prometheus
	// ruleSelector and alertmanagerConfigSelector select on
	// (kube-prometheus-stack: release: <Helm release>).
	Labels map[string]string `yaml:"labels"`
	// SecretName is the Kubernetes Secret the receivers read their
	// secrets from, one key per secret file.
	SecretName string `yaml:"secret_name"`
}

// Limits are the per-tenant limits of the engine that evaluates the rules
// and stores the series (Mimir's and Cortex's names in parentheses).
type Limits struct {
	// RulesPerGroup is the most rules one rule group may hold
	// (ruler_max_rules_per_rule_group).
	RulesPerGroup int `yaml:"rules_per_group"`
	// Groups is the most rule groups one tenant may have
	// (ruler_max_rule_groups_per_tenant).
	Groups int `yaml:"groups"`
	// Series is the most active series one tenant may have
	// (max_global_series_per_user).
	Series int `yaml:"series"`
	// SeriesPerMetric is the most active series of one metric name
	// (max_global_series_per_metric).
	SeriesPerMetric int `yaml:"series_per_metric"`
}

// FleetService is one monitored service of a fleet.
type FleetService struct {
	// Name is the value of the service label on every alert of this
	// service: letters, digits, _ and -.
	Name string `yaml:"name"`
	// Selector is a PromQL label-matcher list (without braces) selecting
	// this service's series and no other service's, e.g. job="orders-api".
	Selector string `yaml:"selector"`
	// Team is the value of the team label on every alert of this service,
	// and the teams entry it is routed to; empty means alerting.team, the
	// default team.
	Team string `yaml:"team"`
	// Thresholds overrides the threshold values of levels for this
	// service; same keys as the top-level thresholds, only the threshold
	// of a level may differ (for durations, windows and buckets are shared
	// by the fleet's rules). A config file's block is merged over the
	// top-level thresholds; nil keeps them.
	Thresholds *Thresholds `yaml:"thresholds"`
	// Instances is how many processes of this service expose the
	// middleware's metrics (each with one *sql.DB); validate projects the
	// service's active series from it. 0 means 1.
	Instances int `yaml:"instances"`
}

// Team is where the alerts of one team go: the same integrations as the
// alertmanager block.
type Team struct {
	// PagerDuty, Slack and Email configure the team's integrations.
	PagerDuty PagerDuty `yaml:"pagerduty"`
	Slack     Slack     `yaml:"slack"`
	Email     Email     `yaml:"email"`
}

// Fleet reports whether c describes several services (services: is set).
func (c Config) Fleet() bool { return len(c.Services) > 0 }

// ServiceThresholds returns the thresholds of service i: its overrides,
// or the top-level thresholds.
func (c Config) ServiceThresholds(i int) Thresholds {
	if t := c.Services[i].Thresholds; t != nil {
		return *t
	}
	return c.Thresholds
}

// ServiceTeam returns the team of service i: its own, or alerting.team.
func (c Config) ServiceTeam(i int) string {
	if t := strings.TrimSpace(c.Services[i].Team); t != "" {
		return t
	}
	return c.Alerting.Team
}

// Service identifies the monitored application.
type Service struct {
	// IdentityLabels are the target labels that identify one application
	// (normally "job"). Alert expressions aggregate by them, Alertmanager
	// groups and inhibits on them, and the dashboard has a variable for each.
	IdentityLabels []string `yaml:"identity_labels"`
	// Selector is a PromQL label-matcher list (without braces) added to every
	// selector of every rule, e.g. `job="api"`. Empty selects every target.
	// Equality matchers also name the series absent() reports.
	Selector string `yaml:"selector"`
}

// Level is one alerting level of a signal: the value it compares against
// and how long the condition must hold.
type Level struct {
	// Threshold is the value the signal must exceed (or, for a drop, fall
	// below); its unit is the signal's (ratio 0–1, seconds, or factor).
	Threshold float64 `yaml:"threshold"`
	// For is how long the condition must hold before the alert fires.
	For Duration `yaml:"for"`
}

// Thresholds holds every number an alert or panel uses. Latency thresholds
// are in seconds and must be bucket bounds of Buckets; ratios are 0–1.
type Thresholds struct {
	// SlowQuery is the middleware's slow threshold: a statement at or above it
	// is counted in db_slow_queries_total and logged. It must be a bucket bound.
	SlowQuery Duration `yaml:"slow_query"`
	// Buckets are the histogram bounds of db_query_duration_seconds, in
	// seconds, ascending; they must contain every latency threshold.
	Buckets []float64 `yaml:"buckets"`
	// RateWindow is the range of every rate() in rules (≥ 4× the scrape interval).
	RateWindow Duration `yaml:"rate_window"`
	// MinQueryRate is the minimum traffic, in queries per second over
	// RateWindow, below which ratio and percentile alerts do not evaluate:
	// a handful of queries is not a trend, and zero traffic never fires.
	MinQueryRate float64 `yaml:"min_query_rate"`
	// SlowRate is the share of queries (0–1) at or above SlowQuery.
	SlowRate SlowRateLevels `yaml:"slow_rate"`
	// SlowRateByType is the share of slow queries within one query type
	// (0–1), for a slowdown hidden in the aggregate by a dominant type.
	SlowRateByType Level `yaml:"slow_rate_by_type"`
	// LatencyP99 is the 99th percentile of query duration, in seconds.
	LatencyP99 LatencyLevels `yaml:"latency_p99"`
	// ErrorRate is the share of queries (0–1) that returned an error.
	ErrorRate Level `yaml:"error_rate"`
	// RateSpike fires when the query rate exceeds Threshold × its baseline.
	RateSpike Level `yaml:"rate_spike"`
	// TrafficDrop fires when the query rate falls below Threshold × its baseline.
	TrafficDrop Level `yaml:"traffic_drop"`
	// BaselineWindow is the range of the baseline rate that spikes and drops
	// compare against; it ends RateWindow ago so the anomaly does not
	// contaminate its own baseline.
	BaselineWindow Duration `yaml:"baseline_window"`
	// PoolSaturation is the share (0–1) of the pool's maximum open
	// connections that are in use; pools without a maximum never fire.
	PoolSaturation Level `yaml:"pool_saturation"`
	// PoolWait is the time goroutines spent waiting for a connection, in
	// seconds per second, summed over the pool.
	PoolWait Level `yaml:"pool_wait"`
	// MetricsAbsent is how long the query metrics may be missing before the
	// dead man's switch fires (its Threshold is unused).
	MetricsAbsent Level `yaml:"metrics_absent"`
}

// SlowRateLevels are the three levels of the slow-query share.
type SlowRateLevels struct {
	Info     Level `yaml:"info"`
	Warning  Level `yaml:"warning"`
	Critical Level `yaml:"critical"`
}

// LatencyLevels are the two levels of the p99 latency.
type LatencyLevels struct {
	Warning  Level `yaml:"warning"`
	Critical Level `yaml:"critical"`
}

// Alerting holds what every alert rule carries besides its condition.
type Alerting struct {
	// Team is the value of the team label on every rule.
	Team string `yaml:"team"`
	// GroupName is the Prometheus rule group name.
	GroupName string `yaml:"group_name"`
	// EvaluationInterval is the rule group's evaluation interval.
	EvaluationInterval Duration `yaml:"evaluation_interval"`
	// RunbookBaseURL is where the generated runbooks are published; an
	// alert's runbook_url is RunbookBaseURL/<AlertName>.md.
	RunbookBaseURL string `yaml:"runbook_base_url"`
	// GrafanaURL is the Grafana server's base URL, used for the
	// dashboard_url annotation (GrafanaURL/d/<uid>?viewPanel=<id>).
	GrafanaURL string `yaml:"grafana_url"`
}

// Dashboard holds the Grafana dashboard's identity and placement.
type Dashboard struct {
	// UID is the dashboard's stable identifier in Grafana and in links.
	UID string `yaml:"uid"`
	// Title is the dashboard's title.
	Title string `yaml:"title"`
	// Tags are the dashboard's tags.
	Tags []string `yaml:"tags"`
	// FolderUID is the folder push creates and saves into.
	FolderUID string `yaml:"folder_uid"`
	// FolderTitle is the title of that folder when push creates it.
	FolderTitle string `yaml:"folder_title"`
	// Datasource is the name of the Prometheus data source the dashboard
	// selects when it opens.
	Datasource string `yaml:"datasource"`
	// DatasourceUID is that data source's UID, which Grafana stores as the
	// datasource variable's value; Grafana selects by UID first and falls
	// back to the name. Set both when you change the data source.
	DatasourceUID string `yaml:"datasource_uid"`
	// Refresh is the dashboard's auto-refresh interval.
	Refresh Duration `yaml:"refresh"`
	// TimeFrom is the start of the default time range, relative to now.
	TimeFrom Duration `yaml:"time_from"`
}

// Prometheus holds the generated prometheus.yml snippet's settings.
type Prometheus struct {
	// JobName is the scrape job of the application's /metrics.
	JobName string `yaml:"job_name"`
	// Targets are the host:port addresses of the application's /metrics.
	Targets []string `yaml:"targets"`
	// MetricsPath is the HTTP path the middleware's metrics are served on.
	MetricsPath string `yaml:"metrics_path"`
	// ScrapeInterval is how often Prometheus scrapes the targets.
	ScrapeInterval Duration `yaml:"scrape_interval"`
	// AlertmanagerTargets are the host:port addresses of Alertmanager.
	AlertmanagerTargets []string `yaml:"alertmanager_targets"`
}

// Alertmanager holds the routing tree's timings and the receivers' settings.
type Alertmanager struct {
	// ResolveTimeout is Alertmanager's global resolve_timeout.
	ResolveTimeout Duration `yaml:"resolve_timeout"`
	// Critical, Warning, Info and Default are the timings of the route of
	// each severity and of the root (unmatched) route.
	Critical RouteTiming `yaml:"critical"`
	Warning  RouteTiming `yaml:"warning"`
	Info     RouteTiming `yaml:"info"`
	Default  RouteTiming `yaml:"default"`
	// PagerDuty, Slack and Email configure the three integrations.
	PagerDuty PagerDuty `yaml:"pagerduty"`
	Slack     Slack     `yaml:"slack"`
	Email     Email     `yaml:"email"`
}

// RouteTiming are the grouping timings of one route.
type RouteTiming struct {
	GroupWait      Duration `yaml:"group_wait"`
	GroupInterval  Duration `yaml:"group_interval"`
	RepeatInterval Duration `yaml:"repeat_interval"`
}

// PagerDuty configures the PagerDuty Events API v2 integration.
type PagerDuty struct {
	// RoutingKeyFile is the file Alertmanager reads the integration key from.
	RoutingKeyFile string `yaml:"routing_key_file"`
	// URL is the Events API endpoint; empty means Alertmanager's default.
	URL string `yaml:"url"`
	// RoutingKey is an inline key. It exists only so that validation can
	// reject it with a clear message: secrets never enter generated files.
	RoutingKey string `yaml:"routing_key,omitempty"`
}

// Slack configures the Slack incoming-webhook integration.
type Slack struct {
	// APIURLFile is the file Alertmanager reads the webhook URL from.
	APIURLFile string `yaml:"api_url_file"`
	// APIURL is an inline webhook URL (it embeds a token). It exists only so
	// that validation can reject it with a clear message.
	APIURL string `yaml:"api_url,omitempty"`
	// CriticalChannel, WarningChannel and InfoChannel are the channels of
	// each severity; DefaultChannel receives unmatched alerts.
	CriticalChannel string `yaml:"critical_channel"`
	WarningChannel  string `yaml:"warning_channel"`
	InfoChannel     string `yaml:"info_channel"`
	DefaultChannel  string `yaml:"default_channel"`
}

// Email configures the SMTP integration.
type Email struct {
	// To is the address critical and warning alerts are mailed to.
	To string `yaml:"to"`
	// From is the sender address.
	From string `yaml:"from"`
	// Smarthost is the SMTP server, host:port.
	Smarthost string `yaml:"smarthost"`
	// AuthUsername is the SMTP login; empty disables authentication.
	AuthUsername string `yaml:"auth_username"`
	// AuthPasswordFile is the file Alertmanager reads the SMTP password from.
	AuthPasswordFile string `yaml:"auth_password_file"`
	// AuthPassword is an inline password. It exists only so that validation
	// can reject it with a clear message.
	AuthPassword string `yaml:"auth_password,omitempty"`
	// RequireTLS makes Alertmanager insist on STARTTLS.
	RequireTLS bool `yaml:"require_tls"`
}

// Default returns the embedded default spec: what `dbmonctl generate` uses
// when no config file is given. Every default lives here.
func Default() Config {
	return Config{
		Service: Service{
			IdentityLabels: []string{"job"},
			Selector:       "",
		},
		Middleware: MiddlewareLabels{MaxStatements: middleware.DefaultMaxStatements},
		Thresholds: Thresholds{
			SlowQuery:    Duration(middleware.DefaultSlowThreshold),
			Buckets:      middleware.DefaultBuckets(),
			RateWindow:   Duration(5 * time.Minute),
			MinQueryRate: 0.1,
			SlowRate: SlowRateLevels{
				Info:     Level{Threshold: 0.02, For: Duration(30 * time.Minute)},
				Warning:  Level{Threshold: 0.05, For: Duration(10 * time.Minute)},
				Critical: Level{Threshold: 0.10, For: Duration(5 * time.Minute)},
			},
			SlowRateByType: Level{Threshold: 0.25, For: Duration(10 * time.Minute)},
			LatencyP99: LatencyLevels{
				Warning:  Level{Threshold: 0.5, For: Duration(15 * time.Minute)},
				Critical: Level{Threshold: 1, For: Duration(5 * time.Minute)},
			},
			ErrorRate:      Level{Threshold: 0.05, For: Duration(5 * time.Minute)},
			RateSpike:      Level{Threshold: 2, For: Duration(10 * time.Minute)},
			TrafficDrop:    Level{Threshold: 0.5, For: Duration(10 * time.Minute)},
			BaselineWindow: Duration(time.Hour),
			PoolSaturation: Level{Threshold: 0.9, For: Duration(10 * time.Minute)},
			PoolWait:       Level{Threshold: 0.1, For: Duration(10 * time.Minute)},
			MetricsAbsent:  Level{For: Duration(5 * time.Minute)},
		},
		Alerting: Alerting{
			Team:               "database",
			GroupName:          "dbmonctl-database-queries",
			EvaluationInterval: Duration(30 * time.Second),
			RunbookBaseURL:     "https://github.com/dbmonctl/dbmonctl/blob/main/generated/runbooks",
			GrafanaURL:         "http://localhost:3000",
		},
		Dashboard: Dashboard{
			UID:         "dbmon-queries",
			Title:       "Database Queries",
			Tags:        []string{"database", "dbmonctl"},
			FolderUID:   "dbmonctl",
			FolderTitle: "Database",
			Datasource:  "Prometheus",
			// The UID kube-prometheus-stack and most provisioning
			// examples give the Prometheus data source.
			DatasourceUID: "prometheus",
			Refresh:       Duration(5 * time.Second),
			TimeFrom:      Duration(time.Hour),
		},
		Prometheus: Prometheus{
			JobName:             "app",
			Targets:             []string{"localhost:8080"},
			MetricsPath:         "/metrics",
			ScrapeInterval:      Duration(15 * time.Second),
			AlertmanagerTargets: []string{"localhost:9093"},
		},
		Alertmanager: Alertmanager{
			ResolveTimeout: Duration(5 * time.Minute),
			Critical:       RouteTiming{Duration(10 * time.Second), Duration(1 * time.Minute), Duration(1 * time.Hour)},
			Warning:        RouteTiming{Duration(30 * time.Second), Duration(5 * time.Minute), Duration(4 * time.Hour)},
			Info:           RouteTiming{Duration(1 * time.Minute), Duration(10 * time.Minute), Duration(24 * time.Hour)},
			Default:        RouteTiming{Duration(30 * time.Second), Duration(5 * time.Minute), Duration(4 * time.Hour)},
			PagerDuty: PagerDuty{
				RoutingKeyFile: "/etc/alertmanager/secrets/pagerduty_routing_key",
			},
			Slack: Slack{
				APIURLFile:      "/etc/alertmanager/secrets/slack_webhook_url",
				CriticalChannel: "#database-alerts",
				WarningChannel:  "#database-alerts",
				InfoChannel:     "#database-info",
				DefaultChannel:  "#database-alerts",
			},
			Email: Email{
				To:               "database-oncall@example.com",
				From:             "alertmanager@example.com",
				Smarthost:        "smtp.example.com:587",
				AuthUsername:     "alertmanager@example.com",
				AuthPasswordFile: "/etc/alertmanager/secrets/smtp_password",
				RequireTLS:       true,
			},
		},
		Server: defaultServerSettings(),
		PrometheusOperator: PrometheusOperator{
			Namespace:  "monitoring",
			SecretName: "dbmonctl-alertmanager",
		},
		// Mimir's default per-tenant limits.
		Limits: Limits{RulesPerGroup: 20, Groups: 70, Series: 150000, SeriesPerMetric: 20000},
	}
}

// RunbookURL is the runbook_url annotation of an alert.
func (c Config) RunbookURL(alert string) string {
	return strings.TrimRight(c.Alerting.RunbookBaseURL, "/") + "/" + alert + ".md"
}

// DashboardURL is the dashboard_url annotation of an alert: a link to the
// generated dashboard, opened on the panel that shows the signal when
// panelID is not zero.
func (c Config) DashboardURL(panelID int) string {
	u := strings.TrimRight(c.Alerting.GrafanaURL, "/") + "/d/" + url.PathEscape(c.Dashboard.UID)
	if panelID != 0 {
		u += fmt.Sprintf("?viewPanel=%d", panelID)
	}
	return u
}

// Duration is a time.Duration written in Prometheus' notation ("30s", "5m",
// "1h30m") in YAML, PromQL and generated files.
type Duration time.Duration

// String formats d the way Prometheus does ("5m", "1h30m", "0s").
func (d Duration) String() string { return model.Duration(d).String() }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalYAML writes d in Prometheus notation.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalText parses Prometheus notation; YAML decoding uses it.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := model.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d in Prometheus notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
