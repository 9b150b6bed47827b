package alertmanager

import (
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/url"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/alertmanager/pkg/labels"
	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// Check IDs of the findings Validate and Load report.
const (
	// CheckUndefinedReceiver: a route names a receiver that does not exist.
	CheckUndefinedReceiver = "undefined-receiver"
	// CheckDuplicateReceiver: two receivers share a name.
	CheckDuplicateReceiver = "duplicate-receiver"
	// CheckUnusedReceiver: no route sends to a receiver; it is dead weight
	// or, worse, the receiver someone meant to route to.
	CheckUnusedReceiver = "unused-receiver"
	// CheckMatcher: a matcher is empty, does not parse, or parses
	// differently in Alertmanager's classic and UTF-8 parsers.
	CheckMatcher = "matcher"
	// CheckInlineSecret: a secret is set inline instead of in a file.
	CheckInlineSecret = "inline-secret"
	// CheckRoute: a route's structure or timings are invalid.
	CheckRoute = "route"
	// CheckReceiver: a receiver or integration misses a field or has a bad one.
	CheckReceiver = "receiver"
	// CheckTemplate: a templated field does not parse.
	CheckTemplate = "template"
	// CheckInhibitRule: an inhibit rule is incomplete.
	CheckInhibitRule = "inhibit-rule"
	// CheckLoad: Alertmanager's own loader rejected the rendered file.
	CheckLoad = "alertmanager-load"
)

// Validate checks the model and returns every finding, each a *diag.Error
// whose Path names the element in the rendered file, e.g.
// `route.routes[1].receiver` or `receivers[0] "critical".slack_configs[0].api_url`.
// It catches what Alertmanager would reject and more: inline secrets,
// unused receivers, and matchers the two Alertmanager parsers disagree on.
func (c *Config) Validate() []error {
	v := &validator{}
	if c.Global.ResolveTimeout < 0 {
		v.add(CheckRoute, "global.resolve_timeout", "must not be negative, got %s", c.Global.ResolveTimeout)
	}

	names := map[string]int{}
	for i, r := range c.Receivers {
		p := receiverPath(i, r.Name)
		if r.Name == "" {
			v.add(CheckReceiver, p+".name", "a receiver needs a name")
		} else if first, dup := names[r.Name]; dup {
			v.add(CheckDuplicateReceiver, p+".name", "receiver name %q is already used by %s", r.Name, receiverPath(first, r.Name))
		} else {
			names[r.Name] = i
		}
		v.receiver(p, r)
	}

	used := map[string]bool{}
	if c.Route == nil {
		v.add(CheckRoute, "route", "the root route is missing")
	} else {
		if c.Route.Receiver == "" {
			v.add(CheckRoute, "route.receiver", "the root route must name the default receiver, which gets every alert no child route matches")
		}
		if len(c.Route.Matchers) > 0 {
			v.add(CheckRoute, "route.matchers", "the root route must not have matchers: it receives every alert")
		}
		if c.Route.Continue {
			v.add(CheckRoute, "route.continue", "the root route cannot continue: it has no siblings")
		}
		v.route("route", c.Route, names, used)
	}
	for i, r := range c.Receivers {
		if r.Name != "" && !used[r.Name] && names[r.Name] == i {
			v.add(CheckUnusedReceiver, receiverPath(i, r.Name), "receiver %q is not used by any route", r.Name)
		}
	}

	for i, ir := range c.InhibitRules {
		p := fmt.Sprintf("inhibit_rules[%d]", i)
		if len(ir.SourceMatchers) == 0 {
			v.add(CheckInhibitRule, p+".source_matchers", "at least one source matcher is required, or every alert would mute the targets")
		}
		if len(ir.TargetMatchers) == 0 {
			v.add(CheckInhibitRule, p+".target_matchers", "at least one target matcher is required, or the rule would mute every alert")
		}
		v.matchers(p+".source_matchers", ir.SourceMatchers)
		v.matchers(p+".target_matchers", ir.TargetMatchers)
		v.labelNames(p+".equal", ir.Equal, false)
	}
	for i, t := range c.Templates {
		if strings.TrimSpace(t) == "" {
			v.add(CheckTemplate, fmt.Sprintf("templates[%d]", i), "a template file glob must not be empty")
		}
	}
	return v.errs
}

// validator collects findings.
type validator struct{ errs []error }

func (v *validator) add(id, path, format string, args ...any) {
	v.errs = append(v.errs, diag.New(id, path, format, args...))
}

func receiverPath(i int, name string) string {
	return fmt.Sprintf("receivers[%d] %q", i, name)
}

func (v *validator) route(p string, r *Route, receivers map[string]int, used map[string]bool) {
	if r == nil {
		v.add(CheckRoute, p, "a route must not be nil")
		return
	}
	if r.Receiver != "" {
		used[r.Receiver] = true
		if _, ok := receivers[r.Receiver]; !ok {
			v.add(CheckUndefinedReceiver, p+".receiver", "receiver %q is not defined%s", r.Receiver, suggest(r.Receiver, receivers))
		}
	}
	if p != "route" && len(r.Matchers) == 0 {
		v.add(CheckMatcher, p+".matchers", "a child route without matchers catches every alert and hides its later siblings")
	}
	v.matchers(p+".matchers", r.Matchers)
	v.labelNames(p+".group_by", r.GroupBy, true)
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"group_wait", r.GroupWait}, {"group_interval", r.GroupInterval}, {"repeat_interval", r.RepeatInterval}} {
		if d.d < 0 {
			v.add(CheckRoute, p+"."+d.name, "must not be negative")
		}
	}
	for i, child := range r.Routes {
		v.route(fmt.Sprintf("%s.routes[%d]", p, i), child, receivers, used)
	}
}

