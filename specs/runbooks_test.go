package specs

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

var rbAllAlerts = []string{
	AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo,
	AlertQueryLatencyP99Critical, AlertQueryLatencyP99Warning,
	AlertQueryRateSpike, AlertQueryTrafficDrop, AlertQueryMetricsAbsent,
	AlertQueryErrorRateHigh, AlertSlowQueryRateByType,
	AlertConnectionPoolSaturated, AlertConnectionPoolWaits,
}

// rbModified is a Config whose every number differs from the default, so a
// runbook that printed a constant instead of reading the Config would fail.
func rbModified() Config {
	c := Default()
	t := &c.Thresholds
	t.SlowQuery = Duration(250 * time.Millisecond)
	t.RateWindow = Duration(3 * time.Minute)
	t.MinQueryRate = 0.37
	t.SlowRate.Info = Level{Threshold: 0.031, For: Duration(41 * time.Minute)}
	t.SlowRate.Warning = Level{Threshold: 0.072, For: Duration(12 * time.Minute)}
	t.SlowRate.Critical = Level{Threshold: 0.137, For: Duration(7 * time.Minute)}
	t.SlowRateByType = Level{Threshold: 0.33, For: Duration(17 * time.Minute)}
	t.LatencyP99.Warning = Level{Threshold: 0.25, For: Duration(19 * time.Minute)}
	t.LatencyP99.Critical = Level{Threshold: 2.5, For: Duration(6 * time.Minute)}
	t.ErrorRate = Level{Threshold: 0.015, For: Duration(8 * time.Minute)}
	t.RateSpike = Level{Threshold: 3.5, For: Duration(13 * time.Minute)}
	t.TrafficDrop = Level{Threshold: 0.4, For: Duration(14 * time.Minute)}
	t.BaselineWindow = Duration(2 * time.Hour)
	t.PoolSaturation = Level{Threshold: 0.85, For: Duration(11 * time.Minute)}
	t.PoolWait = Level{Threshold: 0.25, For: Duration(9 * time.Minute)}
	t.MetricsAbsent = Level{For: Duration(4 * time.Minute)}
	c.Service.IdentityLabels = []string{"job", "cluster"}
	c.Service.Selector = `job="orders-api"`
	c.Alerting.GrafanaURL = "https://grafana.example.net/"
	c.Dashboard.UID = "orders-db"
	c.Alertmanager.Slack.CriticalChannel = "#db-pages"
	c.Alertmanager.Slack.WarningChannel = "#db-warnings"
	c.Alertmanager.Slack.InfoChannel = "#db-fyi"
	c.Alertmanager.Email.To = "dba@orders.example.net"
	c.Prometheus.Targets = []string{"orders:9102"}
	c.Prometheus.MetricsPath = "/internal/metrics"
	return c
}

func TestRunbooksCoverEveryAlert(t *testing.T) {
	books := rbBooks(t, Default())
	if len(books) != len(rbAllAlerts) {
		t.Errorf("got %d runbooks, want %d", len(books), len(rbAllAlerts))
	}
	for _, a := range rbAllAlerts {
		b, ok := books[a]
		if !ok {
			t.Errorf("no runbook for %s", a)
			continue
		}
		if !bytes.HasPrefix(b, []byte(RunbookHeader)) {
			t.Errorf("%s: does not start with %q", a, RunbookHeader)
		}
		if !bytes.Contains(b, []byte("\n# "+a+"\n")) {
			t.Errorf("%s: no title naming the alert", a)
		}
	}
}

