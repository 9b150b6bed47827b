package specs

import (
	"fmt"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Check IDs of the findings about the config's own values.
const (
	CheckThresholdOrder = "threshold-order"
	CheckForOrder       = "for-order"
	CheckBucketBound    = "bucket-bound"
	CheckBuckets        = "buckets"
	CheckRange          = "range"
	CheckRateWindow     = "rate-window"
	CheckIdentity       = "identity"
	CheckSetting        = "setting"
	CheckSelectorScrape = "selector-scrape"
)

// validateConfig checks the Config's values on their own: orderings,
// ranges, bucket bounds, windows and settings. Cross-artifact checks live in
// Validate.
func validateConfig(c Config) []error {
	var errs []error
	add := func(id, path, format string, args ...any) *diag.Error {
		e := diag.New(id, path, format, args...)
		errs = append(errs, e)
		return e
	}
	t := c.Thresholds

	// Buckets: the histogram the middleware exports.
	if len(t.Buckets) == 0 {
		add(CheckBuckets, "thresholds.buckets", "at least one bucket bound is required")
	}
	for i, b := range t.Buckets {
		p := fmt.Sprintf("thresholds.buckets[%d]", i)
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
			add(CheckBuckets, p, "bucket bound %v must be a positive finite number of seconds", b)
		case i > 0 && b <= t.Buckets[i-1]:
			add(CheckBuckets, p, "bucket bounds must be strictly ascending: %v follows %v", b, t.Buckets[i-1])
		}
	}

	if t.SlowQuery <= 0 {
		add(CheckRange, "thresholds.slow_query", "must be positive, got %s", t.SlowQuery)
	} else {
		boundCheck(add, t, "thresholds.slow_query", t.SlowQuery.Std().Seconds())
	}
	if !(t.MinQueryRate > 0) {
		add(CheckRange, "thresholds.min_query_rate", "must be positive so that ratios never divide by zero, got %v", t.MinQueryRate)
	}
	levelChecks(add, "thresholds.", t)

	// for durations: a zero for fires on one bad evaluation.
	for path, l := range map[string]Level{
		"thresholds.slow_rate.info": t.SlowRate.Info, "thresholds.slow_rate.warning": t.SlowRate.Warning,
		"thresholds.slow_rate.critical": t.SlowRate.Critical, "thresholds.slow_rate_by_type": t.SlowRateByType,
		"thresholds.latency_p99.warning": t.LatencyP99.Warning, "thresholds.latency_p99.critical": t.LatencyP99.Critical,
		"thresholds.error_rate": t.ErrorRate, "thresholds.rate_spike": t.RateSpike, "thresholds.traffic_drop": t.TrafficDrop,
		"thresholds.pool_saturation": t.PoolSaturation, "thresholds.pool_wait": t.PoolWait, "thresholds.metrics_absent": t.MetricsAbsent,
	} {
		if l.For < c.Alerting.EvaluationInterval {
			add(CheckRange, path+".for", "%s is shorter than alerting.evaluation_interval (%s); one bad evaluation would page", l.For, c.Alerting.EvaluationInterval).Relate("alerting.evaluation_interval")
		}
	}

	// Windows: rate() needs at least four scrapes to be robust to a missed one.
	scrape := c.Prometheus.ScrapeInterval
	if scrape <= 0 {
		add(CheckRange, "prometheus.scrape_interval", "must be positive, got %s", scrape)
	} else if t.RateWindow < 4*scrape {
		add(CheckRateWindow, "thresholds.rate_window", "%s is shorter than 4 × prometheus.scrape_interval (4 × %s = %s); rate() would have too few samples", t.RateWindow, scrape, 4*scrape).Relate("prometheus.scrape_interval")
	}
	if scrape > 0 && t.MetricsAbsent.For < 4*scrape {
		add(CheckRateWindow, "thresholds.metrics_absent.for", "%s is shorter than 4 × prometheus.scrape_interval (%s): one missed scrape, or a Prometheus restart, would page", t.MetricsAbsent.For, 4*scrape).Relate("prometheus.scrape_interval")
	}
	if t.BaselineWindow < 2*t.RateWindow {
		add(CheckRateWindow, "thresholds.baseline_window", "%s must be at least twice thresholds.rate_window (%s) to be a baseline", t.BaselineWindow, t.RateWindow).Relate("thresholds.rate_window")
	}
	// Once a spike has lasted its for duration it fills for/baseline_window
	// of its own baseline. With factor × for ≥ baseline_window no spike,
	// however large, can stay above factor × baseline for that long.
	if t.RateSpike.Threshold > 1 && t.BaselineWindow > 0 &&
		t.RateSpike.Threshold*float64(t.RateSpike.For) >= float64(t.BaselineWindow) {
		add(CheckRateWindow, "thresholds.rate_spike.for", "%s × %v reaches thresholds.baseline_window (%s): a sustained spike would leak into its own baseline before firing; shorten for or lengthen the baseline", t.RateSpike.For, t.RateSpike.Threshold, t.BaselineWindow).Relate("thresholds.rate_spike.threshold", "thresholds.baseline_window")
	}
	if t.TrafficDrop.For >= t.BaselineWindow {
		add(CheckRateWindow, "thresholds.traffic_drop.for", "%s must be shorter than thresholds.baseline_window (%s), or the drop becomes its own baseline before firing", t.TrafficDrop.For, t.BaselineWindow).Relate("thresholds.baseline_window")
	}
	if c.Alerting.EvaluationInterval <= 0 {
		add(CheckRange, "alerting.evaluation_interval", "must be positive, got %s", c.Alerting.EvaluationInterval)
	}

	// Identity and selector.
	if len(c.Service.IdentityLabels) == 0 {
		add(CheckIdentity, "service.identity_labels", "at least one identity label (normally job) is required to group and inhibit alerts")
	}
	for i, l := range c.Service.IdentityLabels {
		if !model.LegacyValidation.IsValidLabelName(l) {
			add(CheckIdentity, fmt.Sprintf("service.identity_labels[%d]", i), "%q is not a valid Prometheus label name", l)
		}
	}
	if c.Service.Selector != "" {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + c.Service.Selector + "}")
		if err != nil {
			add(CheckIdentity, "service.selector", "not a PromQL matcher list such as job=\"api\": %v", err)
		}
		// The generated scrape config decides job and instance: a
		// selector that no scraped series can satisfy makes every alert
		// silent and the absence alert page forever.
		scrapeCheck(c, ms, "service.selector", add, false)
	}

	// Settings.
	required := map[string]string{
		"alerting.team": c.Alerting.Team, "alerting.group_name": c.Alerting.GroupName,
		"dashboard.uid": c.Dashboard.UID, "dashboard.title": c.Dashboard.Title,
		"dashboard.folder_uid": c.Dashboard.FolderUID, "dashboard.folder_title": c.Dashboard.FolderTitle,
		"dashboard.datasource": c.Dashboard.Datasource, "prometheus.job_name": c.Prometheus.JobName,
	}
	for path, v := range required {
		if strings.TrimSpace(v) == "" {
			add(CheckSetting, path, "must not be empty")
		}
	}
	if len(c.Dashboard.UID) > 40 {
		add(CheckSetting, "dashboard.uid", "Grafana limits a dashboard UID to 40 characters, got %d", len(c.Dashboard.UID))
	}
	for _, u := range []struct{ path, v string }{
		{"alerting.runbook_base_url", c.Alerting.RunbookBaseURL},
		{"alerting.grafana_url", c.Alerting.GrafanaURL},
	} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			add(CheckSetting, u.path, "want an absolute http(s) URL, got %q", u.v)
		}
	}
	if c.Dashboard.Refresh <= 0 {
		add(CheckRange, "dashboard.refresh", "must be positive, got %s", c.Dashboard.Refresh)
	}
	if c.Dashboard.TimeFrom <= 0 {
		add(CheckRange, "dashboard.time_from", "must be positive, got %s", c.Dashboard.TimeFrom)
	}
	if !strings.HasPrefix(c.Prometheus.MetricsPath, "/") {
		add(CheckSetting, "prometheus.metrics_path", "must start with /, got %q", c.Prometheus.MetricsPath)
	}
	hostPorts := func(path string, list []string) {
		if len(list) == 0 {
			add(CheckSetting, path, "at least one host:port is required")
		}
		for i, hp := range list {
			if _, port, err := net.SplitHostPort(hp); err != nil || port == "" {
				add(CheckSetting, fmt.Sprintf("%s[%d]", path, i), "want host:port, got %q", hp)
			}
		}
	}
	hostPorts("prometheus.targets", c.Prometheus.Targets)
	hostPorts("prometheus.alertmanager_targets", c.Prometheus.AlertmanagerTargets)
	errs = append(errs, validateMiddleware(c)...)
	errs = append(errs, validateServerPacks(c)...)
	errs = append(errs, validateOperator(c.PrometheusOperator)...)
	errs = append(errs, validateLimits(c)...)
	return append(errs, validateFleet(c)...)
}

