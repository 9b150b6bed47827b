package alertmanager_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// sample is a small but complete tree: two severities, a catch-all, a
// continue route and an inhibition, with every integration type.
func sample() *alertmanager.Config {
	return &alertmanager.Config{
		Global: alertmanager.Global{ResolveTimeout: 5 * time.Minute},
		Route: &alertmanager.Route{
			Receiver:       "default",
			GroupBy:        []string{"alertname", "job"},
			GroupWait:      30 * time.Second,
			GroupInterval:  5 * time.Minute,
			RepeatInterval: 4 * time.Hour,
			Routes: []*alertmanager.Route{
				{Receiver: "audit", Matchers: []string{`team="db"`}, Continue: true},
				{Receiver: "pager", Matchers: []string{`severity="critical"`}, GroupWait: 10 * time.Second},
				{Receiver: "chat", Matchers: []string{`severity=~"warning|info"`}},
			},
		},
		InhibitRules: []alertmanager.InhibitRule{{
			SourceMatchers: []string{`severity="critical"`},
			TargetMatchers: []string{`severity="warning"`},
			Equal:          []string{"family", "job"},
		}},
		Receivers: []alertmanager.Receiver{
			{Name: "default", Email: []alertmanager.EmailConfig{{To: "a@example.com", From: "am@example.com", Smarthost: "127.0.0.1:25", AuthUsername: "am", AuthPasswordFile: "/run/secrets/smtp", RequireTLS: new(false), Headers: map[string]string{"Subject": "{{ .CommonLabels.alertname }}"}, HTML: "<b>{{ .Status }}</b>", Text: "{{ .Status }}"}}},
			{Name: "pager", PagerDuty: []alertmanager.PagerDutyConfig{{SendResolved: true, RoutingKeyFile: "/run/secrets/pd", URL: "http://127.0.0.1:9999/v2/enqueue", Severity: "critical", Details: map[string]string{"z": "1", "a": "{{ .Status }}"}}}},
			{Name: "chat", Slack: []alertmanager.SlackConfig{{APIURLFile: "/run/secrets/slack", Channel: "#db", Title: "{{ .Status }}", Text: "{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}"}}},
			{Name: "audit", Webhook: []alertmanager.WebhookConfig{{URL: "http://127.0.0.1:8080/hook", MaxAlerts: 10}}},
		},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *alertmanager.Config)
		id     string
		path   string
		text   string
	}{
		{"a route naming a receiver that does not exist is rejected", func(c *alertmanager.Config) { c.Route.Routes[1].Receiver = "pagr" }, alertmanager.CheckUndefinedReceiver, "route.routes[1].receiver", `receiver "pagr" is not defined`},
		{"two receivers with one name are rejected", func(c *alertmanager.Config) { c.Receivers[2].Name = "pager" }, alertmanager.CheckDuplicateReceiver, `receivers[2] "pager".name`, "already used"},
		{"an inline PagerDuty key is rejected", func(c *alertmanager.Config) { c.Receivers[1].PagerDuty[0].RoutingKey = "s3cr3t-key" }, alertmanager.CheckInlineSecret, `receivers[1] "pager".pagerduty_configs[0].routing_key`, "routing_key_file"},
		{"an inline PagerDuty v1 key is rejected", func(c *alertmanager.Config) { c.Receivers[1].PagerDuty[0].ServiceKey = "s3cr3t-key" }, alertmanager.CheckInlineSecret, `receivers[1] "pager".pagerduty_configs[0].service_key`, "service_key_file"},
		{"an inline Slack webhook is rejected", func(c *alertmanager.Config) {
			c.Receivers[2].Slack[0].APIURL = "https://hooks.slack.com/services/s3cr3t-key"
		}, alertmanager.CheckInlineSecret, `receivers[2] "chat".slack_configs[0].api_url`, "api_url_file"},
		{"an inline SMTP password is rejected", func(c *alertmanager.Config) { c.Receivers[0].Email[0].AuthPassword = "s3cr3t-key" }, alertmanager.CheckInlineSecret, `receivers[0] "default".email_configs[0].auth_password`, "auth_password_file"},
		{"an empty matcher is rejected", func(c *alertmanager.Config) { c.Route.Routes[2].Matchers = []string{""} }, alertmanager.CheckMatcher, "route.routes[2].matchers[0]", "empty matcher"},
		{"a matcher that does not parse is rejected", func(c *alertmanager.Config) { c.Route.Routes[2].Matchers = []string{`severity`} }, alertmanager.CheckMatcher, "route.routes[2].matchers[0]", "severity"},
		{"a child route without matchers is rejected", func(c *alertmanager.Config) { c.Route.Routes[2].Matchers = nil }, alertmanager.CheckMatcher, "route.routes[2].matchers", "catches every alert"},
		{"an unquoted value only the old parser accepts is rejected", func(c *alertmanager.Config) { c.InhibitRules[0].TargetMatchers = []string{`severity=warning or info`} }, alertmanager.CheckMatcher, "inhibit_rules[0].target_matchers[0]", "double-quote"},
		{"a receiver no route uses is reported", func(c *alertmanager.Config) {
			c.Receivers = append(c.Receivers, alertmanager.Receiver{Name: "orphan", Webhook: []alertmanager.WebhookConfig{{URL: "http://127.0.0.1:1/"}}})
		}, alertmanager.CheckUnusedReceiver, `receivers[4] "orphan"`, "not used by any route"},
		{"a root route without a receiver is rejected", func(c *alertmanager.Config) { c.Route.Receiver = "" }, alertmanager.CheckRoute, "route.receiver", "default receiver"},
		{"a root route with matchers is rejected", func(c *alertmanager.Config) { c.Route.Matchers = []string{`a="b"`} }, alertmanager.CheckRoute, "route.matchers", "must not have matchers"},
		{"a missing root route is rejected", func(c *alertmanager.Config) { c.Route = nil }, alertmanager.CheckRoute, "route", "missing"},
		{"a duplicated group_by label is rejected", func(c *alertmanager.Config) { c.Route.GroupBy = []string{"job", "job"} }, alertmanager.CheckRoute, "route.group_by[1]", "twice"},
		{"a negative repeat interval is rejected", func(c *alertmanager.Config) { c.Route.Routes[1].RepeatInterval = -time.Second }, alertmanager.CheckRoute, "route.routes[1].repeat_interval", "negative"},
		{"a Slack integration without a webhook file is rejected", func(c *alertmanager.Config) { c.Receivers[2].Slack[0].APIURLFile = "" }, alertmanager.CheckReceiver, `receivers[2] "chat".slack_configs[0].api_url_file`, "api_url_file"},
		{"a PagerDuty integration without a key file is rejected", func(c *alertmanager.Config) { c.Receivers[1].PagerDuty[0].RoutingKeyFile = "" }, alertmanager.CheckReceiver, `receivers[1] "pager".pagerduty_configs[0].routing_key_file`, "routing_key_file"},
		{"a relative PagerDuty URL is rejected", func(c *alertmanager.Config) { c.Receivers[1].PagerDuty[0].URL = "/v2/enqueue" }, alertmanager.CheckReceiver, `receivers[1] "pager".pagerduty_configs[0].url`, "absolute"},
		{"a smarthost without a port is rejected", func(c *alertmanager.Config) { c.Receivers[0].Email[0].Smarthost = "smtp.example.com" }, alertmanager.CheckReceiver, `receivers[0] "default".email_configs[0].smarthost`, "host:port"},
		{"a broken template is rejected", func(c *alertmanager.Config) { c.Receivers[2].Slack[0].Text = "{{ range .Alerts }}" }, alertmanager.CheckTemplate, `receivers[2] "chat".slack_configs[0].text`, "unexpected EOF"},
		{"an inhibit rule without source matchers is rejected", func(c *alertmanager.Config) { c.InhibitRules[0].SourceMatchers = nil }, alertmanager.CheckInhibitRule, "inhibit_rules[0].source_matchers", "every alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sample()
			tc.mutate(c)
			errs := c.Validate()
			var found bool
			for _, err := range errs {
				var d *diag.Error
				if !errors.As(err, &d) {
					t.Fatalf("finding %v is not a *diag.Error", err)
				}
				if strings.Contains(d.Message, "s3cr3t") {
					t.Errorf("finding repeats the secret: %v", d)
				}
				if d.ID == tc.id && d.Path == tc.path && strings.Contains(d.Message, tc.text) {
					found = true
				}
			}
			if !found {
				t.Errorf("want finding [%s] %s: …%s…, got %v", tc.id, tc.path, tc.text, errs)
			}
			if _, err := alertmanager.Render(c); err == nil {
				t.Error("alertmanager.Render accepted a config with findings")
			}
		})
	}
}

