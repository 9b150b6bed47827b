package amconfig_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/config"

	"github.com/dbmonctl/dbmonctl/pkg/amconfig"
	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
	"github.com/dbmonctl/dbmonctl/pkg/cortextest"
)

// withFiles is a configuration as written for a plain Alertmanager:
// secrets in files.
const withFiles = `# a comment that survives
global:
  resolve_timeout: 5m
route:
  receiver: team
  group_by: [alertname]
receivers:
  - name: team
    pagerduty_configs:
      - routing_key_file: /s/pd
    slack_configs:
      - api_url_file: /s/slack
        channel: '#db'
    email_configs:
      - to: oncall@example.com
        from: am@example.com
        smarthost: smtp.example.com:587
        auth_username: am@example.com
        auth_password_file: /s/smtp
    webhook_configs:
      - url: http://hooks.example.com/x
        http_config:
          basic_auth:
            username: u
            password_file: /s/basic
`

var values = map[string]string{
	"/s/pd":    "pd-key-0123456789",
	"/s/slack": "https://hooks.slack.com/services/T0/B0/slack-s3cr3t",
	"/s/smtp":  `smtp "pass": with # odd chars`,
	"/s/basic": "basic-s3cr3t",
}

func secretValues() []string {
	var out []string
	for _, v := range values {
		out = append(out, v)
	}
	return out
}

func TestInlineSecrets(t *testing.T) {
	out, err := amconfig.InlineSecrets([]byte(withFiles), values)
	if err != nil {
		t.Fatal(err)
	}
	left, err := amconfig.FileSettings(out)
	if err != nil || len(left) != 0 {
		t.Fatalf("file settings left: %v %v", left, err)
	}
	if !strings.HasPrefix(string(out), "# a comment that survives\n") {
		t.Errorf("the header comment was lost:\n%s", out)
	}
	cfg, err := config.Load(string(out))
	if err != nil {
		t.Fatalf("the result does not load: %v", err)
	}
	r := cfg.Receivers[0]
	if got := string(r.PagerdutyConfigs[0].RoutingKey); got != values["/s/pd"] {
		t.Errorf("routing_key %q", got)
	}
	if got := r.SlackConfigs[0].APIURL.String(); got != values["/s/slack"] {
		t.Errorf("api_url %q", got)
	}
	if got := string(r.EmailConfigs[0].AuthPassword); got != values["/s/smtp"] {
		t.Errorf("auth_password %q", got)
	}
	if got := string(r.WebhookConfigs[0].HTTPConfig.BasicAuth.Password); got != values["/s/basic"] {
		t.Errorf("basic_auth password %q", got)
	}
}

func TestInlineSecretsLeavesUnknownPaths(t *testing.T) {
	out, err := amconfig.InlineSecrets([]byte(withFiles), map[string]string{"/s/pd": "k1234"})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := amconfig.FileSettings(out)
	var got []string
	for _, f := range left {
		got = append(got, f.String())
	}
	want := "12:9: receivers[0].slack_configs[0].api_url_file: /s/slack"
	if len(got) != 3 || got[0] != want {
		t.Errorf("left %q, want 3 starting with %q", got, want)
	}
}