// levelChecks checks the threshold values of the levels of t, whose
// fields are at prefix (thresholds. or services[i].thresholds.): latency
// thresholds are bucket bounds, ratios are shares, factors are on the
// right side of 1, and the levels of a signal are ordered.
func levelChecks(add func(id, path, format string, args ...any) *diag.Error, prefix string, t Thresholds) {
	p := prefix
	// Latency thresholds must be bucket bounds, so that the slow counter,
	// histogram_quantile and the dashboard colours agree exactly.
	bound := func(path string, seconds float64) { boundCheck(add, t, path, seconds) }
	bound(p+"latency_p99.warning.threshold", t.LatencyP99.Warning.Threshold)
	bound(p+"latency_p99.critical.threshold", t.LatencyP99.Critical.Threshold)

	// Ratios are shares in (0, 1].
	ratio := func(path string, v float64) {
		if !(v > 0 && v <= 1) {
			add(CheckRange, path, "a share must be in (0, 1], got %v (write 5 %% as 0.05)", v)
		}
	}
	ratio(p+"slow_rate.info.threshold", t.SlowRate.Info.Threshold)
	ratio(p+"slow_rate.warning.threshold", t.SlowRate.Warning.Threshold)
	ratio(p+"slow_rate.critical.threshold", t.SlowRate.Critical.Threshold)
	ratio(p+"slow_rate_by_type.threshold", t.SlowRateByType.Threshold)
	ratio(p+"error_rate.threshold", t.ErrorRate.Threshold)
	ratio(p+"pool_saturation.threshold", t.PoolSaturation.Threshold)
	if !(t.RateSpike.Threshold > 1) {
		add(CheckRange, p+"rate_spike.threshold", "a spike factor must be above 1, got %v", t.RateSpike.Threshold)
	}
	if !(t.TrafficDrop.Threshold > 0 && t.TrafficDrop.Threshold < 1) {
		add(CheckRange, p+"traffic_drop.threshold", "a drop factor must be in (0, 1), got %v", t.TrafficDrop.Threshold)
	}
	if !(t.PoolWait.Threshold > 0) {
		add(CheckRange, p+"pool_wait.threshold", "must be positive seconds per second, got %v", t.PoolWait.Threshold)
	}

	// Levels of one signal: info < warning < critical, and the more urgent
	// level never waits longer.
	order := func(lowPath string, low Level, highPath string, high Level) {
		if !(low.Threshold < high.Threshold) {
			add(CheckThresholdOrder, lowPath+".threshold", "%v must be below %s.threshold (%v)", low.Threshold, highPath, high.Threshold).Relate(highPath + ".threshold")
		}
		if high.For > low.For {
			add(CheckForOrder, highPath+".for", "%s must not exceed %s.for (%s): the more urgent level must not wait longer", high.For, lowPath, low.For).Relate(lowPath + ".for")
		}
	}
	order(p+"slow_rate.info", t.SlowRate.Info, p+"slow_rate.warning", t.SlowRate.Warning)
	order(p+"slow_rate.warning", t.SlowRate.Warning, p+"slow_rate.critical", t.SlowRate.Critical)
	order(p+"latency_p99.warning", t.LatencyP99.Warning, p+"latency_p99.critical", t.LatencyP99.Critical)

}

