package specs

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Receiver names of the generated Alertmanager config. There is one
// receiver per severity, holding every integration that severity notifies,
// so an alert reaches exactly one receiver and a route test asserts a
// one-element list. One receiver (rather than one per integration chained
// with continue) keeps one notification group per alert group, so the
// PagerDuty incident, the Slack post and the mail share grouping, timings
// and inhibitions and cannot drift apart.
const (
	// ReceiverCritical pages: PagerDuty, plus Slack (critical channel) and email.
	ReceiverCritical = "dbmon-critical"
	// ReceiverWarning posts to Slack (warning channel) and mails.
	ReceiverWarning = "dbmon-warning"
	// ReceiverInfo posts to Slack (info channel) only.
	ReceiverInfo = "dbmon-info"
	// ReceiverDefault gets every alert no severity route matches (no
	// severity label, or an unknown value). It is never silent: it posts to
	// Slack (default channel) and mails, so a mislabelled alert is seen.
	ReceiverDefault = "dbmon-default"
)

// SeverityReceivers maps each severity to its receiver.
var SeverityReceivers = map[string]string{
	SeverityCritical: ReceiverCritical,
	SeverityWarning:  ReceiverWarning,
	SeverityInfo:     ReceiverInfo,
}

// queryMetrics are the series the middleware exports itself, the ones an
// absent() alert on the query counter stands for: when the counter is
// missing, so are they. The connection-pool series come from the DBStats
// collector and are not among them.
var queryMetrics = map[string]bool{
	middleware.MetricQueriesTotal:              true,
	middleware.MetricSlowQueriesTotal:          true,
	middleware.MetricQueryErrorsTotal:          true,
	middleware.MetricQueryDuration + "_bucket": true,
	middleware.MetricQueryDuration + "_count":  true,
	middleware.MetricQueryDuration + "_sum":    true,
	middleware.MetricTxDuration + "_bucket":    true,
	middleware.MetricTxDuration + "_count":     true,
	middleware.MetricTxDuration + "_sum":       true,
}

// readsQueryMetrics reports whether a's expression selects a series of
// queryMetrics, so that an absent() alert on them mutes it.
func readsQueryMetrics(a Alert) bool {
	ms, err := exprMetrics(a.Expr)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if queryMetrics[m] {
			return true
		}
	}
	return false
}

// queryMetricFamilies are the families of alerts that read the query
// metrics, in pack order: the families a firing absent() alert mutes.
func queryMetricFamilies(alerts []Alert) []string {
	var out []string
	for _, a := range alerts {
		if !a.Absent && readsQueryMetrics(a) && !slices.Contains(out, a.Family) {
			out = append(out, a.Family)
		}
	}
	return out
}

// checkSeverityRoute is the ID of the finding that a severity does not
// reach a receiver of its own with at least one integration.
const checkSeverityRoute = "severity-route"

// Routing returns the pack's Alertmanager tree. Every setting comes from
// c.Alertmanager, labels and names from names.go:
//
//	route (→ dbmon-default: Slack default channel + email), group_by [alertname, identity labels…]
//	├── severity="critical" → dbmon-critical: PagerDuty + Slack critical channel + email
//	├── severity="warning"  → dbmon-warning:  Slack warning channel + email
//	└── severity="info"     → dbmon-info:     Slack info channel
//
// Inhibitions: a critical alert mutes the warning and info alerts of its
// family, and a warning the info alerts, when family, identity labels and
// query_type are equal (a label both lack counts as equal); a firing
// QueryMetricsAbsent mutes the alerts whose expressions read the query
// metrics.
//
// Secrets are only referenced, as files: routing_key_file, api_url_file,
// auth_password_file.
func Routing(c Config) *alertmanager.Config {
	return build(c, buildOptions{noTests: true}).Routing
}

// packRoutes are the routes under the root. In a fleet, first one per
// team with receivers of its own (the default team's excepted), selecting
// the team's alerts and routing them by severity to the team's receivers;
// then, for every other alert, the severity routes of the alertmanager
// block.
func packRoutes(c Config) []Route {
	var routes []Route
	if c.Fleet() {
		for _, team := range fleetTeams(c) {
			prefix := teamPrefix(team)
			routes = append(routes, Route{
				Matchers: []string{eq(LabelTeam, team)},
				Receiver: prefix + "-default",
				Routes:   severityRoutes(c, prefix),
			})
		}
	}
	return append(routes, severityRoutes(c, "dbmon")...)
}

// severityRoutes are one route per severity, most urgent first, to the
// severity's receiver of the receivers named prefix-<severity>, with the
// severity's timing.
func severityRoutes(c Config, prefix string) []Route {
	am := c.Alertmanager
	timing := map[string]RouteTiming{SeverityCritical: am.Critical, SeverityWarning: am.Warning, SeverityInfo: am.Info}
	routes := make([]Route, 0, len(Severities))
	for _, s := range Severities {
		routes = append(routes, Route{Matchers: []string{eq(LabelSeverity, s)}, Receiver: prefix + "-" + s, Timing: timing[s]})
	}
	return routes
}

