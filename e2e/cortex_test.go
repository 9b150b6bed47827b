//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Cortex end-to-end test runs `dbmonctl rules sync` and `dbmonctl
// alertmanager push` against a real Cortex (single binary, -target=all)
// with two tenants, and follows an alert of the pack from Cortex's ruler
// through Cortex's multi-tenant Alertmanager to the receivers, whose
// secrets only ever reached Cortex from the environment.
//
// It needs the Cortex binary that .ci/engines.sh builds, named by
// DBMON_CORTEX; without it the test skips, unless DBMON_REQUIRE_CORTEX=1
// (CI), where it fails.

// cortexConfig runs every Cortex module in one process on loopback: ring
// and key-value stores in memory, blocks, rules and Alertmanager
// configurations on the local filesystem (the writable "filesystem"
// backend; "local" is read-only for the APIs), Alertmanager gossip off,
// the ruler polling its storage every second and sending alerts to the
// in-process Alertmanager. Cortex has no usage-statistics reporting to
// turn off. Placeholders: data directory, HTTP port, gRPC port.
const cortexConfig = `target: all
auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %[2]s
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %[3]s
  log_level: info
distributor:
  shard_by_all_labels: true
  ring:
    instance_interface_names: [lo]
    kvstore: {store: inmemory}
ingester:
  lifecycler:
    interface_names: [lo]
    min_ready_duration: 0s
    final_sleep: 0s
    num_tokens: 512
    ring:
      kvstore: {store: inmemory}
      replication_factor: 1
blocks_storage:
  backend: filesystem
  filesystem: {dir: %[1]s/blocks}
  tsdb: {dir: %[1]s/tsdb}
  bucket_store: {sync_dir: %[1]s/tsdb-sync}
compactor:
  data_dir: %[1]s/compactor
  sharding_ring:
    instance_interface_names: [lo]
    kvstore: {store: inmemory}
store_gateway:
  sharding_ring:
    instance_interface_names: [lo]
    kvstore: {store: inmemory}
frontend:
  instance_interface_names: [lo]
frontend_worker:
  match_max_concurrent: true
ruler:
  enable_api: true
  rule_path: %[1]s/ruler
  poll_interval: 1s
  evaluation_interval: 1s
  resend_delay: 2s
  alertmanager_url: http://127.0.0.1:%[2]s/alertmanager
  ring:
    instance_interface_names: [lo]
    kvstore: {store: inmemory}
ruler_storage:
  backend: filesystem
  filesystem: {dir: %[1]s/rules}
alertmanager:
  enable_api: true
  data_dir: %[1]s/alertmanager
  external_url: http://127.0.0.1:%[2]s/alertmanager
  poll_interval: 1s
  cluster: {listen_address: ""}
  sharding_ring:
    instance_interface_names: [lo]
    kvstore: {store: inmemory}
alertmanager_storage:
  backend: filesystem
  filesystem: {dir: %[1]s/alertmanager-configs}
`

// cortexPackConfig is the user config of the test: the default spec with
// the dead man's switch (QueryMetricsAbsent, critical) firing 5s after
// rules load in a tenant without data, Alertmanager timings of seconds,
// and the receivers pointed at capture servers. The *_file paths do not
// exist: a multi-tenant Alertmanager reads no files, dbmonctl replaces
// them with the environment's values. Placeholders: PagerDuty URL, SMTP
// address, SMTP user.
const cortexPackConfig = `prometheus:
  scrape_interval: 1s
thresholds:
  metrics_absent: {for: 5s}
alerting:
  evaluation_interval: 1s
alertmanager:
  critical: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  warning: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  info: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  default: {group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  pagerduty:
    url: %q
    routing_key_file: /nonexistent/pagerduty_routing_key
  slack:
    api_url_file: /nonexistent/slack_webhook_url
  email:
    smarthost: %q
    require_tls: false
    auth_username: %q
    auth_password_file: /nonexistent/smtp_password
`

// tenantBRules is what the second tenant syncs: one alert that fires at
// once, so its Alertmanager has an alert the first tenant must not see.
const tenantBRules = `groups:
  - name: tenant-b-only
    interval: 1s
    rules:
      - alert: TenantBOnly
        expr: vector(1)
        labels: {severity: info, team: b}
        annotations: {summary: only tenant b has this}
`

// cortexBinary returns the Cortex binary from DBMON_CORTEX, skipping the
// test when it is not set, unless DBMON_REQUIRE_CORTEX=1.
func cortexBinary(t *testing.T) string {
	bin := os.Getenv("DBMON_CORTEX")
	if bin == "" {
		if os.Getenv("DBMON_REQUIRE_CORTEX") == "1" {
			t.Fatal("DBMON_REQUIRE_CORTEX=1 but DBMON_CORTEX is not set: run eval \"$(.ci/engines.sh)\"")
		}
		t.Skip("DBMON_CORTEX is not set: build Cortex with eval \"$(.ci/engines.sh)\" to run this test")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("DBMON_CORTEX: %v", err)
	}
	return bin
}