// boundCheck reports a latency threshold that is not a bucket bound below
// the largest, so that the slow counter, histogram_quantile and the
// dashboard colours agree exactly.
func boundCheck(add func(id, path, format string, args ...any) *diag.Error, t Thresholds, path string, seconds float64) {
	if !slices.Contains(t.Buckets, seconds) {
		add(CheckBucketBound, path, "%s is not a bucket bound of thresholds.buckets %v; add it so histogram_quantile is exact at the threshold", FormatSeconds(seconds), t.Buckets)
		return
	}
	if seconds >= t.Buckets[len(t.Buckets)-1] {
		add(CheckBucketBound, path, "%s must be below the largest finite bucket (%s), or a breach above it would be invisible", FormatSeconds(seconds), FormatSeconds(t.Buckets[len(t.Buckets)-1]))
	}
}

// Check IDs of the findings about a fleet's services.
const (
	CheckService         = "service"
	CheckSelectorOverlap = "selector-overlap"
	CheckServiceOverride = "service-override"
	CheckTeam            = "team"
)

// Labels the rules of a fleet attach to every series they record and
// every alert, so the series themselves must not use them as identity.
const (
	LabelService = "service"
)

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// validateFleet checks services and teams: unique names, a selector per
// service that selects no other service's series, a team with receivers,
// and per-service thresholds that differ only in level thresholds and keep
// each ladder in order.
func validateFleet(c Config) []error {
	var errs []error
	add := func(id, path, format string, args ...any) *diag.Error {
		e := diag.New(id, path, format, args...)
		errs = append(errs, e)
		return e
	}
	for name, t := range c.Teams {
		if !serviceName.MatchString(name) {
			add(CheckTeam, "teams."+name, "team name %q must be letters, digits, _, . and -", name)
		}
		if t == (Team{}) {
			add(CheckTeam, "teams."+name, "team %q has no receivers: set at least one of pagerduty, slack or email (each merged over the alertmanager block), or remove it", name)
		}
	}
	if !c.Fleet() {
		return errs
	}
	if strings.TrimSpace(c.Service.Selector) != "" {
		add(CheckService, "service.selector", "is not used when services is set: give each service its selector")
	}
	for i, l := range c.Service.IdentityLabels {
		if l == LabelService || l == LabelTeam {
			add(CheckIdentity, fmt.Sprintf("service.identity_labels[%d]", i), "%q is the label the fleet's rules attach; it cannot be an identity label of the series", l)
		}
	}
	p := parser.NewParser(parser.Options{})
	matchers := make([][]*labels.Matcher, len(c.Services))
	first := map[string]int{}
	for i, s := range c.Services {
		path := fmt.Sprintf("services[%d]", i)
		switch j, dup := first[s.Name]; {
		case !serviceName.MatchString(s.Name):
			add(CheckService, path+".name", "service name %q must be letters, digits, _, . and -", s.Name)
		case dup:
			add(CheckService, path+".name", "duplicate service name %q (also services[%d]): each service's alerts are told apart by it", s.Name, j).Relate(fmt.Sprintf("services[%d].name", j))
		default:
			first[s.Name] = i
		}
		if strings.TrimSpace(s.Selector) == "" {
			add(CheckService, path+".selector", "a service needs a selector such as job=\"api\"; an empty one selects every other service's series")
		} else if ms, err := p.ParseMetricSelector("{" + s.Selector + "}"); err != nil {
			add(CheckIdentity, path+".selector", "not a PromQL matcher list such as job=\"api\": %v", err)
		} else {
			matchers[i] = ms
			scrapeCheck(c, ms, path+".selector", add, true)
		}
		if team := c.ServiceTeam(i); team != c.Alerting.Team {
			if _, ok := c.Teams[team]; !ok {
				add(CheckTeam, path+".team", "team %q has no receivers: add teams.%s (its block is merged over the alertmanager receivers), or leave team empty for the default team %q", team, team, c.Alerting.Team)
			}
		}
		if s.Thresholds != nil {
			prefix := path + ".thresholds."
			if f := sharedFieldDiff(reflect.ValueOf(withLevelThresholds(c.Thresholds, *s.Thresholds)), reflect.ValueOf(*s.Thresholds), strings.TrimSuffix(prefix, ".")); f != "" {
				add(CheckServiceOverride, f, "only the threshold of a level can differ per service: for durations, windows, buckets and the slow query threshold are shared by the fleet's rules")
			}
			levelChecks(add, prefix, *s.Thresholds)
		}
	}
	for i := range matchers {
		for j := i + 1; j < len(matchers); j++ {
			if matchers[i] != nil && matchers[j] != nil && !disjoint(matchers[i], matchers[j]) {
				add(CheckSelectorOverlap, fmt.Sprintf("services[%d].selector", j), "{%s} can match series of services[%d] %q ({%s}): each series must belong to one service, or its alerts fire twice and a silent service is hidden; pin a label both select, e.g. different job values",
					c.Services[j].Selector, i, c.Services[i].Name, c.Services[i].Selector).Relate(fmt.Sprintf("services[%d].selector", i))
			}
		}
	}
	return errs
}