// under is t with its zero fields taken from parent's, as Alertmanager
// inherits a route's timing.
func (t RouteTiming) under(parent RouteTiming) RouteTiming {
	if t.GroupWait == 0 {
		t.GroupWait = parent.GroupWait
	}
	if t.GroupInterval == 0 {
		t.GroupInterval = parent.GroupInterval
	}
	if t.RepeatInterval == 0 {
		t.RepeatInterval = parent.RepeatInterval
	}
	return t
}

// routeMatcher decides which routes an alert takes. It parses each
// matcher text once: a fleet's route tests walk the same few dozen
// routes for every alert of every service, and parsing (both of
// Alertmanager's parsers, see alertmanager.ParseMatcher) dominated.
type routeMatcher map[string]*amlabels.Matcher

// matches reports whether every matcher of r matches labels l; a matcher
// that does not parse matches nothing (the model's validation reports it).
func (rm routeMatcher) matches(r Route, l map[string]string) bool {
	for _, s := range r.Matchers {
		m, ok := rm[s]
		if !ok {
			m, _ = alertmanager.ParseMatcher(s)
			rm[s] = m
		}
		if m == nil || !m.Matches(l[m.Name]) {
			return false
		}
	}
	return true
}

// routeOf are the routes an alert with labels l takes, as Alertmanager's
// dispatcher picks them: the first that matches, and the following ones
// while the matched route continues; a route with children stands for
// the children that match, or for itself when none does. Each carries
// the timing it inherits. None means the root's receiver.
func routeOf(routes []Route, l map[string]string) []Route {
	return routeMatcher{}.routesUnder(routes, l, RouteTiming{})
}

func (rm routeMatcher) routesUnder(routes []Route, l map[string]string, parent RouteTiming) []Route {
	var out []Route
	for _, r := range routes {
		if !rm.matches(r, l) {
			continue
		}
		r.Timing = r.Timing.under(parent)
		if leaves := rm.routesUnder(r.Routes, l, r.Timing); len(leaves) > 0 {
			out = append(out, leaves...)
		} else {
			out = append(out, r)
		}
		if !r.Continue {
			break
		}
	}
	return out
}

// receiversOf are the receivers of the routes an alert with labels l
// takes, or the root's (the default receiver) when it takes none.
func (rm routeMatcher) receiversOf(routes []Route, l map[string]string) []string {
	var out []string
	for _, r := range rm.routesUnder(routes, l, RouteTiming{}) {
		out = append(out, r.Receiver)
	}
	if len(out) == 0 {
		return []string{ReceiverDefault}
	}
	return out
}

// amRoutes are routes as Alertmanager routes, children included.
func amRoutes(routes []Route) []*alertmanager.Route {
	if len(routes) == 0 {
		return nil
	}
	out := make([]*alertmanager.Route, 0, len(routes))
	for _, r := range routes {
		out = append(out, &alertmanager.Route{
			Receiver:       r.Receiver,
			Matchers:       append([]string(nil), r.Matchers...),
			GroupWait:      r.Timing.GroupWait.Std(),
			GroupInterval:  r.Timing.GroupInterval.Std(),
			RepeatInterval: r.Timing.RepeatInterval.Std(),
			Continue:       r.Continue,
			Routes:         amRoutes(r.Routes),
		})
	}
	return out
}

// routing is the tree of c for the pack's routes and alerts.
func routing(c Config, routes []Route, alerts []Alert) *alertmanager.Config {
	am := c.Alertmanager
	groupBy := []string{"alertname"}
	for _, l := range c.Service.IdentityLabels {
		if !slices.Contains(groupBy, l) {
			groupBy = append(groupBy, l)
		}
	}
	if c.Middleware.DBNameLabel {
		// The alerts of each database are notified apart.
		groupBy = append(groupBy, middleware.LabelDBName)
	}
	m := messages{dashboard: c.DashboardURL(0)}
	var receivers []alertmanager.Receiver
	if c.Fleet() {
		// Team first, then severity (packRoutes): the alerts of a team's
		// services go to the team's receivers; the default team's fall
		// through to the severity routes of the alertmanager block.
		groupBy = append([]string{"alertname", LabelService}, groupBy[1:]...)
		for _, team := range fleetTeams(c) {
			t := c.Teams[team]
			receivers = append(receivers, m.receivers(teamPrefix(team), t.PagerDuty, t.Slack, t.Email)...)
		}
	}
	receivers = append(m.receivers("dbmon", am.PagerDuty, am.Slack, am.Email), receivers...)
	return &alertmanager.Config{
		Global: alertmanager.Global{ResolveTimeout: am.ResolveTimeout.Std()},
		Route: &alertmanager.Route{
			Receiver:       ReceiverDefault,
			GroupBy:        groupBy,
			GroupWait:      am.Default.GroupWait.Std(),
			GroupInterval:  am.Default.GroupInterval.Std(),
			RepeatInterval: am.Default.RepeatInterval.Std(),
			Routes:         amRoutes(routes),
		},
		InhibitRules: inhibitRules(c, alerts),
		Receivers:    receivers,
	}
}