// suggest names the defined receivers, so a typo is obvious.
func suggest(name string, receivers map[string]int) string {
	if len(receivers) == 0 {
		return ": no receivers are defined"
	}
	known := make([]string, 0, len(receivers))
	for n := range receivers {
		known = append(known, fmt.Sprintf("%q", n))
	}
	sort.Strings(known)
	return "; defined receivers: " + strings.Join(known, ", ")
}

// matchers checks each matcher with both of Alertmanager's parsers: 0.25
// uses the classic one, newer releases the UTF-8 one, and the generated
// file must mean the same to both.
func (v *validator) matchers(p string, ms []string) {
	for i, s := range ms {
		mp := fmt.Sprintf("%s[%d]", p, i)
		if _, err := ParseMatcher(s); err != nil {
			v.add(CheckMatcher, mp, "%v", err)
		}
	}
}

// ParseMatcher parses one matcher the way both Alertmanager 0.25 (classic
// parser) and current releases (UTF-8 parser) do, and fails when either
// rejects it or they disagree, e.g. on an unquoted value.
func ParseMatcher(s string) (*labels.Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty matcher: write name=\"value\"")
	}
	classic, err := labels.ParseMatcher(s)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", s, err)
	}
	if !compat.IsValidLabelName(model.LabelName(classic.Name)) {
		return nil, fmt.Errorf("matcher %q: label name %q is not valid in Alertmanager 0.25", s, classic.Name)
	}
	utf8, err := parse.Matcher(s)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w (double-quote the value: %s)", s, err, classic.String())
	}
	if classic.String() != utf8.String() {
		return nil, fmt.Errorf("matcher %q means %s to Alertmanager 0.25 but %s to current releases; double-quote the value", s, classic, utf8)
	}
	return classic, nil
}

func (v *validator) labelNames(p string, names []string, allowWildcard bool) {
	seen := map[string]bool{}
	for i, n := range names {
		lp := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case allowWildcard && n == "...":
			if len(names) > 1 {
				v.add(CheckRoute, lp, "the wildcard ... cannot be combined with other labels")
			}
		case !compat.IsValidLabelName(model.LabelName(n)):
			v.add(CheckRoute, lp, "%q is not a valid label name", n)
		case seen[n]:
			v.add(CheckRoute, lp, "label %q is listed twice", n)
		}
		seen[n] = true
	}
}