// disjoint reports whether no series can satisfy both matcher lists: one
// list pins a label to a value the other list rejects. Anything else may
// overlap (regular expressions are not intersected), which validation
// reports: a selector must pin what tells services apart.
func disjoint(a, b []*labels.Matcher) bool {
	rejects := func(pins, other []*labels.Matcher) bool {
		for _, p := range pins {
			if p.Type != labels.MatchEqual {
				continue
			}
			for _, o := range other {
				if o.Name == p.Name && !o.Matches(p.Value) {
					return true
				}
			}
		}
		return false
	}
	return rejects(a, b) || rejects(b, a)
}

// withLevelThresholds returns base with the threshold of every level
// taken from t.
func withLevelThresholds(base, t Thresholds) Thresholds {
	out := base
	out.Buckets = t.Buckets
	for _, k := range levelKeys {
		*k.level(&out) = Level{Threshold: k.level(&t).Threshold, For: k.level(&out).For}
	}
	return out
}

// sharedFieldDiff returns the path of the first field where got differs
// from want, or "".
func sharedFieldDiff(want, got reflect.Value, path string) string {
	if want.Kind() == reflect.Struct && want.Type() != durationType {
		for i := 0; i < want.NumField(); i++ {
			if d := sharedFieldDiff(want.Field(i), got.Field(i), path+"."+yamlName(want.Type().Field(i))); d != "" {
				return d
			}
		}
		return ""
	}
	if want.Kind() == reflect.Slice {
		if !reflect.DeepEqual(want.Interface(), got.Interface()) {
			return path
		}
		return ""
	}
	if want.Interface() != got.Interface() {
		return path
	}
	return ""
}