func TestRunbooksHaveEverySection(t *testing.T) {
	sections := []string{
		"## Meaning\n", "## Impact and who is notified\n", "## Likely causes\n",
		"## Check first\n", "## Mitigate\n", "## Links\n",
	}
	c := Default()
	for name, b := range rbBooks(t, c) {
		text := string(b)
		last := -1
		for _, s := range sections {
			i := strings.Index(text, s)
			if i < 0 {
				t.Errorf("%s: missing section %q", name, strings.TrimSpace(s))
				continue
			}
			if i < last {
				t.Errorf("%s: section %q out of order", name, strings.TrimSpace(s))
			}
			last = i
		}
		for _, want := range []string{
			"](" + rbGuide + ")",              // the guide
			"```promql\n",                     // PromQL to paste
			c.DashboardURL(0) + "?viewPanel=", // a dashboard panel
			"Related alerts: [",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: missing %q", name, want)
			}
		}
	}
}

func TestRunbooksAreDeterministic(t *testing.T) {
	a, b := rbBooks(t, rbModified()), rbBooks(t, rbModified())
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s: two renderings of the same Config differ", name)
		}
	}
}

func TestRunbooksFollowTheConfig(t *testing.T) {
	books := rbBooks(t, rbModified())
	tests := map[string][]string{
		AlertSlowQueryRateCritical: {"more than 13.7%", "≥ 250ms", "over 3m, for 7m", "0.37 q/s", "3.1%", "7.2%", "[3m]",
			"`#db-pages`", "`dba@orders.example.net`", "https://grafana.example.net/d/orders-db?viewPanel=5",
			`db_slow_queries_total{job="orders-api"}`, "sum by (job, cluster)"},
		AlertSlowQueryRateWarning:    {"more than 7.2%", "for 12m", "`#db-warnings`", "`dba@orders.example.net`"},
		AlertSlowQueryRateInfo:       {"more than 3.1%", "for 41m", "`#db-fyi`"},
		AlertQueryLatencyP99Critical: {"above 2.5s, for 6m", "250ms for 19m", "0.37 q/s", "viewPanel=2"},
		AlertQueryLatencyP99Warning:  {"above 250ms, for 19m", "2.5s for 6m"},
		AlertQueryRateSpike:          {"more than 3.5×", "over the 2h that ended 3m ago, for 13m", "[2h] offset 3m"},
		AlertQueryTrafficDrop:        {"below 0.4×", "for 14m", "[2h] offset 3m", `up{job="orders-api"}`},
		AlertQueryMetricsAbsent:      {"for 4m", `absent(db_queries_total{job="orders-api"})`, "http://orders:9102/internal/metrics", "`#db-pages`"},
		AlertQueryErrorRateHigh:      {"more than 1.5%", "for 8m", "0.37 q/s"},
		AlertSlowQueryRateByType:     {"more than 33%", "≥ 250ms", "for 17m"},
		AlertConnectionPoolSaturated: {"above 85%", "for 11m", `max by (job, cluster, db_name) (go_sql_in_use_connections{job="orders-api"} / (go_sql_max_open_connections{job="orders-api"} > 0))`},
		AlertConnectionPoolWaits:     {"0.25 s/s", "for 9m", "waiting 25ms each"},
	}
	for name, wants := range tests {
		text := string(books[name])
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the text ignores the Config: %q not found", name, w)
			}
		}
	}
	for _, name := range []string{AlertSlowQueryRateWarning, AlertSlowQueryRateInfo, AlertQueryTrafficDrop} {
		if strings.Contains(string(books[name]), "PagerDuty") {
			t.Errorf("%s: a %s alert claims to page", name, "non-critical")
		}
	}
	if strings.Contains(string(books[AlertSlowQueryRateInfo]), "dba@orders.example.net") {
		t.Errorf("%s: info alerts are not emailed", AlertSlowQueryRateInfo)
	}
}

// rbPromQL returns the expressions of every promql block of a runbook.
func rbPromQL(text string) []string {
	var exprs []string
	for _, m := range regexp.MustCompile("(?s)```promql\n(.*?)```").FindAllStringSubmatch(text, -1) {
		for _, chunk := range strings.Split(m[1], "\n\n") {
			var lines []string
			for _, l := range strings.Split(chunk, "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				exprs = append(exprs, strings.Join(lines, "\n"))
			}
		}
	}
	return exprs
}

