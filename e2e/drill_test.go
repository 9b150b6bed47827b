//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"
)

// The binaries the drill runs: dbmonctl is built by TestMain; Prometheus
// and Alertmanager are the Debian packages'.
var (
	dbmonctl     string
	prometheus   = "prometheus"
	alertmanager = "prometheus-alertmanager"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dbmonctl-drill-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dbmonctl = filepath.Join(dir, "dbmonctl")
	build := exec.Command("go", "build", "-o", dbmonctl, "github.com/dbmonctl/dbmonctl/cmd/dbmonctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building dbmonctl:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	printComparison(os.Stdout)
	os.RemoveAll(dir)
	os.Exit(code)
}

// Drill timings. The config below shortens every window and for duration
// from minutes to seconds; these bound how long the drill waits.
const (
	// qps is the demo's base rate.
	qps = 20
	// warmup is the healthy traffic every scenario starts with: more than
	// the 6s rate window, so every rate has data before the anomaly.
	warmup = 10 * time.Second
	// baselineWarmup is the warmup of the scenarios that compare the rate
	// with its baseline. The rules ignore a baseline until the counter is
	// older than baseline window + rate window (36s), so a fresh series
	// cannot spike; after that, a 4× spike stays above twice the 30s
	// baseline for 16s and a 0.2× drop below half of it for 28s, both well
	// over their 5s for duration.
	baselineWarmup = 38 * time.Second
	// quiet is how long the healthy scenario must stay silent after warmup:
	// longer than every for duration plus Alertmanager's group_wait.
	quiet = 20 * time.Second
	// deadline bounds the wait for an expected notification or inhibition
	// after the anomaly starts; in practice they take 7 to 20 s.
	deadline = 60 * time.Second
	// settle is how long the drill keeps listening after the last expected
	// event, for notifications that must not come: group_wait (1s) plus
	// group_interval (2s) and a margin.
	settle = 4 * time.Second
)

// drillConfig is the user config of the drill: the default spec with
// windows and for durations in seconds, a 1s scrape and evaluation
// interval, Alertmanager timings of a second, and every receiver pointed
// at a capture server on loopback. Thresholds are the defaults: the drill
// tests the pack users get, only faster.
//
// The for durations of one signal are staggered (critical 5s, warning
// 12s, info 20s) more than the time the rate window takes to carry a
// share past each level, so a more urgent alert is always in Alertmanager
// before the less urgent one it inhibits fires: otherwise the drill would
// race the inhibition it checks. The defaults are staggered the same way.
//
// metrics_absent waits 12s because Prometheus applies new scrape targets
// on a 5s tick: its first scrape comes up to 5s after it starts, and until
// then absent() is true. A shorter for would page on every start.
const drillConfig = `# dbmonctl fire drill: the default spec, minutes shortened to seconds,
# receivers pointed at loopback capture servers.
thresholds:
  rate_window: 6s
  baseline_window: 30s
  min_query_rate: 1
  slow_rate:
    info: {for: 20s}
    warning: {for: 12s}
    critical: {for: 5s}
  slow_rate_by_type: {for: 10s}
  latency_p99:
    warning: {for: 10s}
    critical: {for: 5s}
  error_rate: {for: 5s}
  rate_spike: {for: 5s}
  traffic_drop: {for: 5s}
  pool_saturation: {for: 5s}
  pool_wait: {for: 5s}
  metrics_absent: {for: 12s}
` + drillDelivery

// drillDelivery is the end of every drill config: rules evaluated every
// second, the scrape, and Alertmanager delivering within seconds to the
// capture servers. Its verbs are the scrape target, the Alertmanager
// address, the PagerDuty URL and key file, the Slack URL file, the SMTP
// address, user and password file.
const drillDelivery = `alerting:
  evaluation_interval: 1s
prometheus:
  targets: [%q]
  scrape_interval: 1s
  alertmanager_targets: [%q]
alertmanager:
  critical: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  warning: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  info: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  default: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  pagerduty:
    url: %q
    routing_key_file: %q
  slack:
    api_url_file: %q
  email:
    smarthost: %q
    require_tls: false
    auth_username: %q
    auth_password_file: %q
`

// What the spec says each severity reaches (SPEC §4), and the defaults of
// the settings the drill leaves alone.
const (
	alertsChannel = "#database-alerts"
	infoChannel   = "#database-info"
	emailTo       = "database-oncall@example.com"
	smtpUser      = "alertmanager@example.com"
	dashboardUID  = "dbmon-queries"
)

// route is one place a notification lands.
type route struct{ via, dest string }

func (r route) String() string {
	if r.dest == "" {
		return r.via
	}
	return r.via + " " + r.dest
}

func routesFor(severity string) []route {
	switch severity {
	case "critical":
		return []route{{viaPagerDuty, ""}, {viaSlack, alertsChannel}, {viaEmail, emailTo}}
	case "warning":
		return []route{{viaSlack, alertsChannel}, {viaEmail, emailTo}}
	case "info":
		return []route{{viaSlack, infoChannel}}
	}
	return nil
}

// drill is one clean environment: capture servers, generated files, and
// the demo, the rule engine and Alertmanager processes, all under one temp
// dir. The engine is Prometheus here (newDrill); engines_drill_test.go
// builds the same environment around VictoriaMetrics with vmalert, and
// around Cortex.
type drill struct {
	t        *testing.T
	engine   string // what evaluates the rules, as the tables name it
	dir, out string
	cfg      string // the drill config, drill.yaml
	box      *inbox
	severity map[string]string // alert name → severity, from the generated rules
	// secretEnv holds the receivers' secrets as the environment variables
	// dbmonctl secrets and dbmonctl alertmanager push read.
	secretEnv []string
	// demoAddr and amAddr are the listen addresses written into the
	// generated configuration; a local Alertmanager, if any, uses amAddr.
	demoAddr, amAddr string
	demo             *proc
	demoURL          string
	// queryURL is the base of the engine's Prometheus query API
	// (queryURL/api/v1/query), alertsURL the endpoint listing the rule
	// engine's alerts in the Prometheus format, amURL the base of the
	// Alertmanager API v2; tenant, if set, is sent as X-Scope-OrgID to
	// all three.
	queryURL, alertsURL, amURL string
	tenant                     string
	ready                      time.Time // when the engine was ready to evaluate the rules
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newDrill sets up a fresh environment with Prometheus evaluating the
// rules; t.Cleanup tears all of it down.
func newDrill(t *testing.T) *drill {
	for _, bin := range []string{prometheus, alertmanager} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on PATH: install the Debian packages prometheus and prometheus-alertmanager", bin)
		}
	}
	d := newPack(t, "prometheus")
	d.startDemo()
	d.startAlertmanager()
	d.startPrometheus()
	return d
}

