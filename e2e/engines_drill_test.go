//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// The same fire drill on the distributed engines: the pack generated from
// the same drill config, the same demo, capture receivers and checks, with
// the rules evaluated by vmalert against VictoriaMetrics, and by Cortex's
// ruler against Cortex. Each engine runs the scenarios of engineScenarios;
// the Prometheus drill runs them all.
//
// The two engine drills run in parallel with each other, after the
// sequential tests (the Prometheus drill among them): they share no
// process, port or capture server, every wait is on a condition with a
// generous deadline, and together they take the time of the longer one.
//
// The engines are the binaries .ci/engines.sh builds, named by
// DBMON_VICTORIA_METRICS, DBMON_VMALERT, DBMON_VMAGENT and DBMON_CORTEX.
// Without them a drill skips, unless DBMON_REQUIRE_VMALERT=1 (for the
// VictoriaMetrics drill) or DBMON_REQUIRE_CORTEX=1 (for the Cortex drill),
// where it fails.

// engineScenarios are the scenarios the distributed engines run: a quiet
// workload (nothing may even go pending: the lookback settings below are
// what keeps absent() from flapping), a slow burst paged to every
// receiver, inhibiting its twins, then resolved, and the dead man's switch
// when the demo dies.
var engineScenarios = []string{"healthy", "slow-burst", "metrics-gone"}

// Settings of the VictoriaMetrics drill, in units of the drill's 1s
// scrape interval.
const (
	// vmLatency is both VictoriaMetrics' -search.latencyOffset and
	// vmalert's -rule.evalDelay, which must agree (vmalert's help says
	// so). Both default to 30s, which would delay every alert by 30s;
	// VictoriaMetrics makes a sample searchable about a second after it
	// arrives, so two scrape intervals leave a full last sample.
	vmLatency = 2 * time.Second
	// vmQueryStep is vmalert's -datasource.queryStep, which
	// VictoriaMetrics takes as the lookback of an instant query. It must
	// exceed the scrape interval with a margin: at 1s a late scrape leaves
	// no sample in the window and absent(db_queries_total) flaps to true
	// on a healthy target. 3s survives one late or missed scrape; it does
	// not slow the dead man's switch, which sees the stale markers written
	// when a scrape fails.
	vmQueryStep = 3 * time.Second
)

// resendDelay is how often vmalert (-rule.resendDelay) and Cortex's ruler
// (-ruler.resend-delay) resend a firing alert. Both send it with endsAt
// four times max(group interval, resend delay) ahead: with the 1s group
// interval alone that is 4s, and one evaluation delayed on a busy machine
// would let Alertmanager resolve the alert and page again. 5s gives 20s
// (Prometheus, at its default 1m, gives 4m), and still a resend every 5s.
const resendDelay = 5 * time.Second

// cortexTenant is the tenant the Cortex drill writes metrics, rules and
// its Alertmanager configuration for.
const cortexTenant = "drill"

// engineBinary returns the binary the environment variable env names,
// skipping the test when it is unset, unless require=1 is set too.
func engineBinary(t *testing.T, env, require string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		if os.Getenv(require) == "1" {
			t.Fatalf("%s=1 but %s is not set: run eval \"$(.ci/engines.sh)\"", require, env)
		}
		t.Skipf("%s is not set: build the engines with eval \"$(.ci/engines.sh)\" to run this drill", env)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return bin
}

// pickScenarios returns the drill's scenarios of the given names.
func pickScenarios(t *testing.T, names []string) []scenario {
	var out []scenario
	all := drillScenarios()
	for _, name := range names {
		i := slices.IndexFunc(all, func(sc scenario) bool { return sc.name == name })
		if i < 0 {
			t.Fatalf("no drill scenario %q", name)
		}
		out = append(out, all[i])
	}
	return out
}

// TestDrillVictoriaMetrics runs the drill with VictoriaMetrics scraping the
// demo and vmalert evaluating the generated rules, sending to the Debian
// Alertmanager. VictoriaMetrics scrapes with -promscrape.config, the
// scraper vmagent is built from, rather than through a vmagent: one
// process and one hop (a remote-write flush) fewer on the way to an
// alert, and vmagent's remote write is exercised by the Cortex drill.
func TestDrillVictoriaMetrics(t *testing.T) {
	t.Parallel()
	vm := engineBinary(t, "DBMON_VICTORIA_METRICS", "DBMON_REQUIRE_VMALERT")
	vmalert := engineBinary(t, "DBMON_VMALERT", "DBMON_REQUIRE_VMALERT")
	requireAlertmanager(t)
	runDrill(t, "victoriametrics", func(t *testing.T) *drill { return newVMDrill(t, vm, vmalert) }, pickScenarios(t, engineScenarios))
}