func TestValidateAcceptsSample(t *testing.T) {
	if errs := sample().Validate(); len(errs) > 0 {
		t.Fatalf("sample config has findings: %v", errs)
	}
}

func TestRenderLoadsAndIsDeterministic(t *testing.T) {
	a, err := alertmanager.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := alertmanager.Render(sample())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("alertmanager.Render is not deterministic:\n%s\n---\n%s", a, b)
		}
	}
	if bytes.HasPrefix(a, []byte("#")) {
		t.Errorf("without WithHeader the file has no header:\n%s", a)
	}
	if h, _ := alertmanager.Render(sample(), alertmanager.WithHeader("# generated\n")); !bytes.HasPrefix(h, []byte("# generated\nglobal:")) {
		t.Errorf("WithHeader is not the first line:\n%s", h)
	}
	for _, want := range []string{
		`- severity="critical"`,
		`- severity=~"warning|info"`,
		"routing_key_file: /run/secrets/pd",
		"api_url_file: /run/secrets/slack",
		"auth_password_file: /run/secrets/smtp",
		"require_tls: false",
		"url: http://127.0.0.1:9999/v2/enqueue",
		"group_wait: 10s",
		"repeat_interval: 4h",
		"group_by: [alertname, job]",
	} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("rendered file lacks %q:\n%s", want, a)
		}
	}
	cfg, errs := alertmanager.Load(a)
	if len(errs) > 0 {
		t.Fatalf("Alertmanager rejects the rendered file: %v\n%s", errs, a)
	}
	if got := len(cfg.Receivers); got != 4 {
		t.Errorf("loaded %d receivers, want 4", got)
	}
	pd := cfg.Receivers[1].PagerdutyConfigs[0]
	if pd.RoutingKeyFile != "/run/secrets/pd" || pd.URL.String() != "http://127.0.0.1:9999/v2/enqueue" {
		t.Errorf("PagerDuty settings lost on the way: key file %q, url %q", pd.RoutingKeyFile, pd.URL)
	}
	if em := cfg.Receivers[0].EmailConfigs[0]; em.RequireTLS == nil || *em.RequireTLS {
		t.Errorf("require_tls false was not kept: %v", em.RequireTLS)
	}
}