// startPrometheus runs Prometheus with the generated configuration and
// waits until it is ready.
func (d *drill) startPrometheus() {
	promAddr := freePort(d.t)
	prom := startProc(d.t, d.dir, "prometheus", prometheus,
		"--config.file="+filepath.Join(d.out, "prometheus", "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(d.dir, "prometheus-data"),
		"--web.listen-address="+promAddr)
	d.queryURL = "http://" + promAddr
	d.alertsURL = d.queryURL + "/api/v1/alerts"
	waitReady(d.t, prom, d.queryURL+"/-/ready", 30*time.Second)
	d.ready = time.Now()
}

// newPack is the part of a drill every engine shares: capture servers and
// their secrets, the drill config, and the pack generated from it by the
// same commands a user runs. No process runs yet.
func newPack(t *testing.T, engine string) *drill {
	return newPackWith(t, engine, "")
}

// newPackWith is newPack with extra appended to the drill config.
func newPackWith(t *testing.T, engine, extra string) *drill {
	dir := t.TempDir()
	d := &drill{t: t, engine: engine, dir: dir, out: filepath.Join(dir, "out"), box: &inbox{}}

	// Capture servers, and the secrets they insist on. The secrets reach
	// Alertmanager the way the original workflow has them: exported as
	// environment variables and written to the files the generated config
	// references by dbmonctl secrets.
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	routingKey, smtpPass := randomHex(t, 16), randomHex(t, 12)
	slackPath := "/services/T0DRILL/B0DRILL/" + randomHex(t, 12)
	pd := newPagerDutyServer(t, d.box, routingKey)
	slack := newSlackServer(t, d.box, slackPath)
	smtp := newSMTPServer(t, d.box, smtpUser, smtpPass)
	keyFile := filepath.Join(secrets, "pagerduty_routing_key")
	slackFile := filepath.Join(secrets, "slack_webhook_url")
	passFile := filepath.Join(secrets, "smtp_password")

	d.demoAddr, d.amAddr = freePort(t), freePort(t)
	d.cfg = filepath.Join(dir, "drill.yaml")
	body := fmt.Sprintf(drillConfig, d.demoAddr, d.amAddr, pd.URL+"/v2/enqueue", keyFile, slackFile, smtp.Addr(), smtpUser, passFile) + extra
	if err := os.WriteFile(d.cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}

	d.secretEnv = []string{"PAGERDUTY_SERVICE_KEY=" + routingKey, "SLACK_WEBHOOK_URL=" + slack.URL + slackPath, "SMTP_PASSWORD=" + smtpPass}
	d.generate()
	return d
}

// generate runs the commands a user runs on d.cfg: validate, generate
// into d.out, and secrets --from-env with d.secretEnv; it reads the
// alerts' severities from the generated rules, and logs what the capture
// servers received if the test fails.
func (d *drill) generate() {
	t, name := d.t, filepath.Base(d.cfg)
	if out, code := run(t, d.dir, nil, dbmonctl, "validate", "--config", d.cfg); code != 0 {
		t.Fatalf("dbmonctl validate --config %s exited %d:\n%s", name, code, out)
	}
	if out, code := run(t, d.dir, nil, dbmonctl, "generate", "--config", d.cfg, "--out", d.out); code != 0 {
		t.Fatalf("dbmonctl generate --config %s exited %d:\n%s", name, code, out)
	}
	if out, code := run(t, d.dir, d.secretEnv, dbmonctl, "secrets", "--from-env", "--config", d.cfg); code != 0 {
		t.Fatalf("dbmonctl secrets --from-env exited %d:\n%s", code, out)
	}
	d.severity = readSeverities(t, filepath.Join(d.out, "prometheus", "alerts.yml"))
	for name := range d.severity {
		d.box.alertNames = append(d.box.alertNames, name)
	}
	sort.Strings(d.box.alertNames)

	t.Cleanup(func() {
		if t.Failed() {
			list, problems := d.box.snapshot()
			t.Logf("--- notifications received:")
			for _, n := range list {
				t.Logf("  %v", n)
			}
			for _, p := range problems {
				t.Logf("  problem: %s", p)
			}
		}
	})
}

// startDemo runs the demo workload, healthy, at d.demoAddr. It starts
// before the engine, so the engine's first scrape finds it.
func (d *drill) startDemo() {
	d.demo = startProc(d.t, d.dir, "demo", dbmonctl, "demo", "--config", d.cfg, "--db-dir", d.dir, "--listen", d.demoAddr, "--qps", fmt.Sprint(qps), "--scenario", "healthy")
	d.demoURL = "http://" + d.demoAddr
	waitReady(d.t, d.demo, d.demoURL+"/scenario", 15*time.Second)
}

// startAlertmanager runs Alertmanager at d.amAddr with the generated
// configuration.
func (d *drill) startAlertmanager() {
	am := startProc(d.t, d.dir, "alertmanager", alertmanager,
		"--config.file="+filepath.Join(d.out, "alertmanager", "alertmanager.yml"),
		"--storage.path="+filepath.Join(d.dir, "alertmanager-data"),
		"--web.listen-address="+d.amAddr,
		"--cluster.listen-address=",
		"--log.level=debug")
	d.amURL = "http://" + d.amAddr
	waitReady(d.t, am, d.amURL+"/-/ready", 30*time.Second)
}

// readSeverities returns each alert's severity label from the rule file.
func readSeverities(t *testing.T, path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	sev := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				sev[r.Alert] = r.Labels["severity"]
			}
		}
	}
	if len(sev) != 12 {
		t.Fatalf("%s holds %d alerts, want 12", path, len(sev))
	}
	return sev
}