// tenantGet GETs url as tenant and returns the body and status.
func tenantGet(tenant, url string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// alertNames lists the alerts a tenant's Cortex Alertmanager holds.
func alertNames(t *testing.T, base, tenant string) []string {
	b, code, err := tenantGet(tenant, base+"/alertmanager/api/v2/alerts")
	if err != nil || code != http.StatusOK {
		return nil
	}
	var as []amAlert
	if err := json.Unmarshal(b, &as); err != nil {
		t.Fatalf("alertmanager alerts of %s: %v: %s", tenant, err, b)
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Labels["alertname"])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// eventually polls cond every 250ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestCortex(t *testing.T) {
	bin := cortexBinary(t)
	dir := t.TempDir()
	box := &inbox{alertNames: []string{"QueryMetricsAbsent", "TenantBOnly"}}

	// Receivers, and the secrets they insist on: they exist only in the
	// environment of dbmonctl alertmanager push.
	routingKey, smtpPass := randomHex(t, 16), randomHex(t, 12)
	slackPath := "/services/T0CORTEX/B0CORTEX/" + randomHex(t, 12)
	pd := newPagerDutyServer(t, box, routingKey)
	slack := newSlackServer(t, box, slackPath)
	smtp := newSMTPServer(t, box, smtpUser, smtpPass)
	secretEnv := []string{"PAGERDUTY_SERVICE_KEY=" + routingKey, "SLACK_WEBHOOK_URL=" + slack.URL + slackPath, "SMTP_PASSWORD=" + smtpPass}
	secrets := []string{routingKey, smtpPass, slackPath}

	cfg := filepath.Join(dir, "pack.yaml")
	writeFile(t, cfg, fmt.Sprintf(cortexPackConfig, pd.URL+"/v2/enqueue", smtp.Addr(), smtpUser))
	bRules := filepath.Join(dir, "tenant-b.yml")
	writeFile(t, bRules, tenantBRules)

	httpAddr, grpcAddr := freePort(t), freePort(t)
	_, httpPort, _ := strings.Cut(httpAddr, ":")
	_, grpcPort, _ := strings.Cut(grpcAddr, ":")
	cortexYAML := filepath.Join(dir, "cortex.yaml")
	writeFile(t, cortexYAML, fmt.Sprintf(cortexConfig, filepath.Join(dir, "data"), httpPort, grpcPort))
	cortex := startProc(t, dir, "cortex", bin, "-config.file="+cortexYAML)
	base := "http://" + httpAddr
	start := time.Now()
	waitReady(t, cortex, base+"/ready", 60*time.Second)
	t.Logf("cortex ready in %v", time.Since(start).Round(time.Millisecond))

	dbm := func(env []string, args ...string) (string, int) {
		t.Helper()
		out, code := run(t, dir, env, dbmonctl, args...)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("dbmonctl %s printed a secret:\n%s", strings.Join(args, " "), out)
			}
		}
		return out, code
	}
	mustRun := func(env []string, want string, args ...string) string {
		t.Helper()
		out, code := dbm(env, args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("dbmonctl %s: exit %d, want 0 and %q:\n%s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	a := []string{"--address", base, "--tenant", "team-a", "--config", cfg}
	b := []string{"--address", base, "--tenant", "team-b", "--file", bRules}

	// The Alertmanager configurations first, so each tenant's
	// Alertmanager runs before its ruler has alerts to send.
	mustRun(secretEnv, "configuration would be created", append([]string{"alertmanager", "diff"}, a...)...)
	mustRun(secretEnv, "configuration created", append([]string{"alertmanager", "push"}, a...)...)
	mustRun(secretEnv, "configuration unchanged", append([]string{"alertmanager", "push"}, a...)...)
	mustRun(secretEnv, "configuration created", "alertmanager", "push", "--address", base, "--tenant", "team-b", "--config", cfg)
	stored, _, err := tenantGet("team-a", base+"/api/v1/alerts")
	if err != nil || !strings.Contains(string(stored), smtpPass) || strings.Contains(string(stored), "_file: ") {
		t.Fatalf("team-a's stored configuration: want the secrets inline and no *_file (err %v)", err)
	}
	for _, tenant := range []string{"team-a", "team-b"} {
		eventually(t, 30*time.Second, tenant+"'s Alertmanager running", func() bool {
			_, code, err := tenantGet(tenant, base+"/alertmanager/api/v2/status")
			return err == nil && code == http.StatusOK
		})
	}

	// Rules: created, then a second run writes nothing.
	out := mustRun(nil, "1 created, 0 updated, 0 deleted, 0 unchanged", append([]string{"rules", "sync"}, a...)...)
	if !strings.Contains(out, `created ownership marker "dbmonctl-ownership"`) {
		t.Errorf("first sync:\n%s", out)
	}
	mustRun(nil, "in sync: 1 group(s) unchanged, nothing written", append([]string{"rules", "sync"}, a...)...)
	mustRun(nil, "0 to create, 0 to update, 0 to delete, 1 unchanged", append([]string{"rules", "diff", "--exit-code"}, a...)...)

	// The second tenant syncs its own rules into a namespace of the same
	// name, pruning: the first tenant's rules are untouched and invisible.
	mustRun(nil, "1 created", append([]string{"rules", "sync", "--prune"}, b...)...)
	mustRun(nil, "in sync", append([]string{"rules", "sync", "--prune"}, b...)...)
	ruleGroups := func(tenant string) string {
		body, code, err := tenantGet(tenant, base+"/api/v1/rules")
		if err != nil || code != http.StatusOK {
			t.Fatalf("rules of %s: %d %v: %s", tenant, code, err, body)
		}
		return string(body)
	}
	ra, rb := ruleGroups("team-a"), ruleGroups("team-b")
	if !strings.Contains(ra, "dbmonctl-database-queries") || strings.Contains(ra, "tenant-b-only") {
		t.Errorf("team-a's rules:\n%s", ra)
	}
	if !strings.Contains(rb, "tenant-b-only") || strings.Contains(rb, "dbmonctl-database-queries") {
		t.Errorf("team-b's rules:\n%s", rb)
	}
	mustRun(nil, "in sync", append([]string{"rules", "sync"}, a...)...)

	// The pack's dead man's switch, evaluated by Cortex's ruler for a
	// tenant without data, reaches Cortex's Alertmanager for that tenant
	// only, and from there PagerDuty, Slack and email with the secrets
	// that came from the environment.
	eventually(t, 90*time.Second, "QueryMetricsAbsent in team-a's Alertmanager", func() bool {
		return slices.Contains(alertNames(t, base, "team-a"), "QueryMetricsAbsent")
	})
	eventually(t, 60*time.Second, "TenantBOnly in team-b's Alertmanager", func() bool {
		return slices.Contains(alertNames(t, base, "team-b"), "TenantBOnly")
	})
	if got := alertNames(t, base, "team-a"); slices.Contains(got, "TenantBOnly") {
		t.Errorf("team-a's Alertmanager holds team-b's alert: %v", got)
	}
	if got := alertNames(t, base, "team-b"); slices.Contains(got, "QueryMetricsAbsent") {
		t.Errorf("team-b's Alertmanager holds team-a's alert: %v", got)
	}
	want := []route{{viaPagerDuty, ""}, {viaSlack, alertsChannel}, {viaEmail, emailTo}}
	eventually(t, 60*time.Second, "QueryMetricsAbsent notified by PagerDuty, Slack and email", func() bool {
		list, _ := box.snapshot()
		for _, r := range want {
			if !slices.ContainsFunc(list, func(n notification) bool {
				return n.Via == r.via && (r.dest == "" || strings.Contains(n.Dest, r.dest)) && slices.Contains(n.Alerts, "QueryMetricsAbsent")
			}) {
				return false
			}
		}
		return true
	})
	if _, problems := box.snapshot(); len(problems) > 0 {
		t.Errorf("the receivers saw problems (a wrong secret?):\n  %s", strings.Join(problems, "\n  "))
	}
	t.Logf("rules synced, configurations pushed and QueryMetricsAbsent notified %v after Cortex was ready", time.Since(start).Round(time.Second))

	// The real engine's refusals: a wrong API prefix (404, exit 5), and a
	// namespace holding a group made outside dbmonctl (exit 6), which
	// stays as it was.
	if out, code := dbm(nil, append([]string{"rules", "diff", "--prefix", "/prometheus/config/v1/rules"}, a...)...); code != 5 {
		t.Errorf("wrong prefix: exit %d, want 5:\n%s", code, out)
	}
	handmade := "name: handmade\nrules:\n  - alert: Handmade\n    expr: vector(0) > 1\n"
	if code, err := tenantPost("team-a", base+"/api/v1/rules/handmade", handmade); err != nil || code != http.StatusAccepted {
		t.Fatalf("create a group by hand: %d %v", code, err)
	}
	out, code := dbm(nil, append([]string{"rules", "sync", "--namespace", "handmade"}, a...)...)
	if code != 6 || !strings.Contains(out, `namespace "handmade" holds 1 rule group(s) ("handmade") and no ownership marker of dbmonctl`) {
		t.Errorf("foreign namespace: exit %d, want 6:\n%s", code, out)
	}
	if body, _, _ := tenantGet("team-a", base+"/api/v1/rules/handmade"); strings.Contains(string(body), "dbmonctl") {
		t.Errorf("dbmonctl wrote into the foreign namespace:\n%s", body)
	}
}

// tenantPost POSTs a YAML body to url as tenant and returns the status.
func tenantPost(tenant, url, body string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