// fleetTeams are the teams of c's services other than the default team,
// sorted, each once.
func fleetTeams(c Config) []string {
	var out []string
	for i := range c.Services {
		// A team without receivers is a validation finding; its alerts
		// meanwhile go to the default team rather than nowhere.
		t := c.ServiceTeam(i)
		if rs, ok := c.Teams[t]; ok && rs != (Team{}) && t != c.Alerting.Team && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// teamPrefix is the prefix of a team's receiver names: dbmon-<team>-critical.
func teamPrefix(team string) string { return "dbmon-" + team }

// receivers are the four receivers of one team: critical pages (PagerDuty,
// Slack, email), warning posts and mails, info posts, default posts and
// mails.
func (m messages) receivers(prefix string, pd PagerDuty, sl Slack, em Email) []alertmanager.Receiver {
	return []alertmanager.Receiver{
		{
			Name:      prefix + "-" + SeverityCritical,
			PagerDuty: []alertmanager.PagerDutyConfig{m.pagerDuty(pd)},
			Slack:     []alertmanager.SlackConfig{m.slack(sl, sl.CriticalChannel, "danger")},
			Email:     []alertmanager.EmailConfig{m.email(em)},
		},
		{
			Name:  prefix + "-" + SeverityWarning,
			Slack: []alertmanager.SlackConfig{m.slack(sl, sl.WarningChannel, "warning")},
			Email: []alertmanager.EmailConfig{m.email(em)},
		},
		{
			Name:  prefix + "-" + SeverityInfo,
			Slack: []alertmanager.SlackConfig{m.slack(sl, sl.InfoChannel, "#439FE0")},
		},
		{
			Name:  prefix + "-default",
			Slack: []alertmanager.SlackConfig{m.slack(sl, sl.DefaultChannel, "warning")},
			Email: []alertmanager.EmailConfig{m.email(em)},
		},
	}
}

// eq is an equality matcher with a double-quoted value.
func eq(name, value string) string {
	return fmt.Sprintf("%s=%q", name, value)
}

// inhibitRules are the three rules of the pack: severity order within a
// family, and the dead man's switch over what depends on it.
func inhibitRules(c Config, alerts []Alert) []alertmanager.InhibitRule {
	twin := append(append([]string{LabelFamily}, c.Service.IdentityLabels...), middleware.LabelQueryType)
	if c.Fleet() {
		twin = append([]string{LabelFamily, LabelService}, twin[1:]...)
	}
	if c.Middleware.DBNameLabel {
		// One database's critical must not mute another's warning.
		twin = append(twin, middleware.LabelDBName)
	}
	// A server pack's alerts are per exporter target: the critical level
	// of one server must not mute the warning of another. The middleware's
	// alerts carry no instance, and a label both lack counts as equal.
	// Nor may one replication connection's critical mute another's
	// warning on the same server: a pack adds the labels of its twin
	// alerts beyond instance.
	if len(enabledServerPacks(c)) > 0 && !slices.Contains(twin, "instance") {
		twin = append(twin, "instance")
	}
	for _, p := range enabledServerPacks(c) {
		for _, l := range p.twinLabels {
			if !slices.Contains(twin, l) {
				twin = append(twin, l)
			}
		}
	}
	var families []string
	for _, f := range queryMetricFamilies(alerts) {
		families = append(families, regexp.QuoteMeta(f))
	}
	rs := []alertmanager.InhibitRule{
		{
			SourceMatchers: []string{eq(LabelSeverity, SeverityCritical)},
			TargetMatchers: []string{fmt.Sprintf("%s=~%q", LabelSeverity, SeverityWarning+"|"+SeverityInfo)},
			Equal:          twin,
		},
		{
			SourceMatchers: []string{eq(LabelSeverity, SeverityWarning)},
			TargetMatchers: []string{eq(LabelSeverity, SeverityInfo)},
			Equal:          twin,
		},
	}
	for _, a := range alerts {
		if a.Absent && len(families) > 0 {
			rs = append(rs, alertmanager.InhibitRule{
				SourceMatchers: []string{eq("alertname", a.Name)},
				TargetMatchers: []string{fmt.Sprintf("%s=~%q", LabelFamily, strings.Join(families, "|"))},
				Equal:          absentLabels(c),
			})
		}
	}
	return rs
}

// absentLabels are the identity labels a QueryMetricsAbsent alert carries:
// absent() returns only the equality matchers of its selector as labels.
// Inhibiting on an identity label the absent alert lacks would never
// match, so the rule compares exactly these. With no such matcher (the
// default), the selector watches every target, absence means all of them
// are dark, and the absent alert mutes their dependants whatever their
// identity.
func absentLabels(c Config) []string {
	if c.Fleet() {
		// Each service's absent record carries its service label.
		return []string{LabelService}
	}
	pinned := selectorEqualities(c.Service.Selector)
	var out []string
	for _, l := range c.Service.IdentityLabels {
		if _, ok := pinned[l]; ok {
			out = append(out, l)
		}
	}
	return out
}

// selectorEqualities returns the label=value pairs of the selector's
// equality matchers; a selector that does not parse has none (validation
// reports it).
func selectorEqualities(sel string) map[string]string {
	out := map[string]string{}
	if strings.TrimSpace(sel) == "" {
		return out
	}
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + sel + "}")
	if err != nil {
		return out
	}
	for _, m := range ms {
		if m.Type == labels.MatchEqual && m.Name != labels.MetricName {
			out[m.Name] = m.Value
		}
	}
	return out
}

// messages builds the integrations' texts: summary, severity, the value
// (the description annotation quotes it), runbook and dashboard links.
type messages struct {
	dashboard string
}

func ann(name string) string { return "{{ .Annotations." + name + " }}" }

// title is the first line of every notification: status, count and the
// group's labels (alertname and identity).
const title = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}`

func (messages) text(bold string) string {
	b := func(s string) string { return bold + s + bold }
	return "{{ range .Alerts }}" + b(ann(AnnotationSummary)) + "\n" +
		b("Severity:") + " {{ .Labels." + LabelSeverity + " }}\n" +
		b("Value:") + " " + ann(AnnotationDescription) + "\n" +
		b("Runbook:") + " " + ann(AnnotationRunbookURL) + "\n" +
		b("Dashboard:") + " " + ann(AnnotationDashboardURL) + "\n" +
		"{{ end }}"
}

func (messages) html() string {
	link := func(name string) string {
		return `<a href="` + ann(name) + `">` + ann(name) + `</a>`
	}
	return "<h2>" + title + "</h2>\n" +
		"{{ range .Alerts }}<h3>" + ann(AnnotationSummary) + "</h3>\n<p>" +
		"<b>Severity:</b> {{ .Labels." + LabelSeverity + " }}<br>\n" +
		"<b>Value:</b> " + ann(AnnotationDescription) + "<br>\n" +
		"<b>Runbook:</b> " + link(AnnotationRunbookURL) + "<br>\n" +
		"<b>Dashboard:</b> " + link(AnnotationDashboardURL) + "</p>\n" +
		"{{ end }}"
}

func (m messages) pagerDuty(p PagerDuty) alertmanager.PagerDutyConfig {
	common := func(name string) string { return "{{ .CommonAnnotations." + name + " }}" }
	return alertmanager.PagerDutyConfig{
		SendResolved:   true,
		RoutingKeyFile: p.RoutingKeyFile,
		RoutingKey:     p.RoutingKey,
		URL:            p.URL,
		Client:         "dbmonctl",
		ClientURL:      m.dashboard,
		Description:    title + "{{ with .CommonAnnotations." + AnnotationSummary + " }}: {{ . }}{{ end }}",
		Severity:       SeverityCritical,
		Details: map[string]string{
			AnnotationSummary:      common(AnnotationSummary),
			AnnotationDescription:  common(AnnotationDescription),
			AnnotationRunbookURL:   common(AnnotationRunbookURL),
			AnnotationDashboardURL: common(AnnotationDashboardURL),
			LabelSeverity:          "{{ .CommonLabels." + LabelSeverity + " }}",
		},
	}
}

func (m messages) slack(s Slack, channel, color string) alertmanager.SlackConfig {
	return alertmanager.SlackConfig{
		SendResolved: true,
		APIURLFile:   s.APIURLFile,
		APIURL:       s.APIURL,
		Channel:      channel,
		Color:        `{{ if eq .Status "firing" }}` + color + `{{ else }}good{{ end }}`,
		Title:        title,
		TitleLink:    m.dashboard,
		Text:         m.text("*"),
	}
}

func (m messages) email(e Email) alertmanager.EmailConfig {
	out := alertmanager.EmailConfig{
		SendResolved: true,
		To:           e.To,
		From:         e.From,
		Smarthost:    e.Smarthost,
		AuthUsername: e.AuthUsername,
		AuthPassword: e.AuthPassword,
		RequireTLS:   new(e.RequireTLS),
		Headers:      map[string]string{"Subject": title},
		HTML:         m.html(),
		Text:         m.text(""),
	}
	// Without a login there is no password to read; referencing the file
	// anyway would make `dbmonctl secrets` demand a password nobody uses.
	if e.AuthUsername != "" {
		out.AuthPasswordFile = e.AuthPasswordFile
	}
	return out
}

// Secret is one secret the generated Alertmanager config reads from a file.
type Secret struct {
	// Env is the environment variable holding the value in the original
	// workflow (SMTP_PASSWORD, PAGERDUTY_SERVICE_KEY, SLACK_WEBHOOK_URL).
	Env string
	// File is the path the generated config references.
	File string
	// Setting is the config field that names File.
	Setting string
}

// Secret environment variables of the original workflow.
const (
	EnvSMTPPassword        = "SMTP_PASSWORD"
	EnvPagerDutyServiceKey = "PAGERDUTY_SERVICE_KEY"
	EnvSlackWebhookURL     = "SLACK_WEBHOOK_URL"
)

// TeamSecretEnv is the variable holding a team's own value of the secret
// env: PAGERDUTY_SERVICE_KEY_PAYMENTS for team "payments" (letters upper
// case, anything but letters and digits as _).
func TeamSecretEnv(env, team string) string {
	b := []byte(env + "_")
	for _, r := range strings.ToUpper(team) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b = append(b, byte(r))
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

// Secrets lists the secret files the config generated from c references,
// in a stable order, read from the rendered model itself so the list
// cannot disagree with the file: the SMTP password only when a login is
// configured.
func Secrets(c Config) []Secret {
	var out []Secret
	add := func(env, file, setting string) {
		if file == "" {
			return
		}
		for _, s := range out {
			if s.Env == env && s.File == file {
				return
			}
		}
		out = append(out, Secret{Env: env, File: file, Setting: setting})
	}
	// A team whose block names a file of its own gets a variable of its
	// own, <VARIABLE>_<TEAM>; a file it shares with the alertmanager block
	// (inherited, or set to the same path) is filled from the top-level
	// variable. Two teams naming the same file share the variable of the
	// first in name order.
	type origin struct{ env, setting string }
	own := map[string]origin{}
	am := c.Alertmanager
	for _, team := range fleetTeams(c) {
		t := c.Teams[team]
		for _, f := range []struct{ env, file, top, setting string }{
			{EnvPagerDutyServiceKey, t.PagerDuty.RoutingKeyFile, am.PagerDuty.RoutingKeyFile, "pagerduty.routing_key_file"},
			{EnvSlackWebhookURL, t.Slack.APIURLFile, am.Slack.APIURLFile, "slack.api_url_file"},
			{EnvSMTPPassword, t.Email.AuthPasswordFile, am.Email.AuthPasswordFile, "email.auth_password_file"},
		} {
			key := f.env + "\x00" + f.file
			if _, seen := own[key]; !seen && f.file != "" && f.file != f.top {
				own[key] = origin{TeamSecretEnv(f.env, team), "teams." + team + "." + f.setting}
			}
		}
	}
	addOwn := func(env, file, setting string) {
		if o, ok := own[env+"\x00"+file]; ok {
			env, setting = o.env, o.setting
		}
		add(env, file, setting)
	}
	for _, r := range Routing(c).Receivers {
		for _, p := range r.PagerDuty {
			addOwn(EnvPagerDutyServiceKey, p.RoutingKeyFile, "alertmanager.pagerduty.routing_key_file")
		}
		for _, s := range r.Slack {
			addOwn(EnvSlackWebhookURL, s.APIURLFile, "alertmanager.slack.api_url_file")
		}
		for _, e := range r.Email {
			addOwn(EnvSMTPPassword, e.AuthPasswordFile, "alertmanager.email.auth_password_file")
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

// RoutingFindings checks c.Alertmanager and the tree built from it: inline
// secrets in the config (by their config path, never their value), missing
// or malformed settings, timings, every finding of the model's Validate,
// and that every severity reaches a receiver of its own.
func RoutingFindings(c Config) []error { return routingFindings(c, Routing(c)) }

// routingFindings checks c.Alertmanager and model, the tree built from it.
func routingFindings(c Config, model *alertmanager.Config) []error {
	var errs []error
	add := func(id, path, format string, args ...any) {
		errs = append(errs, diag.New(id, path, format, args...))
	}
	am := c.Alertmanager
	secret := func(path, value, fileSetting string) {
		if value != "" {
			add(alertmanager.CheckInlineSecret, path, "inline secrets are not allowed, they would be written into the generated file; remove it, put the value in the file named by %s (dbmonctl secrets --from-env writes it)", fileSetting)
		}
	}
	secret("alertmanager.pagerduty.routing_key", am.PagerDuty.RoutingKey, "alertmanager.pagerduty.routing_key_file")
	secret("alertmanager.slack.api_url", am.Slack.APIURL, "alertmanager.slack.api_url_file")
	secret("alertmanager.email.auth_password", am.Email.AuthPassword, "alertmanager.email.auth_password_file")

	required := func(path, value, why string) {
		if strings.TrimSpace(value) == "" {
			add(CheckSetting, path, "must be set: %s", why)
		}
	}
	required("alertmanager.pagerduty.routing_key_file", am.PagerDuty.RoutingKeyFile, "critical alerts page through PagerDuty")
	required("alertmanager.slack.api_url_file", am.Slack.APIURLFile, "every severity posts to Slack")
	required("alertmanager.slack.critical_channel", am.Slack.CriticalChannel, "critical alerts post there")
	required("alertmanager.slack.warning_channel", am.Slack.WarningChannel, "warning alerts post there")
	required("alertmanager.slack.info_channel", am.Slack.InfoChannel, "info alerts post there")
	required("alertmanager.slack.default_channel", am.Slack.DefaultChannel, "alerts without a known severity post there")
	required("alertmanager.email.to", am.Email.To, "critical and warning alerts are mailed there")
	required("alertmanager.email.from", am.Email.From, "SMTP needs a sender")
	for _, f := range []struct{ path, v string }{{"alertmanager.email.to", am.Email.To}, {"alertmanager.email.from", am.Email.From}} {
		// Alertmanager expands templates in to before sending; only a
		// literal value can be checked here.
		if strings.TrimSpace(f.v) == "" || strings.Contains(f.v, "{{") {
			continue
		}
		if _, err := mail.ParseAddressList(f.v); err != nil {
			add(CheckSetting, f.path, "%q is not an email address or a comma-separated list of them (%v)", f.v, err)
		}
	}
	if am.Email.AuthUsername != "" {
		required("alertmanager.email.auth_password_file", am.Email.AuthPasswordFile, "auth_username is set, so SMTP needs the password")
	}
	if host, port, err := net.SplitHostPort(am.Email.Smarthost); err != nil || host == "" || port == "" {
		add(CheckSetting, "alertmanager.email.smarthost", "must be host:port, got %q", am.Email.Smarthost)
	}
	if am.PagerDuty.URL != "" {
		if u, err := url.Parse(am.PagerDuty.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(CheckSetting, "alertmanager.pagerduty.url", "must be an absolute http(s) URL of the Events API, or empty for PagerDuty's, got %q", am.PagerDuty.URL)
		}
	}

	if am.ResolveTimeout <= 0 {
		add(CheckRange, "alertmanager.resolve_timeout", "must be positive, got %s", am.ResolveTimeout)
	}
	for _, r := range []struct {
		name string
		t    RouteTiming
	}{{"default", am.Default}, {SeverityCritical, am.Critical}, {SeverityWarning, am.Warning}, {SeverityInfo, am.Info}} {
		p := "alertmanager." + r.name
		// A zero would be left out of the file and silently inherit the
		// parent's timing, so every timing is explicit and positive.
		for _, d := range []struct {
			field string
			v     Duration
		}{{"group_wait", r.t.GroupWait}, {"group_interval", r.t.GroupInterval}, {"repeat_interval", r.t.RepeatInterval}} {
			if d.v <= 0 {
				add(CheckRange, p+"."+d.field, "must be positive, got %s", d.v)
			}
		}
		if r.t.GroupInterval > 0 && r.t.RepeatInterval > 0 && r.t.RepeatInterval < r.t.GroupInterval {
			add(CheckRange, p+".repeat_interval", "%s is shorter than group_interval %s; Alertmanager only repeats at group intervals", r.t.RepeatInterval, r.t.GroupInterval)
		}
	}
	if am.Critical.GroupWait.Std() > 10*time.Second {
		add(CheckRange, "alertmanager.critical.group_wait", "critical alerts page immediately: must be at most 10s, got %s", am.Critical.GroupWait)
	}

	// A bad setting shows up again in each receiver built from it (the
	// Slack webhook in four): the setting's own finding above names the
	// path the user can edit, so its echoes in the model are dropped.
	echo := map[string]bool{}
	for _, e := range errs {
		switch diag.As(e).ID {
		case alertmanager.CheckInlineSecret:
			echo[alertmanager.CheckInlineSecret] = true
		case CheckSetting:
			echo[alertmanager.CheckReceiver] = true
		}
	}
	modelErrs := model.Validate()
	for _, e := range modelErrs {
		if !echo[diag.As(e).ID] {
			errs = append(errs, e)
		}
	}
	if len(modelErrs) == 0 {
		errs = append(errs, severityReach(model)...)
	}
	diag.Sort(errs)
	return errs
}

// severityReach routes an alert of each severity through the rendered tree
// with Alertmanager's dispatcher and checks it reaches its own receiver,
// which must notify somewhere.
func severityReach(model *alertmanager.Config) []error {
	data, err := alertmanager.Render(model)
	if err != nil {
		return []error{diag.New(checkSeverityRoute, "alertmanager", "render: %v", err)}
	}
	var tests []alertmanager.RouteTest
	for _, s := range Severities {
		tests = append(tests, alertmanager.RouteTest{
			Name:      s,
			Labels:    map[string]string{LabelSeverity: s},
			Receivers: []string{SeverityReceivers[s]},
		})
	}
	var errs []error
	res := alertmanager.RunRouteTests(data, tests)
	for _, f := range res.Failures {
		errs = append(errs, diag.New(checkSeverityRoute, "route", "%s", f))
	}
	for _, s := range Severities {
		if r, ok := model.Receiver(SeverityReceivers[s]); ok && r.Integrations() == 0 {
			errs = append(errs, diag.New(checkSeverityRoute, "receivers "+r.Name, "%s alerts would be dropped: the receiver has no integration", s))
		}
	}
	return errs
}

// sampleLabels gives each identity label of c the value an alert of the
// pack would carry: the selector's value when it pins one (the rules only
// ever see that value), the scrape job's name for job, else a placeholder.
func sampleLabels(c Config) map[string]string {
	if c.Fleet() {
		return serviceSample(c, 0)
	}
	pinned := selectorEqualities(c.Service.Selector)
	out := map[string]string{}
	for _, l := range c.Service.IdentityLabels {
		switch v, ok := pinned[l]; {
		case ok:
			out[l] = v
		case l == "job" && c.Prometheus.JobName != "":
			out[l] = c.Prometheus.JobName
		default:
			out[l] = l + "-1"
		}
	}
	return out
}

// alertLabels are the labels a firing alert of a carries: the rule's own
// labels, alertname, and the identity labels with values from ids (for an
// absent() alert only those absent() reports).
func alertLabels(c Config, a Alert, ids map[string]string) map[string]string {
	out := map[string]string{"alertname": a.Name}
	for k, v := range ruleLabels(c, a) {
		out[k] = v
	}
	keep := c.Service.IdentityLabels
	if a.Absent {
		keep = absentLabels(c)
	}
	if c.Fleet() {
		keep = append(append([]string(nil), keep...), LabelTeam)
		if !a.Absent {
			keep = append(keep, LabelService)
		}
	}
	for _, l := range keep {
		out[l] = ids[l]
	}
	return out
}

// packAlert is an alert of the pack with the labels it fires with.
type packAlert struct {
	name       string
	absent     bool
	readsQuery bool
	labels     map[string]string
}

// alertLabels are the pack's alerts with their labels, in rule order.
func (p *Pack) alertLabels(ids map[string]string) []packAlert {
	out := make([]packAlert, 0, len(p.Alerts))
	for _, a := range p.Alerts {
		out = append(out, packAlert{name: a.Name, absent: a.Absent, readsQuery: readsQueryMetrics(a), labels: alertLabels(p.Config, a, ids)})
	}
	return out
}

// relabel is alerts (from alertLabels) with the labels they fire with
// under identity ids instead; what each expression reads is not parsed
// again for every service of a fleet.
func (p *Pack) relabel(alerts []packAlert, ids map[string]string) []packAlert {
	out := slices.Clone(alerts)
	for i, a := range p.Alerts {
		out[i].labels = alertLabels(p.Config, a, ids)
	}
	return out
}

// RouteTests are the pack's routing tests: every alert of the rules
// reaches the receivers of the routes that select it (the receiver of its
// severity), and alerts without a known severity reach the default
// receiver.
func RouteTests(c Config) []alertmanager.RouteTest { return Build(c).RouteTests }

func routeTests(c Config, routes []Route, alerts []packAlert, ids map[string]string) []alertmanager.RouteTest {
	return routeMatcher{}.routeTests(c, routes, alerts, ids)
}

func (rm routeMatcher) routeTests(c Config, routes []Route, alerts []packAlert, ids map[string]string) []alertmanager.RouteTest {
	var tests []alertmanager.RouteTest
	for _, a := range alerts {
		want := rm.receiversOf(routes, a.labels)
		name := a.name
		if s, ok := a.labels[LabelService]; ok {
			name += " of service " + s
		}
		tests = append(tests, alertmanager.RouteTest{
			Name:      fmt.Sprintf("%s (%s) goes to %s", name, a.labels[LabelSeverity], strings.Join(want, ", ")),
			Labels:    a.labels,
			Receivers: want,
		})
	}
	unmatched := func(name string, extra map[string]string) {
		l := map[string]string{"alertname": "SomeOtherAlert", LabelTeam: c.Alerting.Team}
		for k, v := range ids {
			l[k] = v
		}
		for k, v := range extra {
			l[k] = v
		}
		tests = append(tests, alertmanager.RouteTest{Name: name, Labels: l, Receivers: rm.receiversOf(routes, l)})
	}
	unmatched("an alert without a severity label goes to the default receiver", nil)
	unmatched("an alert with an unknown severity goes to the default receiver", map[string]string{LabelSeverity: "page"})
	unmatched("severity matching is case-sensitive: Critical goes to the default receiver", map[string]string{LabelSeverity: "Critical"})
	if c.Fleet() {
		unmatched("an alert of no known team goes to the default team's default receiver", map[string]string{LabelTeam: "nobody"})
		unmatched("an alert of no known team is routed by its severity to the default team", map[string]string{LabelTeam: "nobody", LabelSeverity: SeverityWarning})
	}
	tests = append(tests, alertmanager.RouteTest{
		Name:      "an alert with only a severity label is routed by it",
		Labels:    map[string]string{LabelSeverity: SeverityCritical},
		Receivers: []string{ReceiverCritical},
	})
	return tests
}

// InhibitionTests are the pack's inhibition tests, built from the rules'
// labels: within each family every more severe alert mutes every less
// severe one of the same identity, not one of another identity or query
// type; alerts of different families never mute each other; and
// QueryMetricsAbsent mutes exactly the alerts that read the query metrics.
func InhibitionTests(c Config) []alertmanager.InhibitionTest { return Build(c).InhibitionTests }

func inhibitionTests(c Config, alerts []packAlert, ids map[string]string) []alertmanager.InhibitionTest {
	other := map[string]string{}
	for k, v := range ids {
		other[k] = v + "-other"
	}
	rank := map[string]int{}
	for i, s := range Severities {
		rank[s] = i + 1
	}
	with := func(l map[string]string, extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range l {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	var tests []alertmanager.InhibitionTest
	var absent *packAlert
	for i := range alerts {
		if alerts[i].absent && absent == nil {
			absent = &alerts[i]
		}
	}
	var families []string
	for _, a := range alerts {
		if !a.absent && a.readsQuery && !slices.Contains(families, a.labels[LabelFamily]) {
			families = append(families, a.labels[LabelFamily])
		}
	}
	var firstPair [2]map[string]string
	var firstCross [2]map[string]string
	for _, src := range alerts {
		for _, tgt := range alerts {
			rs, rt := rank[src.labels[LabelSeverity]], rank[tgt.labels[LabelSeverity]]
			if src.name == tgt.name || rs == 0 || rt == 0 || rs >= rt {
				continue
			}
			if src.labels[LabelFamily] != tgt.labels[LabelFamily] {
				if firstCross[0] == nil {
					firstCross = [2]map[string]string{src.labels, tgt.labels}
				}
				continue
			}
			if firstPair[0] == nil {
				firstPair = [2]map[string]string{src.labels, tgt.labels}
			}
			tests = append(tests, alertmanager.InhibitionTest{
				Name:   fmt.Sprintf("%s mutes %s of the same identity", src.name, tgt.name),
				Firing: []map[string]string{src.labels, tgt.labels},
				Muted:  []map[string]string{tgt.labels},
			})
			if len(c.Service.IdentityLabels) > 0 {
				tgtOther := with(tgt.labels, other)
				tests = append(tests, alertmanager.InhibitionTest{
					Name:   fmt.Sprintf("%s does not mute %s of another identity", src.name, tgt.name),
					Firing: []map[string]string{src.labels, tgtOther},
				})
			}
		}
	}
	if firstPair[0] != nil {
		src := with(firstPair[0], map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)})
		tgt := with(firstPair[1], map[string]string{middleware.LabelQueryType: string(middleware.QueryInsert)})
		tests = append(tests, alertmanager.InhibitionTest{
			Name:   fmt.Sprintf("%s of one query type does not mute %s of another", src["alertname"], tgt["alertname"]),
			Firing: []map[string]string{src, tgt},
		})
	}
	if firstCross[0] != nil {
		tests = append(tests, alertmanager.InhibitionTest{
			Name:   fmt.Sprintf("%s does not mute %s of another family", firstCross[0]["alertname"], firstCross[1]["alertname"]),
			Firing: []map[string]string{firstCross[0], firstCross[1]},
		})
	}
	if absent != nil {
		for _, a := range alerts {
			if a.absent {
				continue
			}
			t := alertmanager.InhibitionTest{Firing: []map[string]string{absent.labels, a.labels}}
			if slices.Contains(families, a.labels[LabelFamily]) {
				t.Name = fmt.Sprintf("%s mutes %s, which reads the query metrics", absent.name, a.name)
				t.Muted = []map[string]string{a.labels}
			} else {
				t.Name = fmt.Sprintf("%s does not mute %s, which reads other metrics", absent.name, a.name)
			}
			tests = append(tests, t)
		}
		if pinned := absentLabels(c); len(pinned) > 0 {
			for _, a := range alerts {
				if slices.Contains(families, a.labels[LabelFamily]) {
					tests = append(tests, alertmanager.InhibitionTest{
						Name:   fmt.Sprintf("%s of one identity does not mute %s of another", absent.name, a.name),
						Firing: []map[string]string{absent.labels, with(a.labels, other)},
					})
					break
				}
			}
		}
	}
	return tests
}