// scrapeCheck reports selector matchers that no series of the generated
// scrape config satisfies. In a fleet the scrape config usually comes from
// the user's own service discovery, so a service whose selector does not
// select the generated job is not described by it and is not checked.
func scrapeCheck(c Config, ms []*labels.Matcher, path string, add func(id, path, format string, args ...any) *diag.Error, fleet bool) {
	scraped := map[string][]string{
		model.JobLabel:      {c.Prometheus.JobName},
		model.InstanceLabel: c.Prometheus.Targets,
	}
	if fleet {
		for _, m := range ms {
			if m.Name == model.JobLabel && !m.Matches(c.Prometheus.JobName) {
				return
			}
		}
	}
	for _, m := range ms {
		values, ok := scraped[m.Name]
		if !ok || slices.ContainsFunc(values, m.Matches) {
			continue
		}
		setting := "prometheus.job_name"
		if m.Name == model.InstanceLabel {
			setting = "prometheus.targets"
		}
		add(CheckSelectorScrape, path, "%s matches no series the generated scrape config produces (%s=%q from %s): every alert would stay silent and the absence alert would fire; set %s to match, or change the selector",
			m, m.Name, strings.Join(values, `", "`), setting, setting).Relate(setting)
	}
}

// validateOperator checks the prometheus-operator target's placement with
// Kubernetes' own name and label rules, so a bad value is found here, at
// its line, and not by kubectl apply.
func validateOperator(o PrometheusOperator) []error {
	var errs []error
	add := func(path string, problems []string) {
		if len(problems) > 0 {
			errs = append(errs, diag.New(CheckSetting, path, "%s", strings.Join(problems, "; ")))
		}
	}
	add("prometheus_operator.namespace", k8svalidation.IsDNS1123Label(o.Namespace))
	add("prometheus_operator.secret_name", k8svalidation.IsDNS1123Subdomain(o.SecretName))
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add("prometheus_operator.labels."+k, append(k8svalidation.IsQualifiedName(k), k8svalidation.IsValidLabelValue(o.Labels[k])...))
	}
	return errs
}

// validateMiddleware checks the middleware block: max_statements is the
// application's WithStatementLabel(max), so it means something only with
// statement_label and must be positive. Its default value is accepted
// without statement_label, so that the file dbmonctl init writes (every
// key at its default) loads.
func validateMiddleware(c Config) []error {
	m := c.Middleware
	var errs []error
	switch {
	case m.MaxStatements <= 0:
		errs = append(errs, diag.New(CheckRange, "middleware.max_statements",
			"must be positive (the application's WithStatementLabel(max); default %d), got %d", middleware.DefaultMaxStatements, m.MaxStatements))
	case !m.StatementLabel && m.MaxStatements != middleware.DefaultMaxStatements:
		errs = append(errs, diag.New(CheckSetting, "middleware.max_statements",
			"is set to %d but middleware.statement_label is false: the statement metrics carry no statement label to bound; set statement_label: true or remove max_statements", m.MaxStatements).Relate("middleware.statement_label"))
	}
	return errs
}