func TestRunbookPromQLNamesOnlyContractMetrics(t *testing.T) {
	for _, c := range []Config{Default(), rbModified()} {
		known := promcheck.Default(c.Service.IdentityLabels...)
		for name, b := range rbBooks(t, c) {
			exprs := rbPromQL(string(b))
			if len(exprs) == 0 {
				t.Errorf("%s: no PromQL", name)
			}
			for _, e := range exprs {
				_, problems := known.Check(e)
				for _, p := range problems {
					// up is Prometheus' own scrape health, not a middleware metric.
					if p == `metric "up" is not exported by any metric contract (the middleware's or an exporter's)` {
						continue
					}
					t.Errorf("%s: %s: %s", name, e, p)
				}
			}
		}
	}
}

// rbAnchor is the anchor GitHub gives a Markdown heading.
func rbAnchor(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile(`[^\p{L}\p{N} _-]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

func TestRunbookGuideAnchorsExist(t *testing.T) {
	guide, err := os.ReadFile("../docs/guides/query-optimization.md")
	if err != nil {
		t.Fatalf("read the guide the runbooks link to: %v", err)
	}
	anchors := map[string]bool{}
	heading := regexp.MustCompile(`^#{1,6} (.+)$`)
	fenced := false
	for _, line := range strings.Split(string(guide), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil && !fenced {
			anchors["#"+rbAnchor(m[1])] = true
		}
	}
	linked := regexp.MustCompile(regexp.QuoteMeta(rbGuide) + `(#[^)]+)\)`)
	for name, b := range rbBooks(t, Default()) {
		for _, m := range linked.FindAllStringSubmatch(string(b), -1) {
			if !anchors[m[1]] {
				t.Errorf("%s: links to %s, which the guide has no heading for", name, m[1])
			}
		}
	}
}

func TestRunbookHumanNumbers(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"a ratio is a percentage without float noise", FormatPercent(0.07), "7%"},
		{"a fractional percentage keeps its digits", FormatPercent(0.137), "13.7%"},
		{"sub-second latency is in milliseconds", FormatSeconds(0.5), "500ms"},
		{"a second is written as Prometheus writes it", FormatSeconds(1), "1s"},
		{"long latency is in seconds", FormatSeconds(30), "30s"},
		{"a derived value keeps four significant digits", FormatSeconds(0.9974874), "997.5ms"},
		{"a factor has a multiplication sign", FormatFactor(2), "2×"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestRunbooksNameWhatMutesThem(t *testing.T) {
	books := rbBooks(t, Default())
	tests := []struct {
		alert string
		want  []string
		not   []string
	}{
		{AlertSlowQueryRateInfo, []string{"While SlowQueryRateCritical or SlowQueryRateWarning fires", "While QueryMetricsAbsent fires"}, nil},
		{AlertQueryLatencyP99Warning, []string{"While QueryLatencyP99Critical fires", "While QueryMetricsAbsent fires"}, nil},
		{AlertQueryLatencyP99Critical, []string{"While QueryMetricsAbsent fires"}, []string{"mutes this alert: handle"}},
		{AlertConnectionPoolWaits, nil, []string{"mutes this alert"}},
		{AlertQueryMetricsAbsent, nil, []string{"mutes this alert"}},
	}
	for _, tt := range tests {
		text := string(books[tt.alert])
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: missing %q", tt.alert, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(text, n) {
				t.Errorf("%s: says %q, but nothing of that kind mutes it", tt.alert, n)
			}
		}
	}
}

// rbBooks renders the runbooks of c's default pack.
func rbBooks(t *testing.T, c Config) map[string][]byte {
	t.Helper()
	books, err := Runbooks(c)
	if err != nil {
		t.Fatal(err)
	}
	return books
}