// TestDrillCortex runs the drill with vmagent scraping the demo and
// remote-writing to Cortex for a tenant, the rules synced to Cortex's
// ruler by dbmonctl rules sync and the Alertmanager configuration pushed
// to Cortex's Alertmanager by dbmonctl alertmanager push, with the
// secrets from the environment. vmagent rather than Prometheus in agent
// mode: Debian's 2.42 agent drops remote_write headers, and with them the
// tenant.
func TestDrillCortex(t *testing.T) {
	t.Parallel()
	cortex := engineBinary(t, "DBMON_CORTEX", "DBMON_REQUIRE_CORTEX")
	vmagent := engineBinary(t, "DBMON_VMAGENT", "DBMON_REQUIRE_CORTEX")
	runDrill(t, "cortex", func(t *testing.T) *drill { return newCortexDrill(t, cortex, vmagent) }, pickScenarios(t, engineScenarios))
}

func requireAlertmanager(t *testing.T) {
	if _, err := exec.LookPath(alertmanager); err != nil {
		t.Fatalf("%s is not on PATH: install the Debian package prometheus-alertmanager", alertmanager)
	}
}

// newVMDrill sets up a fresh environment: the demo, Alertmanager,
// VictoriaMetrics scraping the demo with the generated scrape
// configuration, and, once the demo's data is queryable, vmalert.
func newVMDrill(t *testing.T, vm, vmalert string) *drill {
	d := newPack(t, "victoriametrics")
	d.startDemo()
	d.startAlertmanager()

	// The generated prometheus.yml also holds rule_files and alerting,
	// which a scraper has no use for: strictParse=false ignores them.
	vmAddr := freePort(t)
	p := startProc(t, d.dir, "victoria-metrics", vm,
		"-storageDataPath="+filepath.Join(d.dir, "vm-data"),
		"-httpListenAddr="+vmAddr,
		"-promscrape.config="+filepath.Join(d.out, "prometheus", "prometheus.yml"),
		"-promscrape.config.strictParse=false",
		"-search.latencyOffset="+vmLatency.String())
	d.queryURL = "http://" + vmAddr
	waitReady(t, p, d.queryURL+"/health", 60*time.Second)
	d.awaitData()

	alertAddr := freePort(t)
	va := startProc(t, d.dir, "vmalert", vmalert,
		"-rule="+filepath.Join(d.out, "prometheus", "alerts.yml"),
		"-datasource.url="+d.queryURL,
		"-notifier.url="+d.amURL,
		"-httpListenAddr="+alertAddr,
		"-external.url=http://"+alertAddr,
		"-datasource.queryStep="+vmQueryStep.String(),
		"-rule.evalDelay="+vmLatency.String(),
		"-rule.resendDelay="+resendDelay.String())
	d.alertsURL = "http://" + alertAddr + "/api/v1/alerts"
	waitReady(t, va, "http://"+alertAddr+"/health", 30*time.Second)
	d.ready = time.Now()
	return d
}