func TestLoadReportsWhere(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		path string
		text string
	}{
		{"an unknown field names its line and path", "route:\n  receiver: a\n  recevier: b\nreceivers:\n- name: a\n", "route.recevier", "recevier"},
		{"an undefined receiver names the route that uses it", "route:\n  receiver: a\n  routes:\n  - receiver: b\n    matchers: ['x=\"y\"']\nreceivers:\n- name: a\n", "route.routes[0].receiver", `undefined receiver "b"`},
		{"a duplicate receiver names the second definition", "route:\n  receiver: a\nreceivers:\n- name: a\n- name: a\n", "receivers[1].name", "not unique"},
		{"a missing route is reported", "receivers:\n- name: a\n", "route", "no route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := alertmanager.Load([]byte(tc.yaml))
			if cfg != nil || len(errs) == 0 {
				t.Fatalf("alertmanager.Load accepted bad input")
			}
			d := diag.As(errs[0])
			if d.ID != alertmanager.CheckLoad || d.Path != tc.path || !strings.Contains(d.Message, tc.text) {
				t.Errorf("got %+v, want path %q and message containing %q", d, tc.path, tc.text)
			}
		})
	}
}

func TestRouteTests(t *testing.T) {
	data, err := alertmanager.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	pass := []alertmanager.RouteTest{
		{Name: "a critical alert pages", Labels: map[string]string{"severity": "critical"}, Receivers: []string{"pager"}},
		{Name: "a team alert is audited and then routed by severity", Labels: map[string]string{"team": "db", "severity": "info"}, Receivers: []string{"audit", "chat"}},
		{Name: "an alert without severity goes to the default", Labels: map[string]string{"alertname": "X"}, Receivers: []string{"default"}},
	}
	if r := alertmanager.RunRouteTests(data, pass); r.Failed != 0 || r.Passed != len(pass) {
		t.Errorf("passing tests failed: %+v", r)
	}
	fail := []alertmanager.RouteTest{
		{Name: "wrong receiver", Labels: map[string]string{"severity": "critical"}, Receivers: []string{"chat"}},
		{Name: "wrong order", Labels: map[string]string{"team": "db", "severity": "info"}, Receivers: []string{"chat", "audit"}},
		{Name: "no receivers expected", Labels: map[string]string{}, Receivers: nil},
	}
	r := alertmanager.RunRouteTests(data, fail)
	if r.Failed != len(fail) || r.Passed != 0 || r.Err() == nil {
		t.Fatalf("failing tests passed: %+v", r)
	}
	if want := "exp receivers: chat\n  got receivers: pager"; !strings.Contains(r.Failures[0], want) {
		t.Errorf("failure message %q lacks %q", r.Failures[0], want)
	}
	if r := alertmanager.RunRouteTests([]byte("receivers: []\n"), pass); r.Failed != len(pass) {
		t.Errorf("tests against an unloadable file did not fail: %+v", r)
	}
}