func TestInlineSecretsRefusals(t *testing.T) {
	cases := []struct{ name, cfg, want string }{
		{"a file setting with no secret twin", `
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: http://x.example.com
        http_config:
          tls_config:
            ca_file: /s/pd
`, `receivers[0].webhook_configs[0].http_config.tls_config.ca_file: Alertmanager has no inline secret setting "ca"`},
		{"both the file and the value", `
route: {receiver: r}
receivers:
  - name: r
    pagerduty_configs:
      - routing_key: abc
        routing_key_file: /s/pd
`, "routing_key is set too"},
		{"not YAML", "route: [", "parse Alertmanager configuration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := amconfig.InlineSecrets([]byte(c.cfg), values)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	inline, err := amconfig.InlineSecrets([]byte(withFiles), values)
	if err != nil {
		t.Fatal(err)
	}
	red, err := amconfig.Redact(string(inline))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if strings.Contains(red, v) {
			t.Errorf("redacted text holds %q:\n%s", v, red)
		}
	}
	// The webhook URL is a secret in Alertmanager's types; the channel is not.
	for _, want := range []string{"- routing_key: <secret>\n", "- api_url: <secret>\n", " auth_password: <secret>\n", " password: <secret>\n", "- url: <secret>\n", "channel: '#db'"} {
		if !strings.Contains(red, want) {
			t.Errorf("redacted text lacks %q:\n%s", want, red)
		}
	}
	// Literals are redacted wherever they are.
	red, err = amconfig.Redact("route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['x-literal-s3cr3t']\n", "literal-s3cr3t")
	if err != nil || strings.Contains(red, "literal-s3cr3t") {
		t.Errorf("literal not redacted: %v\n%s", err, red)
	}
	if _, err := amconfig.Redact("a: [" + values["/s/pd"]); err == nil || strings.Contains(err.Error(), values["/s/pd"]) {
		t.Errorf("bad YAML: err %v", err)
	}
}

func TestPlanDiffShowsSecretChangesWithoutValues(t *testing.T) {
	cur, _ := amconfig.InlineSecrets([]byte(withFiles), values)
	changed := map[string]string{}
	for k, v := range values {
		changed[k] = v
	}
	changed["/s/pd"] = "new-pd-key-9876543210"
	des, _ := amconfig.InlineSecrets([]byte(withFiles), changed)

	p, err := amconfig.NewPlan(amconfig.Config{AlertmanagerConfig: string(cur)}, true, amconfig.Config{AlertmanagerConfig: string(des)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Changed || !p.Exists {
		t.Fatalf("plan %+v", p)
	}
	want := "-      - routing_key: <secret>\n+      - routing_key: <secret (changed)>\n"
	if !strings.Contains(p.Diff, want) {
		t.Errorf("diff lacks %q:\n%s", want, p.Diff)
	}
	if strings.Count(p.Diff, "\n-") != 1 || strings.Count(p.Diff, "\n+") != 2 { // +++ and the one change
		t.Errorf("diff shows more than the changed secret:\n%s", p.Diff)
	}
	for _, v := range append(secretValues(), changed["/s/pd"]) {
		if strings.Contains(p.Diff, v) {
			t.Errorf("diff holds a secret %q", v)
		}
	}

	p, _ = amconfig.NewPlan(amconfig.Config{AlertmanagerConfig: string(des)}, true, amconfig.Config{AlertmanagerConfig: string(des), TemplateFiles: map[string]string{}})
	if p.Changed || p.Diff != "" {
		t.Errorf("identical configurations planned a change: %+v", p)
	}
	p, _ = amconfig.NewPlan(amconfig.Config{AlertmanagerConfig: string(des)}, true, amconfig.Config{AlertmanagerConfig: string(des) + "\n\n"})
	if !p.Changed || !strings.Contains(p.Diff, "differ only in layout") {
		t.Errorf("a layout change: %+v", p)
	}
	p, _ = amconfig.NewPlan(amconfig.Config{}, false, amconfig.Config{AlertmanagerConfig: string(des), TemplateFiles: map[string]string{"a.tmpl": "{{ define \"x\" }}{{ end }}\n"}})
	if !p.Changed || p.Exists || !strings.Contains(p.Diff, "+++ b/template_files/a.tmpl") ||
		!strings.Contains(p.Diff, "+      - routing_key: <secret>\n") || strings.Contains(p.Diff, amconfig.RedactedChanged) {
		t.Errorf("a creation: %+v", p)
	}
}

func newClient(t *testing.T, srv *cortextest.Server, tenant, path string) *amconfig.Client {
	t.Helper()
	api, err := apiclient.New(apiclient.Options{Address: srv.URL, Tenant: tenant, Token: "tok-1234", Secrets: secretValues(),
		Retry: apiclient.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := amconfig.NewClient(api, path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAgainstCortex(t *testing.T) {
	srv := cortextest.New("tok-1234")
	defer srv.Close()
	ctx := context.Background()
	c := newClient(t, srv, "t1", "")

	if _, found, err := c.Get(ctx); err != nil || found {
		t.Fatalf("empty tenant: found %v err %v", found, err)
	}
	// Cortex refuses file settings, naming them.
	err := c.Set(ctx, amconfig.Config{AlertmanagerConfig: withFiles})
	if !errors.Is(err, apiclient.ErrRejected) || !strings.Contains(err.Error(), "is not allowed") {
		t.Errorf("file settings: %v", err)
	}
	inline, _ := amconfig.InlineSecrets([]byte(withFiles), values)
	want := amconfig.Config{AlertmanagerConfig: string(inline)}
	if err := c.Set(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, found, err := c.Get(ctx)
	if err != nil || !found || got.AlertmanagerConfig != want.AlertmanagerConfig {
		t.Fatalf("read back: found %v err %v equal %v", found, err, got.AlertmanagerConfig == want.AlertmanagerConfig)
	}
	if p, _ := amconfig.NewPlan(got, found, want); p.Changed {
		t.Errorf("the stored configuration does not equal what was sent:\n%s", p.Diff)
	}
	if _, found, _ := newClient(t, srv, "t2", "").Get(ctx); found {
		t.Error("another tenant sees t1's configuration")
	}
	// An answer quoting a secret is redacted.
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Status: http.StatusBadRequest, Body: "bad url " + values["/s/slack"]})
	err = c.Set(ctx, want)
	if err == nil || strings.Contains(err.Error(), values["/s/slack"]) {
		t.Errorf("err %v", err)
	}
	srv.ClearFaults()
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := c.Get(ctx); found {
		t.Error("deleted configuration still found")
	}
	// A wrong path is not "no configuration".
	if _, _, err := newClient(t, srv, "t1", "/alertmanager/api/v1/alerts").Get(ctx); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("wrong path: %v", err)
	}
	srv.SetLimits(cortextest.Limits{MaxConfigSize: 100})
	if err := c.Set(ctx, want); !errors.Is(err, apiclient.ErrRejected) || !strings.Contains(err.Error(), "too big") {
		t.Errorf("large configuration: %v", err)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add(withFiles)
	f.Add("receivers: [{name: r, slack_configs: [{api_url: x}]}]")
	f.Add("a: &x [1]\nb: *x\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		out, err := amconfig.Redact(cfg, "fuzz-secret")
		if err == nil && strings.Contains(out, "fuzz-secret") {
			t.Errorf("literal secret left in %q", out)
		}
		_, _ = amconfig.InlineSecrets([]byte(cfg), values)
		_, _ = amconfig.FileSettings([]byte(cfg))
	})
}
