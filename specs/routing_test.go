package specs

import (
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/dispatch"
	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// Another test file of specs may define -update too; whoever runs first
// defines it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

const routingGolden = "testdata/routing_default.golden.yml"

// drillConfig points every integration at loopback capture servers, as
// an end-to-end drill does, with short timings, a pinned selector and two
// identity labels: every setting differs from Default().
func drillConfig() Config {
	c := Default()
	c.Service.IdentityLabels = []string{"job", "instance"}
	c.Service.Selector = `job="checkout"`
	am := &c.Alertmanager
	am.ResolveTimeout = Duration(time.Minute)
	am.Critical = RouteTiming{Duration(time.Second), Duration(2 * time.Second), Duration(3 * time.Second)}
	am.Warning = RouteTiming{Duration(2 * time.Second), Duration(3 * time.Second), Duration(4 * time.Second)}
	am.Info = RouteTiming{Duration(3 * time.Second), Duration(4 * time.Second), Duration(5 * time.Second)}
	am.Default = RouteTiming{Duration(4 * time.Second), Duration(5 * time.Second), Duration(6 * time.Second)}
	am.PagerDuty = PagerDuty{RoutingKeyFile: "/tmp/drill/pd_key", URL: "http://127.0.0.1:18080/v2/enqueue"}
	am.Slack = Slack{APIURLFile: "/tmp/drill/slack_url", CriticalChannel: "#crit", WarningChannel: "#warn", InfoChannel: "#info", DefaultChannel: "#other"}
	am.Email = Email{To: "oncall@drill.test", From: "am@drill.test", Smarthost: "127.0.0.1:2525", AuthUsername: "am", AuthPasswordFile: "/tmp/drill/smtp_password", RequireTLS: false}
	return c
}

func configsUnderTest() []struct {
	name string
	c    Config
} {
	noLogin := Default()
	noLogin.Alertmanager.Email.AuthUsername = ""
	noIdentity := Default()
	noIdentity.Service.IdentityLabels = nil
	return []struct {
		name string
		c    Config
	}{
		{"the embedded default spec", Default()},
		{"a loopback drill spec with short timings and a pinned selector", drillConfig()},
		{"a spec without an SMTP login", noLogin},
		{"a spec without identity labels", noIdentity},
	}
}

func TestRoutingGolden(t *testing.T) {
	got, err := alertmanager.Render(Routing(Default()), alertmanager.WithHeader(GeneratedHeader))
	if err != nil {
		t.Fatal(err)
	}
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(routingGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(routingGolden)
	if err != nil {
		t.Fatalf("%v (run go test ./specs -run TestRoutingGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendered Alertmanager config differs from %s (rerun with -update if intended):\n%s", routingGolden, got)
	}
}

// TestRoutingPassesItsTests renders each spec, loads it with Alertmanager's
// loader, runs the typed route and inhibition tests in process, and checks
// the file and every route test with the Alertmanager 0.25 amtool.
func TestRoutingPassesItsTests(t *testing.T) {
	for _, tc := range configsUnderTest() {
		t.Run(tc.name, func(t *testing.T) {
			if errs := RoutingFindings(tc.c); len(errs) > 0 {
				t.Fatalf("findings: %v", errs)
			}
			data, err := alertmanager.Render(Routing(tc.c))
			if err != nil {
				t.Fatal(err)
			}
			if _, errs := alertmanager.Load(data); len(errs) > 0 {
				t.Fatalf("Alertmanager rejects the file: %v\n%s", errs, data)
			}
			rt := RouteTests(tc.c)
			if r := alertmanager.RunRouteTests(data, rt); r.Failed > 0 || r.Passed != len(rt) {
				t.Errorf("route tests: %d passed, %d failed:\n%s", r.Passed, r.Failed, strings.Join(r.Failures, "\n"))
			}
			it := InhibitionTests(tc.c)
			if r := alertmanager.RunInhibitionTests(data, it); r.Failed > 0 || r.Passed != len(it) {
				t.Errorf("inhibition tests: %d passed, %d failed:\n%s", r.Passed, r.Failed, strings.Join(r.Failures, "\n"))
			}
			tooltest.CheckAlertmanager(t, data, rt)
		})
	}
}

// TestRoutingHonoursSettings proves every field of the drill spec reaches
// the file Alertmanager loads: a capture server on loopback only sees
// notifications if URL, smarthost, TLS and timings all arrive.
func TestRoutingHonoursSettings(t *testing.T) {
	c := drillConfig()
	data, err := alertmanager.Render(Routing(c))
	if err != nil {
		t.Fatal(err)
	}
	cfg, errs := alertmanager.Load(data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := time.Duration(cfg.Global.ResolveTimeout); got != time.Minute {
		t.Errorf("resolve_timeout = %s, want 1m", got)
	}
	root := dispatch.NewRoute(cfg.Route, nil)
	if got := root.RouteOpts.GroupBy; len(got) != 3 {
		t.Errorf("group_by = %v, want alertname, job, instance", got)
	}
	for sev, want := range map[string]RouteTiming{SeverityCritical: c.Alertmanager.Critical, SeverityWarning: c.Alertmanager.Warning, SeverityInfo: c.Alertmanager.Info, "": c.Alertmanager.Default} {
		routes := root.Match(model.LabelSet{LabelSeverity: model.LabelValue(sev)})
		if len(routes) != 1 {
			t.Fatalf("severity %q matched %d routes", sev, len(routes))
		}
		o := routes[0].RouteOpts
		if o.GroupWait != want.GroupWait.Std() || o.GroupInterval != want.GroupInterval.Std() || o.RepeatInterval != want.RepeatInterval.Std() {
			t.Errorf("severity %q timings = %s/%s/%s, want %s/%s/%s", sev, o.GroupWait, o.GroupInterval, o.RepeatInterval, want.GroupWait, want.GroupInterval, want.RepeatInterval)
		}
	}
	byName := map[string]int{}
	for i, r := range cfg.Receivers {
		byName[r.Name] = i
	}
	crit := cfg.Receivers[byName[ReceiverCritical]]
	if len(crit.PagerdutyConfigs) != 1 || len(crit.SlackConfigs) != 1 || len(crit.EmailConfigs) != 1 {
		t.Fatalf("critical receiver integrations: %d PagerDuty, %d Slack, %d email; want one each", len(crit.PagerdutyConfigs), len(crit.SlackConfigs), len(crit.EmailConfigs))
	}
	pd := crit.PagerdutyConfigs[0]
	if pd.URL.String() != c.Alertmanager.PagerDuty.URL || pd.RoutingKeyFile != c.Alertmanager.PagerDuty.RoutingKeyFile {
		t.Errorf("PagerDuty url %q, key file %q", pd.URL, pd.RoutingKeyFile)
	}
	em := crit.EmailConfigs[0]
	if em.Smarthost.String() != c.Alertmanager.Email.Smarthost || em.RequireTLS == nil || *em.RequireTLS || em.AuthPasswordFile != c.Alertmanager.Email.AuthPasswordFile ||
		em.To != c.Alertmanager.Email.To || em.From != c.Alertmanager.Email.From || em.AuthUsername != c.Alertmanager.Email.AuthUsername {
		t.Errorf("email settings lost: %+v", em)
	}
	for name, channel := range map[string]string{ReceiverCritical: "#crit", ReceiverWarning: "#warn", ReceiverInfo: "#info", ReceiverDefault: "#other"} {
		r := cfg.Receivers[byName[name]]
		if len(r.SlackConfigs) != 1 || r.SlackConfigs[0].Channel != channel || r.SlackConfigs[0].APIURLFile != c.Alertmanager.Slack.APIURLFile {
			t.Errorf("receiver %s: Slack config %+v, want channel %s", name, r.SlackConfigs, channel)
		}
	}
	if n := len(cfg.Receivers[byName[ReceiverInfo]].EmailConfigs); n != 0 {
		t.Errorf("info alerts are mailed (%d email configs); the spec says Slack only", n)
	}
	if got := cfg.InhibitRules[2].Equal; !slices.Equal(got, []string{"job"}) {
		t.Errorf("metrics-absent inhibition equal = %v, want [job]: the selector pins job and absent() reports it", got)
	}
}

// TestMessagesShowAnnotations executes every message template with
// Alertmanager's template engine: a reader must see the summary, the
// severity, the value, and the runbook and dashboard links.
func TestMessagesShowAnnotations(t *testing.T) {
	tmpl, err := amtemplate.New()
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExternalURL = &url.URL{Scheme: "http", Host: "alertmanager.test"}
	a := &alert.Alert{Alert: model.Alert{
		Labels: model.LabelSet{"alertname": AlertSlowQueryRateCritical, LabelSeverity: SeverityCritical, "job": "app"},
		Annotations: model.LabelSet{
			AnnotationSummary:      "Slow queries above 10%",
			AnnotationDescription:  "12.5% of the database queries are slow",
			AnnotationRunbookURL:   "https://runbooks.test/SlowQueryRateCritical.md",
			AnnotationDashboardURL: "https://grafana.test/d/dbmon-queries?viewPanel=5",
		},
		StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}}
	data := tmpl.Data(ReceiverCritical, model.LabelSet{"alertname": AlertSlowQueryRateCritical, "job": "app"}, nil, "", a)
	want := []string{"Slow queries above 10%", "critical", "12.5% of the database queries are slow", "https://runbooks.test/SlowQueryRateCritical.md", "https://grafana.test/d/dbmon-queries?viewPanel=5"}
	r, _ := Routing(Default()).Receiver(ReceiverCritical)
	bodies := map[string]string{}
	exec := func(name, text string, html bool) {
		var out string
		var err error
		if html {
			out, err = tmpl.ExecuteHTMLString(text, data)
		} else {
			out, err = tmpl.ExecuteTextString(text, data)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bodies[name] = out
	}
	exec("slack text", r.Slack[0].Text, false)
	exec("email text", r.Email[0].Text, false)
	exec("email html", r.Email[0].HTML, true)
	for name, body := range bodies {
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, body)
			}
		}
	}
	exec("slack title", r.Slack[0].Title, false)
	exec("email subject", r.Email[0].Headers["Subject"], false)
	exec("pagerduty description", r.PagerDuty[0].Description, false)
	for _, name := range []string{"slack title", "email subject", "pagerduty description"} {
		if !strings.Contains(bodies[name], "[FIRING:1]") || !strings.Contains(bodies[name], AlertSlowQueryRateCritical) {
			t.Errorf("%s = %q, want status, count and alert name", name, bodies[name])
		}
	}
	for k, v := range r.PagerDuty[0].Details {
		exec("pagerduty detail "+k, v, false)
		if bodies["pagerduty detail "+k] == "" {
			t.Errorf("PagerDuty detail %s renders empty", k)
		}
	}
}

// TestRouteTestsCover checks the typed route tests reach every severity
// and every alert of the rules, and include unmatched alerts.
func TestRouteTestsCover(t *testing.T) {
	tests := RouteTests(Default())
	reached := map[string]bool{}
	alerts := map[string]bool{}
	for _, rt := range tests {
		if len(rt.Receivers) != 1 {
			t.Errorf("%q expects %v; every alert reaches exactly one receiver", rt.Name, rt.Receivers)
		}
		reached[strings.Join(rt.Receivers, ",")] = true
		alerts[rt.Labels["alertname"]] = true
	}
	for _, r := range []string{ReceiverCritical, ReceiverWarning, ReceiverInfo, ReceiverDefault} {
		if !reached[r] {
			t.Errorf("no route test reaches %s", r)
		}
	}
	for _, name := range AlertNames {
		if !alerts[name] {
			t.Errorf("no route test for alert %s", name)
		}
	}
}

// TestInhibitionTestsCover counts, independently of InhibitionTests, the
// critical/warning/info pairs within each family and the alerts reading
// the query metrics, and checks a test exists for each.
func TestInhibitionTestsCover(t *testing.T) {
	tests := InhibitionTests(Default())
	names := map[string]bool{}
	for _, it := range tests {
		if names[it.Name] {
			t.Errorf("duplicate inhibition test name %q", it.Name)
		}
		names[it.Name] = true
	}
	rank := map[string]int{SeverityCritical: 1, SeverityWarning: 2, SeverityInfo: 3}
	rs := RuleGroups(Default())[0].Rules
	pairs := 0
	for _, a := range rs {
		for _, b := range rs {
			if a.Labels[LabelFamily] == b.Labels[LabelFamily] && rank[a.Labels[LabelSeverity]] < rank[b.Labels[LabelSeverity]] {
				pairs++
				if n := fmt.Sprintf("%s mutes %s of the same identity", a.Alert, b.Alert); !names[n] {
					t.Errorf("missing inhibition test %q", n)
				}
			}
		}
		if a.Alert != AlertQueryMetricsAbsent {
			n1 := fmt.Sprintf("%s mutes %s, which reads the query metrics", AlertQueryMetricsAbsent, a.Alert)
			n2 := fmt.Sprintf("%s does not mute %s, which reads other metrics", AlertQueryMetricsAbsent, a.Alert)
			if !names[n1] && !names[n2] {
				t.Errorf("no metrics-absent inhibition test for %s", a.Alert)
			}
		}
	}
	// The seed fixes two critical/warning pairs and one info level.
	if pairs < 3 {
		t.Errorf("found %d severity pairs within families, want at least 3 (slow rate ×3, latency ×1)", pairs)
	}
}

// TestQueryMetricFamilies proves the metrics-absent inhibition's target
// families against the rules: an alert is muted exactly when its
// expression reads a series of the middleware's query metrics.
func TestQueryMetricFamilies(t *testing.T) {
	query := map[string]bool{}
	for _, d := range middleware.Contract() {
		if !strings.HasPrefix(d.Name, "go_sql_") {
			query[d.Name] = true
		}
	}
	known := promcheck.Default(Default().Service.IdentityLabels...)
	for _, r := range RuleGroups(Default())[0].Rules {
		if r.Alert == AlertQueryMetricsAbsent {
			continue
		}
		use, problems := known.Check(r.Expr)
		if len(problems) > 0 {
			t.Fatalf("%s: %v", r.Alert, problems)
		}
		reads := false
		for _, m := range use.Metrics {
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				if query[strings.TrimSuffix(m, suffix)] && strings.HasSuffix(m, suffix) {
					reads = true
				}
			}
		}
		if muted := slices.Contains(queryMetricFamilies(Build(Default()).Alerts), r.Labels[LabelFamily]); muted != reads {
			t.Errorf("%s (family %s) reads query metrics: %v, but metrics-absent mutes it: %v (metrics %v)", r.Alert, r.Labels[LabelFamily], reads, muted, use.Metrics)
		}
	}
}