// newCortexDrill sets up a fresh environment: the demo, Cortex (the
// configuration of TestCortex, resending alerts every resendDelay), the pack's Alertmanager configuration
// pushed for the tenant, vmagent remote-writing the demo's metrics for
// the tenant and, once they are queryable, the pack's rules synced to the
// ruler.
func newCortexDrill(t *testing.T, cortex, vmagent string) *drill {
	d := newPack(t, "cortex")
	d.tenant = cortexTenant
	d.startDemo()

	httpAddr, grpcAddr := freePort(t), freePort(t)
	_, httpPort, _ := strings.Cut(httpAddr, ":")
	_, grpcPort, _ := strings.Cut(grpcAddr, ":")
	cortexYAML := filepath.Join(d.dir, "cortex.yaml")
	writeFile(t, cortexYAML, fmt.Sprintf(cortexConfig, filepath.Join(d.dir, "cortex-data"), httpPort, grpcPort))
	// Flags override the file: the resend delay of TestCortex's config
	// (2s) would let an alert expire after 8s without a resend.
	c := startProc(t, d.dir, "cortex", cortex, "-config.file="+cortexYAML, "-ruler.resend-delay="+resendDelay.String())
	base := "http://" + httpAddr
	waitReady(t, c, base+"/ready", 90*time.Second)
	d.queryURL = base + "/prometheus"
	d.alertsURL = base + "/prometheus/api/v1/alerts"
	d.amURL = base + "/alertmanager"

	dbm := func(env []string, args ...string) {
		t.Helper()
		args = append(args, "--address", base, "--tenant", d.tenant, "--config", d.cfg)
		if out, code := run(t, d.dir, env, dbmonctl, args...); code != 0 {
			t.Fatalf("dbmonctl %s exited %d:\n%s", strings.Join(args, " "), code, out)
		}
	}
	// The Alertmanager first, so it runs before the ruler has alerts.
	dbm(d.secretEnv, "alertmanager", "push")
	eventually(t, 60*time.Second, "the tenant's Alertmanager running", func() bool {
		var status map[string]any
		return d.get(d.amURL+"/api/v2/status", &status) == nil
	})

	agentAddr := freePort(t)
	agent := startProc(t, d.dir, "vmagent", vmagent,
		"-httpListenAddr="+agentAddr,
		"-promscrape.config="+filepath.Join(d.out, "prometheus", "prometheus.yml"),
		"-promscrape.config.strictParse=false",
		"-remoteWrite.url="+base+"/api/v1/push",
		"-remoteWrite.headers=X-Scope-OrgID:"+d.tenant,
		// Cortex speaks Prometheus remote write only; no need to probe.
		"-remoteWrite.forcePromProto=true",
		"-remoteWrite.tmpDataPath="+filepath.Join(d.dir, "vmagent-data"))
	waitReady(t, agent, "http://"+agentAddr+"/health", 30*time.Second)
	d.awaitData()

	dbm(nil, "rules", "sync")
	eventually(t, 60*time.Second, "the ruler evaluating the pack's group", func() bool {
		var r struct {
			Data struct {
				Groups []struct {
					Name string `json:"name"`
				} `json:"groups"`
			} `json:"data"`
		}
		if d.get(d.queryURL+"/api/v1/rules", &r) != nil {
			return false
		}
		for _, g := range r.Data.Groups {
			if g.Name == "dbmonctl-database-queries" {
				return true
			}
		}
		return false
	})
	d.ready = time.Now()
	return d
}

// printComparison writes, for each alert and receiver the drills of more
// than one engine notified, the onset→notified time on each engine. The
// drills fill the table as they run; TestMain prints it at the end.
func printComparison(out io.Writer) {
	tableMu.Lock()
	defer tableMu.Unlock()
	var engines []string
	type key struct {
		scenario, alert string
		route           route
	}
	var keys []key
	cell := map[key]map[string]latency{}
	for _, r := range table {
		if !slices.Contains(engines, r.engine) {
			engines = append(engines, r.engine)
		}
		k := key{r.scenario, r.alert, r.route}
		if cell[k] == nil {
			cell[k] = map[string]latency{}
			keys = append(keys, k)
		}
		cell[k][r.engine] = r
	}
	if len(engines) < 2 {
		return
	}
	// The parallel drills add rows in any order; the columns have one.
	order := []string{"prometheus", "victoriametrics", "cortex"}
	slices.SortStableFunc(engines, func(a, b string) int {
		return slices.Index(order, a) - slices.Index(order, b)
	})
	fmt.Fprintln(out, "\nonset→notified (onset→fired) on each engine:")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "scenario\talert\treceiver")
	for _, e := range engines {
		fmt.Fprintf(w, "\t%s", e)
	}
	fmt.Fprintln(w)
	for _, k := range keys {
		if len(cell[k]) < 2 {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s", k.scenario, k.alert, k.route)
		for _, e := range engines {
			if r, ok := cell[k][e]; ok {
				fmt.Fprintf(w, "\t%s (fired %s)", sec(r.onsetToNotified), sec(r.onsetToFired))
			} else {
				fmt.Fprintf(w, "\t-")
			}
		}
		fmt.Fprintln(w)
	}
	w.Flush()
}
