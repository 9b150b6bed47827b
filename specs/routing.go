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

// defaultRoutes are the routes under the root: one per severity, most
// urgent first, to the severity's receiver with the severity's timing.
func defaultRoutes(c Config) []Route {
	am := c.Alertmanager
	timing := map[string]RouteTiming{SeverityCritical: am.Critical, SeverityWarning: am.Warning, SeverityInfo: am.Info}
	routes := make([]Route, 0, len(Severities))
	for _, s := range Severities {
		routes = append(routes, Route{Matchers: []string{eq(LabelSeverity, s)}, Receiver: SeverityReceivers[s], Timing: timing[s]})
	}
	return routes
}

// matches reports whether every matcher of r matches labels l; a matcher
// that does not parse matches nothing (the model's validation reports it).
func (r Route) matches(l map[string]string) bool {
	for _, s := range r.Matchers {
		m, err := alertmanager.ParseMatcher(s)
		if err != nil || !m.Matches(l[m.Name]) {
			return false
		}
	}
	return true
}

// routeOf are the routes an alert with labels l takes, as Alertmanager's
// dispatcher picks them: the first that matches, and the following ones
// while the matched route continues. None means the root's receiver.
func routeOf(routes []Route, l map[string]string) []Route {
	var out []Route
	for _, r := range routes {
		if !r.matches(l) {
			continue
		}
		out = append(out, r)
		if !r.Continue {
			break
		}
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
	children := make([]*alertmanager.Route, 0, len(routes))
	for _, r := range routes {
		children = append(children, &alertmanager.Route{
			Receiver:       r.Receiver,
			Matchers:       append([]string(nil), r.Matchers...),
			GroupWait:      r.Timing.GroupWait.Std(),
			GroupInterval:  r.Timing.GroupInterval.Std(),
			RepeatInterval: r.Timing.RepeatInterval.Std(),
			Continue:       r.Continue,
		})
	}
	m := messages{dashboard: c.DashboardURL(0)}
	return &alertmanager.Config{
		Global: alertmanager.Global{ResolveTimeout: am.ResolveTimeout.Std()},
		Route: &alertmanager.Route{
			Receiver:       ReceiverDefault,
			GroupBy:        groupBy,
			GroupWait:      am.Default.GroupWait.Std(),
			GroupInterval:  am.Default.GroupInterval.Std(),
			RepeatInterval: am.Default.RepeatInterval.Std(),
			Routes:         children,
		},
		InhibitRules: inhibitRules(c, alerts),
		Receivers: []alertmanager.Receiver{
			{
				Name:      ReceiverCritical,
				PagerDuty: []alertmanager.PagerDutyConfig{m.pagerDuty(am.PagerDuty)},
				Slack:     []alertmanager.SlackConfig{m.slack(am.Slack, am.Slack.CriticalChannel, "danger")},
				Email:     []alertmanager.EmailConfig{m.email(am.Email)},
			},
			{
				Name:  ReceiverWarning,
				Slack: []alertmanager.SlackConfig{m.slack(am.Slack, am.Slack.WarningChannel, "warning")},
				Email: []alertmanager.EmailConfig{m.email(am.Email)},
			},
			{
				Name:  ReceiverInfo,
				Slack: []alertmanager.SlackConfig{m.slack(am.Slack, am.Slack.InfoChannel, "#439FE0")},
			},
			{
				Name:  ReceiverDefault,
				Slack: []alertmanager.SlackConfig{m.slack(am.Slack, am.Slack.DefaultChannel, "warning")},
				Email: []alertmanager.EmailConfig{m.email(am.Email)},
			},
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
	for _, r := range Routing(c).Receivers {
		for _, p := range r.PagerDuty {
			add(EnvPagerDutyServiceKey, p.RoutingKeyFile, "alertmanager.pagerduty.routing_key_file")
		}
		for _, s := range r.Slack {
			add(EnvSlackWebhookURL, s.APIURLFile, "alertmanager.slack.api_url_file")
		}
		for _, e := range r.Email {
			add(EnvSMTPPassword, e.AuthPasswordFile, "alertmanager.email.auth_password_file")
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

// RouteTests are the pack's routing tests: every alert of the rules
// reaches the receivers of the routes that select it (the receiver of its
// severity), and alerts without a known severity reach the default
// receiver.
func RouteTests(c Config) []alertmanager.RouteTest { return Build(c).RouteTests }

func routeTests(c Config, routes []Route, alerts []packAlert, ids map[string]string) []alertmanager.RouteTest {
	var tests []alertmanager.RouteTest
	for _, a := range alerts {
		var want []string
		for _, r := range routeOf(routes, a.labels) {
			want = append(want, r.Receiver)
		}
		if len(want) == 0 {
			want = []string{ReceiverDefault}
		}
		tests = append(tests, alertmanager.RouteTest{
			Name:      fmt.Sprintf("%s (%s) goes to %s", a.name, a.labels[LabelSeverity], strings.Join(want, ", ")),
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
		tests = append(tests, alertmanager.RouteTest{Name: name, Labels: l, Receivers: []string{ReceiverDefault}})
	}
	unmatched("an alert without a severity label goes to the default receiver", nil)
	unmatched("an alert with an unknown severity goes to the default receiver", map[string]string{LabelSeverity: "page"})
	unmatched("severity matching is case-sensitive: Critical goes to the default receiver", map[string]string{LabelSeverity: "Critical"})
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