func TestSecrets(t *testing.T) {
	got := Secrets(Default())
	want := []Secret{
		{EnvPagerDutyServiceKey, "/etc/alertmanager/secrets/pagerduty_routing_key", "alertmanager.pagerduty.routing_key_file"},
		{EnvSlackWebhookURL, "/etc/alertmanager/secrets/slack_webhook_url", "alertmanager.slack.api_url_file"},
		{EnvSMTPPassword, "/etc/alertmanager/secrets/smtp_password", "alertmanager.email.auth_password_file"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets(Default()) = %v, want %v", got, want)
	}
	c := Default()
	c.Alertmanager.Email.AuthUsername = ""
	for _, s := range Secrets(c) {
		if s.Env == EnvSMTPPassword {
			t.Errorf("without an SMTP login the config references no password file, but Secrets lists %v", s)
		}
	}
}

// TestRoutingFindings feeds bad user configs (testdata/routing_*.bad.yaml)
// through the real config loader and checks each finding names the path
// and says what is wrong, without ever repeating a secret.
func TestRoutingFindings(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []string // "path: message fragment", each must be found
		only bool     // want lists every finding
	}{
		{"an inline PagerDuty key is rejected by its config path", "routing_inline_pagerduty.bad.yaml",
			[]string{"alertmanager.pagerduty.routing_key: inline secrets are not allowed"}, true},
		{"an inline Slack webhook is reported once, not once per receiver", "routing_inline_slack.bad.yaml",
			[]string{"alertmanager.slack.api_url: inline secrets are not allowed"}, true},
		{"an inline SMTP password is rejected by its config path", "routing_inline_smtp.bad.yaml",
			[]string{"alertmanager.email.auth_password: inline secrets are not allowed"}, true},
		{"a slow critical group_wait is rejected", "routing_slow_page.bad.yaml",
			[]string{"alertmanager.critical.group_wait: critical alerts page immediately"}, true},
		{"missing files, channels and a bad smarthost are all reported at once", "routing_settings.bad.yaml",
			[]string{
				"alertmanager.pagerduty.routing_key_file: must be set",
				"alertmanager.slack.info_channel: must be set",
				"alertmanager.email.smarthost: must be host:port",
				"alertmanager.pagerduty.url: must be an absolute http(s) URL",
				"alertmanager.warning.repeat_interval: must be positive",
			}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := Load(tc.file, data)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			errs := RoutingFindings(c)
			var got []string
			for _, e := range errs {
				d := diag.As(e)
				got = append(got, d.Path+": "+d.Message)
				for _, secret := range []string{"s3cr3t", "hooks.slack.com/services"} {
					if strings.Contains(d.Error(), secret) {
						t.Errorf("finding repeats the secret: %v", d)
					}
				}
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("missing finding %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if tc.only && len(got) != len(tc.want) {
				t.Errorf("want exactly %d finding(s), got:\n%s", len(tc.want), strings.Join(got, "\n"))
			}
		})
	}
}