func (v *validator) receiver(p string, r Receiver) {
	for i, pd := range r.PagerDuty {
		ip := fmt.Sprintf("%s.pagerduty_configs[%d]", p, i)
		if pd.RoutingKey != "" {
			v.inlineSecret(ip+".routing_key", "routing_key_file")
		}
		if pd.ServiceKey != "" {
			v.inlineSecret(ip+".service_key", "service_key_file")
		}
		switch {
		case pd.RoutingKeyFile == "" && pd.ServiceKeyFile == "":
			v.add(CheckReceiver, ip+".routing_key_file", "a PagerDuty integration needs routing_key_file (Events API v2) or service_key_file (v1)")
		case pd.RoutingKeyFile != "" && pd.ServiceKeyFile != "":
			v.add(CheckReceiver, ip+".service_key_file", "set routing_key_file or service_key_file, not both")
		}
		if pd.URL != "" {
			v.httpURL(ip+".url", pd.URL)
		}
		v.templates(ip, map[string]string{"client": pd.Client, "client_url": pd.ClientURL, "description": pd.Description, "severity": pd.Severity}, false)
		v.templates(ip+".details", pd.Details, false)
	}
	for i, s := range r.Slack {
		ip := fmt.Sprintf("%s.slack_configs[%d]", p, i)
		if s.APIURL != "" {
			v.inlineSecret(ip+".api_url", "api_url_file")
		}
		if s.APIURLFile == "" {
			v.add(CheckReceiver, ip+".api_url_file", "a Slack integration needs api_url_file, the file holding the webhook URL")
		}
		v.templates(ip, map[string]string{"channel": s.Channel, "username": s.Username, "color": s.Color, "title": s.Title, "title_link": s.TitleLink, "text": s.Text}, false)
	}
	for i, e := range r.Email {
		ip := fmt.Sprintf("%s.email_configs[%d]", p, i)
		if e.AuthPassword != "" {
			v.inlineSecret(ip+".auth_password", "auth_password_file")
		}
		if strings.TrimSpace(e.To) == "" {
			v.add(CheckReceiver, ip+".to", "an email integration needs a recipient")
		}
		if strings.TrimSpace(e.From) == "" {
			v.add(CheckReceiver, ip+".from", "an email integration needs a sender address")
		}
		if host, port, err := net.SplitHostPort(e.Smarthost); err != nil || host == "" || port == "" {
			v.add(CheckReceiver, ip+".smarthost", "must be host:port, got %q", e.Smarthost)
		}
		v.templates(ip, map[string]string{"to": e.To, "text": e.Text}, false)
		v.templates(ip, map[string]string{"html": e.HTML}, true)
		v.templates(ip+".headers", e.Headers, false)
	}
	for i, w := range r.Webhook {
		ip := fmt.Sprintf("%s.webhook_configs[%d]", p, i)
		v.httpURL(ip+".url", w.URL)
		if w.MaxAlerts < 0 {
			v.add(CheckReceiver, ip+".max_alerts", "must not be negative")
		}
	}
}

func (v *validator) inlineSecret(path, fileField string) {
	// The value itself is never repeated: findings end up in CI logs.
	v.add(CheckInlineSecret, path, "inline secrets are not allowed, they would be written into the generated file; put the secret in a file and set %s", fileField)
}

func (v *validator) httpURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(CheckReceiver, path, "must be an absolute http(s) URL, got %q", s)
	}
}

// templates parses templated fields with Alertmanager's template functions,
// so a typo fails here rather than at 3 a.m. when the first alert is sent.
func (v *validator) templates(p string, fields map[string]string, html bool) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		if html {
			_, err = htmltemplate.New(k).Funcs(htmltemplate.FuncMap(amtemplate.DefaultFuncs)).Parse(fields[k])
		} else {
			_, err = texttemplate.New(k).Funcs(texttemplate.FuncMap(amtemplate.DefaultFuncs)).Parse(fields[k])
		}
		if err != nil {
			v.add(CheckTemplate, p+"."+k, "%v", err)
		}
	}
}
