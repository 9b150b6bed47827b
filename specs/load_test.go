package specs

import (
	"bytes"
	"os"

	"github.com/dbmonctl/dbmonctl/specs/internal/configdoc"

	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

func TestLoadOverlaysDefaults(t *testing.T) {
	c, src, err := Load("dbmonctl.yaml", []byte(`
thresholds:
  slow_rate:
    critical:
      threshold: 0.2
  buckets: [0.05, 0.1, 0.5, 1, 2]
alerting:
  team: payments
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Thresholds.SlowRate.Critical.Threshold = 0.2
	want.Thresholds.Buckets = []float64{0.05, 0.1, 0.5, 1, 2}
	want.Alerting.Team = "payments"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("overlay changed more than the file set:\ngot  %+v\nwant %+v", c, want)
	}
	if p := src.Positions["thresholds.slow_rate.critical.threshold"]; p != (Pos{5, 18}) {
		t.Errorf("position of critical threshold = %+v, want 5:18", p)
	}
}

func TestLoadEmptyFileKeepsDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n"} {
		c, _, err := Load("x.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q changed the defaults", in)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, _, err := Load("d.yaml", []byte("alerting:\n  bogus: 1\n  team: [x]\nthresholds:\n  rate_window: soon\n"))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 findings, got %v", err)
	}
	var e *diag.Error
	if !errors.As(list[0], &e) || e.File != "d.yaml" || e.Line != 2 || e.Column != 3 || e.Path != "alerting.bogus" {
		t.Errorf("first finding = %+v", e)
	}
}

func TestDurationNotation(t *testing.T) {
	c, _, err := Load("x.yaml", []byte("thresholds:\n  rate_window: 1h30m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Thresholds.RateWindow.Std() != 90*time.Minute || c.Thresholds.RateWindow.String() != "1h30m" {
		t.Errorf("rate_window = %v (%s)", c.Thresholds.RateWindow.Std(), c.Thresholds.RateWindow)
	}
}

func TestDefaultYAMLRoundTrips(t *testing.T) {
	data, err := DefaultYAML()
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Load("dbmonctl.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Error("the file init writes does not load back to the defaults")
	}
	for _, want := range []string{"# SlowQuery is the middleware's slow threshold", "slow_query: 100ms", "critical_channel: '#database-alerts'"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("init file lacks %q", want)
		}
	}
	if strings.Contains(string(data), "api_url:") || strings.Contains(string(data), "auth_password:") {
		t.Error("init file suggests an inline secret field")
	}
}

func TestDefaultHasNoFindings(t *testing.T) {
	if errs := validateConfig(Default()); len(errs) > 0 {
		t.Fatalf("the embedded default has findings: %v", diag.List(errs))
	}
}

// FuzzLoad: the config loader never panics, never takes more than a few
// seconds, and either returns findings or a config, never both. Run it with
// -fuzzminimizetime 5s (see README): the seeds are whole config files.
func FuzzLoad(f *testing.F) {
	seed, _ := DefaultYAML()
	f.Add(seed)
	f.Add([]byte("thresholds:\n  slow_rate:\n    warning: {threshold: 0.2, for: 1m}\n"))
	f.Add([]byte("a: &x [1, *x]\n"))
	f.Add([]byte("thresholds: !!binary AAAA\n"))
	f.Add([]byte("prometheus:\n  targets: [[a]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A config loader must answer promptly whatever the input: a hang
		// crashes the worker, which makes the fuzzer keep the input.
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("Load has not returned after 10s on %d bytes: %q", len(data), data))
		})
		defer watchdog.Stop()
		c, _, err := Load("fuzz.yaml", data)
		if err != nil {
			var list diag.List
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty findings list: %v", err)
			}
			return
		}
		_ = validateConfig(c)
	})
}

func TestLoadSyntaxErrorAtTheRealLineAndColumn(t *testing.T) {
	for _, tc := range []struct {
		name, in        string
		line, col       int
		messageContains string
	}{
		{"an unclosed flow sequence is reported where it should have closed", "alerting:\n  team: db\nthresholds:\n  buckets: [0.1, 0.5\n  slow_query: 1s\n", 5, 3, "did not find expected ',' or ']'"},
		{"a key indented one column short", "alerting:\n  team: db\n grafana_url: x\n", 3, 2, "did not find expected key"},
		{"a tab in the indentation", "alerting:\n\tteam: db\n", 2, 1, "cannot start any token"},
		{"a mapping value where none is allowed", "alerting:\n  team: a: b\n", 2, 9, "mapping values are not allowed"},
		{"an unterminated quoted string", "alerting:\n  team: \"db\nthresholds: {}\n", 2, 9, "unexpected end of stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load("c.yaml", []byte(tc.in))
			var e *diag.Error
			if !errors.As(err, &e) {
				t.Fatalf("want a finding, got %v", err)
			}
			if e.ID != CheckConfigSyntax || e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Message, tc.messageContains) {
				t.Errorf("got %s [%s] at %d:%d, want %d:%d containing %q", e, e.ID, e.Line, e.Column, tc.line, tc.col, tc.messageContains)
			}
		})
	}
}

func TestValidateWarnsOnAnEmptyFile(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n"} {
		c, src, err := Load("empty.yaml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		errs := Validate(c, src)
		if len(errs) != 1 || !diag.IsWarning(errs[0]) || diag.As(errs[0]).ID != CheckConfigEmpty || diag.As(errs[0]).File != "empty.yaml" {
			t.Errorf("%q: want one config-empty warning in empty.yaml, got %v", in, diag.List(errs))
		}
	}
}

func TestFindingIsLocatedAtTheRelatedSettingTheFileChanged(t *testing.T) {
	c, src, err := Load("c.yaml", []byte("prometheus:\n  scrape_interval: 2m\n"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, err := range Validate(c, src) {
		e := diag.As(err)
		if e.ID == CheckRateWindow && e.Path == "thresholds.rate_window" {
			found = true
			if e.File != "c.yaml" || e.Line != 2 || e.Column != 20 {
				t.Errorf("rate-window finding at %s:%d:%d, want c.yaml:2:20 (the scrape interval that broke it)", e.File, e.Line, e.Column)
			}
		}
	}
	if !found {
		t.Fatal("no rate-window finding for a 2m scrape interval and a 5m rate window")
	}
}

func TestValidateRejectsAnEmailThatIsNotAnAddress(t *testing.T) {
	c, src, err := Load("c.yaml", []byte("alertmanager:\n  email:\n    to: oncall at example dot com\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := diag.Errors(Validate(c, src))
	if len(errs) == 0 || diag.As(errs[0]).Path != "alertmanager.email.to" || diag.As(errs[0]).Line != 3 {
		t.Fatalf("want a finding at c.yaml:3 on alertmanager.email.to, got %v", diag.List(errs))
	}
	c.Alertmanager.Email.To = "a@example.com, Team B <b@example.com>"
	if errs := diag.Errors(Validate(c, Source{})); len(errs) > 0 {
		t.Errorf("a list of addresses was rejected: %v", diag.List(errs))
	}
}

func TestValidateWarnsWhenRunbookLinksPointAtDefaultRunbooksForOtherThresholds(t *testing.T) {
	c, src, err := Load("c.yaml", []byte("thresholds:\n  slow_rate:\n    critical: {threshold: 0.2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := Validate(c, src)
	if len(errs) != 1 || !diag.IsWarning(errs[0]) || diag.As(errs[0]).ID != CheckRunbookURL {
		t.Fatalf("want one runbook-url warning, got %v", diag.List(errs))
	}
	if e := diag.As(errs[0]); e.File != "c.yaml" || e.Line != 2 {
		t.Errorf("warning at %s:%d, want c.yaml:2 (the thresholds the file changed)", e.File, e.Line)
	}
	c.Alerting.RunbookBaseURL = "https://runbooks.example.com/db"
	if errs := Validate(c, Source{}); len(errs) > 0 {
		t.Errorf("own runbook URL still warned: %v", diag.List(errs))
	}
}

func TestValidateFindsASelectorThatNoScrapedSeriesMatches(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"a job the generated scrape config does not produce", "service:\n  selector: job=\"orders-api\"\n", true},
		{"the job the scrape config produces", "service:\n  selector: job=\"orders-api\"\nprometheus:\n  job_name: orders-api\n", false},
		{"a regex matching the job", "service:\n  selector: job=~\"app|api\"\n", false},
		{"an instance that is not a target", "service:\n  selector: instance=\"db:9100\"\n", true},
		{"a label the scrape config does not control", "service:\n  selector: job=\"app\", env=\"prod\"\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, src, err := Load("c.yaml", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got *diag.Error
			for _, err := range Validate(c, src) {
				if e := diag.As(err); e.ID == CheckSelectorScrape {
					got = e
				}
			}
			if (got != nil) != tc.want {
				t.Fatalf("selector-scrape finding = %v, want %v", got, tc.want)
			}
			if got != nil && (got.Line != 2 || got.Path != "service.selector") {
				t.Errorf("finding at line %d path %s, want line 2 on service.selector", got.Line, got.Path)
			}
		})
	}
}

func TestConfigDocsAreCurrent(t *testing.T) {
	docs, err := configdoc.ExtractFiles(os.ReadFile, configdoc.Files...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := configdoc.Render("specs", "fieldDocs", strings.Join(configdoc.Files, ", "), docs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("configdoc_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("configdoc_gen.go is stale: run go generate ./specs")
	}
}

// A service's thresholds and a team's receivers are merged over the
// file's top-level values even when the file sets those after them.
func TestLoadMergesBlocksOverLaterTopLevelValues(t *testing.T) {
	c, _, err := Load("dbmonctl.yaml", []byte(`
services:
  - {name: orders, selector: 'job="orders"', team: orders, thresholds: {latency_p99: {critical: {threshold: 5}}}}
teams:
  orders: {slack: {critical_channel: "#orders"}}
thresholds:
  latency_p99: {warning: {threshold: 2.5}}
alertmanager:
  pagerduty: {routing_key_file: /run/pd.key}
`))
	if err != nil {
		t.Fatal(err)
	}
	th := c.Services[0].Thresholds
	if th.LatencyP99.Warning.Threshold != 2.5 || th.LatencyP99.Critical.Threshold != 5 {
		t.Errorf("service thresholds: warning %v (want the file's 2.5), critical %v (want 5)", th.LatencyP99.Warning.Threshold, th.LatencyP99.Critical.Threshold)
	}
	team := c.Teams["orders"]
	if team.PagerDuty.RoutingKeyFile != "/run/pd.key" || team.Slack.CriticalChannel != "#orders" {
		t.Errorf("team orders: routing key file %q (want the file's /run/pd.key), channel %q", team.PagerDuty.RoutingKeyFile, team.Slack.CriticalChannel)
	}
}