// TestRoutingModelErrors breaks the tree built from the default spec the
// ways a spec author could, and checks the model's findings say where.
func TestRoutingModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*alertmanager.Config)
		want   string
	}{
		{"a route to an undefined receiver", func(m *alertmanager.Config) { m.Route.Routes[1].Receiver = "dbmon-warn" },
			`route.routes[1].receiver: receiver "dbmon-warn" is not defined; defined receivers: "dbmon-critical", "dbmon-default", "dbmon-info", "dbmon-warning"`},
		{"an empty matcher", func(m *alertmanager.Config) { m.Route.Routes[0].Matchers = []string{""} },
			`route.routes[0].matchers[0]: empty matcher`},
		{"a duplicate receiver name", func(m *alertmanager.Config) { m.Receivers[3].Name = ReceiverInfo },
			`receivers[3] "dbmon-info".name: receiver name "dbmon-info" is already used by receivers[2] "dbmon-info"`},
		{"an inline secret set on the model", func(m *alertmanager.Config) { m.Receivers[0].PagerDuty[0].RoutingKey = "s3cr3t" },
			`receivers[0] "dbmon-critical".pagerduty_configs[0].routing_key: inline secrets are not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Routing(Default())
			tc.break_(m)
			var got []string
			for _, e := range m.Validate() {
				got = append(got, e.Error())
			}
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, tc.want) }) {
				t.Errorf("want finding %q, got:\n%s", tc.want, strings.Join(got, "\n"))
			}
		})
	}
}

// TestRoutingTestsCatchMistakes breaks the tree in ways a careless edit
// would, and checks the pack's own tests fail: tests that cannot fail
// prove nothing.
func TestRoutingTestsCatchMistakes(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name   string
		break_ func(*alertmanager.Config)
	}{
		{"critical and warning routes swapped", func(m *alertmanager.Config) {
			m.Route.Routes[0].Receiver, m.Route.Routes[1].Receiver = m.Route.Routes[1].Receiver, m.Route.Routes[0].Receiver
		}},
		{"severity inhibition ignores identity", func(m *alertmanager.Config) { m.InhibitRules[0].Equal = []string{LabelFamily} }},
		{"severity inhibition ignores family", func(m *alertmanager.Config) {
			m.InhibitRules[0].Equal = append([]string(nil), c.Service.IdentityLabels...)
		}},
		{"warning no longer mutes info", func(m *alertmanager.Config) { m.InhibitRules = slices.Delete(m.InhibitRules, 1, 2) }},
		{"metrics-absent mutes the pool alerts too", func(m *alertmanager.Config) {
			m.InhibitRules[2].TargetMatchers = []string{`severity=~".+"`}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Routing(c)
			tc.break_(m)
			data, err := alertmanager.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			var r alertmanager.Result
			r.Add(alertmanager.RunRouteTests(data, RouteTests(c)))
			r.Add(alertmanager.RunInhibitionTests(data, InhibitionTests(c)))
			if r.Failed == 0 {
				t.Errorf("the pack's routing and inhibition tests all pass against a broken tree")
			}
		})
	}
}