// get GETs url into v as the drill's tenant, if any.
func (d *drill) get(url string, v any) error {
	return getJSONAs(d.tenant, url, v)
}

// awaitData waits until the engine answers queries with the demo's
// query rate.
func (d *drill) awaitData() {
	q := d.queryURL + "/api/v1/query?query=" + url.QueryEscape("sum(rate(db_queries_total[6s])) > 0")
	end := time.Now().Add(60 * time.Second)
	for {
		var r struct {
			Data struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		err := d.get(q, &r)
		if err == nil && len(r.Data.Result) > 0 {
			return
		}
		if time.Now().After(end) {
			d.t.Fatalf("%s has no query rate from the demo after 60s (last error %v)", d.engine, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// warm waits until the engine has query data from the demo and has been
// ready for at least w.
func (d *drill) warm(w time.Duration) {
	d.awaitData()
	time.Sleep(time.Until(d.ready.Add(w)))
}

// setScenario switches the demo's workload.
func (d *drill) setScenario(name string) {
	if err := post(d.demoURL + "/scenario?name=" + name); err != nil {
		d.t.Fatal(err)
	}
}

// amAlert is an alert as Alertmanager's API v2 reports it.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	Status   struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
		SilencedBy  []string `json:"silencedBy"`
	} `json:"status"`
}

func (d *drill) amAlerts() []amAlert {
	var as []amAlert
	if err := d.get(d.amURL+"/api/v2/alerts", &as); err != nil {
		d.t.Logf("alertmanager API: %v", err)
	}
	return as
}

// engineAlerts returns the names of the alerts the rule engine has in
// state (pending or firing), sorted.
func (d *drill) engineAlerts(state string) []string {
	var names []string
	for _, ls := range d.engineAlertLabels(state) {
		names = append(names, ls["alertname"])
	}
	sort.Strings(names)
	return names
}

// engineAlertLabels returns the label sets of the alerts the rule engine
// has in state (pending or firing), alertname included.
func (d *drill) engineAlertLabels(state string) []map[string]string {
	var r struct {
		Data struct {
			Alerts []struct {
				Name   string            `json:"name"` // vmalert only; Prometheus has the alertname label
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := d.get(d.alertsURL, &r); err != nil {
		d.t.Fatalf("%s alerts API: %v", d.engine, err)
	}
	var out []map[string]string
	for _, a := range r.Data.Alerts {
		if a.State == state {
			ls := maps.Clone(a.Labels)
			if ls == nil {
				ls = map[string]string{}
			}
			if ls["alertname"] == "" {
				ls["alertname"] = a.Name
			}
			out = append(out, ls)
		}
	}
	return out
}

// scenario is one drill: an anomaly and the alerts it must raise.
type scenario struct {
	name   string
	warmup time.Duration
	// act starts the anomaly.
	act func(d *drill)
	// fire must each reach every receiver of their severity.
	fire []string
	// inhibited must fire, be shown suppressed by an inhibition in
	// Alertmanager, and reach no receiver.
	inhibited []string
	// may fire as well (info-level early warnings the anomaly also
	// crosses); when they do, only their severity's receivers may see them.
	may []string
	// quiet, when set, is how long nothing at all may fire.
	quiet time.Duration
	// labels are labels an alert must carry: every instance of it in
	// Alertmanager has them, so it fires for these and nothing else.
	labels map[string]map[string]string
	// resolve: after the checks the workload turns healthy again, and every
	// alert in fire must then be notified as resolved on each route it
	// was notified on (send_resolved), and none notified as firing again.
	resolve bool
}

// latency is one row of the drill's table.
type latency struct {
	engine          string
	scenario, alert string
	route           route
	onsetToFired    time.Duration
	firedToNotified time.Duration
	onsetToNotified time.Duration
}

var (
	tableMu  sync.Mutex
	table    []latency
	resolved []latency                       // onsetToNotified is recovery→resolved notification
	walls    = map[[2]string]time.Duration{} // [engine, scenario] → wall time
)

func switchTo(name string) func(*drill) {
	return func(d *drill) { d.setScenario(name) }
}

// drillScenarios are the scenarios of the drill, each in the order the
// Prometheus drill runs them; the drills of the other engines pick theirs
// from this list by name.
func drillScenarios() []scenario {
	return []scenario{
		{name: "healthy", warmup: warmup, act: func(*drill) {}, quiet: quiet},
		{name: "slow-burst", warmup: warmup, act: switchTo("slow-burst"),
			fire: []string{"SlowQueryRateCritical"}, inhibited: []string{"SlowQueryRateWarning", "SlowQueryRateInfo"}, resolve: true},
		{name: "sustained-slow", warmup: warmup, act: switchTo("sustained-slow"),
			fire: []string{"SlowQueryRateWarning"}, inhibited: []string{"SlowQueryRateInfo"}},
		// 45 % of SELECTs are slow: the per-type alert fires for SELECT
		// only (the other types are fast, and below the minimum rate),
		// and at 40.5 % of all statements the aggregate is critical too,
		// muting its warning and info twins but not the per-type alert,
		// which is a family of its own.
		{name: "type-slow", warmup: warmup, act: switchTo("type-slow"),
			fire:      []string{"SlowQueryRateByType", "SlowQueryRateCritical"},
			inhibited: []string{"SlowQueryRateWarning", "SlowQueryRateInfo"},
			labels:    map[string]map[string]string{"SlowQueryRateByType": {"query_type": "SELECT"}}},
		{name: "p99-spike", warmup: warmup, act: switchTo("p99-spike"),
			fire: []string{"QueryLatencyP99Critical"}, inhibited: []string{"QueryLatencyP99Warning"}, may: []string{"SlowQueryRateInfo"}},
		{name: "metrics-gone", warmup: warmup, act: func(d *drill) { d.demo.kill(d.t) },
			fire: []string{"QueryMetricsAbsent"}},
		{name: "errors", warmup: warmup, act: switchTo("errors"),
			fire: []string{"QueryErrorRateHigh"}, resolve: true},
		{name: "rate-spike", warmup: baselineWarmup, act: switchTo("rate-spike"),
			fire: []string{"QueryRateSpike"}},
		{name: "traffic-drop", warmup: baselineWarmup, act: switchTo("traffic-drop"),
			fire: []string{"QueryTrafficDrop"}},
		{name: "pool-saturation", warmup: warmup, act: switchTo("pool-saturation"),
			fire: []string{"ConnectionPoolSaturated", "ConnectionPoolWaits"}},
	}
}

func TestDrill(t *testing.T) {
	runDrill(t, "prometheus", newDrill, drillScenarios())
}

// runDrill runs each scenario as a subtest, in a fresh environment from
// start, and logs the engine's onset→notification table.
func runDrill(t *testing.T, engine string, start func(*testing.T) *drill, scenarios []scenario) {
	began := time.Now()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			began := time.Now()
			defer func() {
				tableMu.Lock()
				walls[[2]string{engine, sc.name}] = time.Since(began)
				tableMu.Unlock()
			}()
			runScenario(t, sc, start)
		})
	}
	t.Logf("drill on %s took %v", engine, time.Since(began).Round(time.Second))
	printTable(t, engine, scenarios)
}

func runScenario(t *testing.T, sc scenario, start func(*testing.T) *drill) {
	d := start(t)
	for _, a := range slices.Concat(sc.fire, sc.inhibited, sc.may) {
		if _, ok := d.severity[a]; !ok {
			t.Fatalf("scenario names alert %q, which the generated rules do not define", a)
		}
	}
	d.warm(sc.warmup)
	onset := time.Now()
	sc.act(d)

	if sc.quiet > 0 {
		// Not even pending: an alert that flaps into pending on a healthy
		// workload (absent() with too short a lookback) would fire with
		// the production for durations sooner or later.
		seen := map[string]bool{}
		for end := time.Now().Add(sc.quiet); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			for _, state := range []string{"pending", "firing"} {
				for _, a := range d.engineAlerts(state) {
					seen[a+" "+state] = true
				}
			}
		}
		if len(seen) > 0 {
			t.Errorf("%s had alerts pending or firing in a healthy workload: %v", d.engine, slices.Sorted(maps.Keys(seen)))
		}
		if as := d.amAlerts(); len(as) > 0 {
			t.Errorf("Alertmanager holds %d alerts in a healthy workload, e.g. %v", len(as), as[0].Labels)
		}
		list, problems := d.box.snapshot()
		for _, n := range list {
			t.Errorf("notification in a healthy workload: %v", n)
		}
		for _, p := range problems {
			t.Errorf("capture server: %s", p)
		}
		return
	}

	// Wait for every expected notification, and note when each alert
	// fired (Alertmanager's startsAt is Prometheus's firing time).
	fired := map[string]time.Time{}
	want := map[string][]route{}
	for _, a := range sc.fire {
		want[a] = routesFor(d.severity[a])
		if len(want[a]) == 0 {
			t.Fatalf("alert %s has severity %q, which routes nowhere", a, d.severity[a])
		}
	}
	firing := func(notification) bool { return true }
	d.awaitNotified(onset, want, firing, "after the anomaly began", func() {
		for _, a := range d.amAlerts() {
			name := a.Labels["alertname"]
			if _, ok := fired[name]; !ok {
				fired[name] = a.StartsAt
			}
		}
	})

	// Inhibited twins must fire and be suppressed by an inhibition.
	for _, a := range sc.inhibited {
		for {
			var got *amAlert
			for _, x := range d.amAlerts() {
				if x.Labels["alertname"] == a {
					got = &x
				}
			}
			if got != nil && got.Status.State == "suppressed" && len(got.Status.InhibitedBy) > 0 {
				t.Logf("%s fired at %s and is suppressed, inhibited by %v", a, got.StartsAt.Format("15:04:05.000"), got.Status.InhibitedBy)
				break
			}
			if time.Since(onset) > deadline {
				if got == nil {
					t.Fatalf("%s never reached Alertmanager within %v; it must fire and be inhibited", a, deadline)
				}
				t.Fatalf("%s is %q (inhibited by %v) in Alertmanager, want suppressed by an inhibition", a, got.Status.State, got.Status.InhibitedBy)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	time.Sleep(settle)

	// Alerts that must carry labels carry them, in every instance.
	for a, want := range sc.labels {
		n := 0
		for _, x := range d.amAlerts() {
			if x.Labels["alertname"] != a {
				continue
			}
			n++
			for k, v := range want {
				if x.Labels[k] != v {
					t.Errorf("%s fired with %s=%q, want %q (labels %v)", a, k, x.Labels[k], v, x.Labels)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s is not in Alertmanager, want it firing with %v", a, want)
		}
	}

	// Every notification must be about an expected alert, on a route of
	// its severity; inhibited alerts must reach no one.
	list, problems := d.box.snapshot()
	for _, p := range problems {
		t.Errorf("capture server: %s", p)
	}
	allowed := slices.Concat(sc.fire, sc.may)
	for _, n := range list {
		if len(n.Alerts) != 1 {
			t.Errorf("notification names alerts %v, want exactly one (group_by alertname): %v", n.Alerts, n)
			continue
		}
		a := n.Alerts[0]
		switch {
		case slices.Contains(sc.inhibited, a):
			t.Errorf("%s is inhibited, yet was notified: %v", a, n)
		case !slices.Contains(allowed, a):
			t.Errorf("unexpected alert %s notified: %v", a, n)
		case !slices.Contains(routesFor(d.severity[a]), route{n.Via, n.Dest}):
			t.Errorf("%s (severity %s) reached %v, which is not one of %v", a, d.severity[a], route{n.Via, n.Dest}, routesFor(d.severity[a]))
		}
		if n.Via == viaPagerDuty {
			if n.Action != "trigger" || n.Severity != d.severity[a] {
				t.Errorf("PagerDuty event for %s: action %q severity %q, want trigger and %q", a, n.Action, n.Severity, d.severity[a])
			}
			if !strings.Contains(n.Title, a) {
				t.Errorf("PagerDuty summary %q does not name %s", n.Title, a)
			}
		}
		if n.Via == viaEmail {
			if !strings.Contains(n.Title, a) {
				t.Errorf("email subject %q does not name %s", n.Title, a)
			}
			if n.To != emailTo {
				t.Errorf("email for %s has To %q, want %q", a, n.To, emailTo)
			}
		}
		// Humans act on Slack and email: they must carry the alert's
		// runbook and dashboard links (SPEC §4).
		if n.Via != viaPagerDuty {
			for _, link := range []string{"/" + a + ".md", "/d/" + dashboardUID} {
				if !strings.Contains(n.Raw, link) {
					t.Errorf("%s message for %s lacks the link %q:\n%s", n.Via, a, link, n.Raw)
				}
			}
		}
	}

	if sc.resolve {
		d.checkResolved(sc, want)
	}

	tableMu.Lock()
	defer tableMu.Unlock()
	for _, a := range sc.fire {
		for _, r := range want[a] {
			at, _ := firstNotified(list, onset, a, r, firing)
			row := latency{engine: d.engine, scenario: sc.name, alert: a, route: r, onsetToNotified: at.Sub(onset)}
			if f, ok := fired[a]; ok {
				row.onsetToFired, row.firedToNotified = f.Sub(onset), at.Sub(f)
			}
			table = append(table, row)
		}
	}
}

// firstNotified returns when alert first reached route r after since in a
// notification that match accepts.
func firstNotified(list []notification, since time.Time, alert string, r route, match func(notification) bool) (time.Time, bool) {
	for _, n := range list {
		if n.At.After(since) && n.Via == r.via && n.Dest == r.dest && slices.Contains(n.Alerts, alert) && match(n) {
			return n.At, true
		}
	}
	return time.Time{}, false
}

// awaitNotified polls until every alert of want has reached each of its
// routes after since in a notification that match accepts, failing the
// test after deadline; poll, if set, runs at every round.
func (d *drill) awaitNotified(since time.Time, want map[string][]route, match func(notification) bool, when string, poll func()) {
	for {
		if poll != nil {
			poll()
		}
		list, _ := d.box.snapshot()
		var missing []string
		for a, routes := range want {
			for _, r := range routes {
				if _, ok := firstNotified(list, since, a, r, match); !ok {
					missing = append(missing, a+" on "+r.String())
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Since(since) > deadline {
			sort.Strings(missing)
			d.t.Fatalf("notifications still missing %v %s: %v", deadline, when, missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// isResolved reports whether n announces a resolution: a PagerDuty resolve
// event, or a Slack or email message whose title starts with the status.
func isResolved(n notification) bool {
	if n.Via == viaPagerDuty {
		return n.Action == "resolve"
	}
	return strings.HasPrefix(n.Title, "[RESOLVED]")
}

// checkResolved turns the workload healthy and waits until every alert of
// sc.fire is notified as resolved on each of want's routes. Afterwards the
// only notifications allowed are resolutions, and firing notifications of
// the inhibited or "may" alerts on their own routes: on the way down the
// more urgent alert resolves first, which can release a less urgent twin
// for a moment before the share falls below its level too.
func (d *drill) checkResolved(sc scenario, want map[string][]route) {
	t := d.t
	healed := time.Now()
	d.setScenario("healthy")
	d.awaitNotified(healed, want, isResolved, "after the workload turned healthy (resolved notifications)", nil)
	time.Sleep(settle)
	list, problems := d.box.snapshot()
	for _, p := range problems {
		t.Errorf("capture server: %s", p)
	}
	for _, n := range list {
		if !n.At.After(healed) {
			continue
		}
		if len(n.Alerts) != 1 {
			t.Errorf("notification after recovery names alerts %v, want exactly one: %v", n.Alerts, n)
			continue
		}
		a := n.Alerts[0]
		switch {
		case !slices.Contains(slices.Concat(sc.fire, sc.inhibited, sc.may), a):
			t.Errorf("unexpected alert %s notified after recovery: %v", a, n)
		case slices.Contains(sc.fire, a) && !isResolved(n):
			t.Errorf("%s was notified as firing again after recovery: %v", a, n)
		case !slices.Contains(routesFor(d.severity[a]), route{n.Via, n.Dest}):
			t.Errorf("%s (severity %s) reached %v after recovery, which is not one of %v", a, d.severity[a], route{n.Via, n.Dest}, routesFor(d.severity[a]))
		}
	}
	tableMu.Lock()
	defer tableMu.Unlock()
	for _, a := range sc.fire {
		for _, r := range want[a] {
			when, _ := firstNotified(list, healed, a, r, isResolved)
			resolved = append(resolved, latency{engine: d.engine, scenario: sc.name, alert: a, route: r, onsetToNotified: when.Sub(healed)})
		}
	}
}

// printTable logs the table of one engine's rows.
func printTable(t *testing.T, engine string, scenarios []scenario) {
	tableMu.Lock()
	defer tableMu.Unlock()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\talert\treceiver\tonset→fired\tfired→notified\tonset→notified")
	for _, r := range table {
		if r.engine == engine {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.scenario, r.alert, r.route, sec(r.onsetToFired), sec(r.firedToNotified), sec(r.onsetToNotified))
		}
	}
	w.Flush()
	if slices.ContainsFunc(resolved, func(r latency) bool { return r.engine == engine }) {
		b.WriteString("\nrecovery→resolved notification:\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "scenario\talert\treceiver\thealthy→resolved")
		for _, r := range resolved {
			if r.engine == engine {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.scenario, r.alert, r.route, sec(r.onsetToNotified))
			}
		}
		w.Flush()
	}
	b.WriteString("\nwall time per scenario (setup, warmup, anomaly, checks, teardown):\n")
	for _, sc := range scenarios {
		if d, ok := walls[[2]string{engine, sc.name}]; ok {
			fmt.Fprintf(&b, "  %-16s %s\n", sc.name, d.Round(100*time.Millisecond))
		}
	}
	t.Logf("onset→notification latency on %s:\n%s", engine, b.String())
}

// sec formats a latency of the tables.
func sec(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