func TestInhibitionTests(t *testing.T) {
	data, err := alertmanager.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	crit := map[string]string{"alertname": "C", "severity": "critical", "family": "f", "job": "api"}
	warn := map[string]string{"alertname": "W", "severity": "warning", "family": "f", "job": "api"}
	warnOtherJob := map[string]string{"alertname": "W", "severity": "warning", "family": "f", "job": "web"}
	warnNoFamily := map[string]string{"alertname": "W2", "severity": "warning", "job": "api"}
	critNoFamily := map[string]string{"alertname": "C2", "severity": "critical", "job": "api"}
	pass := []alertmanager.InhibitionTest{
		{Name: "a critical mutes its warning twin", Firing: []map[string]string{crit, warn}, Muted: []map[string]string{warn}},
		{Name: "a critical of another job mutes nothing", Firing: []map[string]string{crit, warnOtherJob}},
		{Name: "a warning alone is not muted", Firing: []map[string]string{warn}},
		{Name: "a label missing on both sides counts as equal", Firing: []map[string]string{critNoFamily, warnNoFamily}, Muted: []map[string]string{warnNoFamily}},
	}
	if r := alertmanager.RunInhibitionTests(data, pass); r.Failed != 0 || r.Passed != len(pass) {
		t.Errorf("passing tests failed: %+v", r)
	}
	fail := []alertmanager.InhibitionTest{
		{Name: "expects a mute that does not happen", Firing: []map[string]string{crit, warnOtherJob}, Muted: []map[string]string{warnOtherJob}},
		{Name: "expects no mute but one happens", Firing: []map[string]string{crit, warn}},
		{Name: "expects a mute of an alert that is not firing", Firing: []map[string]string{crit}, Muted: []map[string]string{warn}},
	}
	r := alertmanager.RunInhibitionTests(data, fail)
	if r.Failed != len(fail) || r.Passed != 0 {
		t.Fatalf("failing tests passed: %+v", r)
	}
	if !strings.Contains(r.Failures[1], "exp muted: (none)") || !strings.Contains(r.Failures[1], `got muted: {alertname="W"`) {
		t.Errorf("failure message lacks exp/got: %q", r.Failures[1])
	}
}

func TestAmtoolArgs(t *testing.T) {
	got := alertmanager.RouteTest{Labels: map[string]string{"severity": "info", "alertname": "X"}, Receivers: []string{"a", "b"}}.AmtoolArgs("am.yml")
	want := "config routes test --config.file=am.yml --verify.receivers=a,b alertname=X severity=info"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// TestAmtool checks the rendered sample with amtool 0.25 (the Go library is
// newer and accepts fields 0.25 rejects) and the current amtool.
func TestAmtool(t *testing.T) {
	data, err := alertmanager.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	tooltest.CheckAlertmanager(t, data, []alertmanager.RouteTest{
		{Name: "continue reaches two receivers", Labels: map[string]string{"team": "db", "severity": "info"}, Receivers: []string{"audit", "chat"}},
		{Name: "critical pages", Labels: map[string]string{"severity": "critical"}, Receivers: []string{"pager"}},
	})
	// amtool must also fail a wrong expectation, or the checks above prove nothing.
	file := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := alertmanager.RouteTest{Labels: map[string]string{"severity": "critical"}, Receivers: []string{"chat"}}
	for _, amtool := range tooltest.All(t, tooltest.Amtool) {
		if out, err := exec.Command(amtool.Path, wrong.AmtoolArgs(file)...).CombinedOutput(); err == nil {
			t.Errorf("amtool (%s) accepted a wrong receiver list:\n%s", amtool.Name, out)
		}
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{`severity="critical"`, `a=~"b|c"`, `x!=""`, `a=b`, `"a b"="c"`, `a="\"q\""`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := alertmanager.ParseMatcher(s)
		if err != nil {
			return
		}
		// What alertmanager.Render writes must parse back to the same matcher.
		again, err := alertmanager.ParseMatcher(m.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", m.String(), s, err)
		}
		if again.String() != m.String() {
			t.Fatalf("canonical form is not stable: %q → %q", m.String(), again.String())
		}
	})
}
