package specs

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

func bothPacks() Config {
	c := Default()
	c.ServerPacks = []string{PackPostgreSQL, PackMySQL}
	return c
}

// serverAlertNames are the alerts of the server packs of p.
func serverAlertNames(p *Pack) []string {
	var out []string
	for _, a := range p.Alerts {
		if strings.HasPrefix(a.Name, "Postgres") || strings.HasPrefix(a.Name, "MySQL") {
			out = append(out, a.Name)
		}
	}
	return out
}

func errorFindings(errs []error) []error { return diag.Errors(errs) }

func TestServerPacksAreOffByDefault(t *testing.T) {
	p := Build(Default())
	if got := serverAlertNames(p); len(got) != 0 {
		t.Fatalf("the default pack has server alerts %v", got)
	}
	for _, d := range p.Dashboard.Panels {
		if d.ID > 100 {
			t.Errorf("the default dashboard has server panel %d %q", d.ID, d.Title)
		}
	}
	if _, problems := KnownSeries(Default()).Check("pg_up"); len(problems) == 0 {
		t.Error("pg_up is a known series without the postgresql pack")
	}
	if _, problems := KnownSeries(bothPacks()).Check(`sum by (job, instance, datname) (increase(pg_stat_database_deadlocks{job="postgres"}[5m])) + mysql_up`); len(problems) != 0 {
		t.Errorf("with both packs on, their series are unknown: %v", problems)
	}
}

func TestServerPackQueryWithoutThePackIsAFinding(t *testing.T) {
	// A server-pack family added in Go while server_packs is empty: its
	// expression and panels name series no switched-on contract has.
	_, errs := Check(Default(), Source{}, WithFamilies(pgUpFamily))
	var promql []string
	for _, e := range errorFindings(errs) {
		if d := diag.As(e); d.ID == CheckPromQL {
			promql = append(promql, d.Error())
		}
	}
	if len(promql) == 0 || !strings.Contains(strings.Join(promql, "\n"), `"pg_up" is not exported`) {
		t.Fatalf("want a promql finding for pg_up, got %v", errs)
	}
	c := Default()
	c.ServerPacks = []string{PackPostgreSQL}
	if _, errs := Check(c, Source{}); len(errorFindings(errs)) != 0 {
		t.Fatalf("with the pack on: %v", errorFindings(errs))
	}
}

func TestServerPacksValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(c *Config)
		id, path string
	}{
		{"an unknown pack", func(c *Config) { c.ServerPacks = []string{"oracle"} }, CheckServerPack, "server_packs[0]"},
		{"a pack listed twice", func(c *Config) { c.ServerPacks = []string{PackMySQL, PackMySQL} }, CheckServerPack, "server_packs[1]"},
		{"warning not below critical", func(c *Config) { c.Server.PostgreSQL.Connections.Warning.Threshold = 0.96 }, CheckThresholdOrder, "server.postgresql.connections.warning.threshold"},
		{"critical slower than warning", func(c *Config) { c.Server.MySQL.Connections.Critical.For = Duration(time.Hour) }, CheckForOrder, "server.mysql.connections.critical.for"},
		{"a share above 1", func(c *Config) { c.Server.PostgreSQL.CacheHitRatio.Threshold = 90 }, CheckRange, "server.postgresql.cache_hit_ratio.threshold"},
		{"a deadlock for as long as the window", func(c *Config) { c.Server.MySQL.Deadlocks.For = c.Thresholds.RateWindow }, CheckRateWindow, "server.mysql.deadlocks.for"},
		{"a fractional deadlock count", func(c *Config) { c.Server.PostgreSQL.Deadlocks.Threshold = 0.5 }, CheckRange, "server.postgresql.deadlocks.threshold"},
		{"an exporter job equal to the application's", func(c *Config) { c.Server.MySQL.Exporter.JobName = c.Prometheus.JobName }, CheckServerPack, "server.mysql.exporter.job_name"},
		{"an exporter target without a port", func(c *Config) { c.Server.PostgreSQL.Exporter.Targets = []string{"db"} }, CheckSetting, "server.postgresql.exporter.targets[0]"},
		{"a zero guard", func(c *Config) { c.Server.MySQL.MinReadRequestRate = 0 }, CheckRange, "server.mysql.min_read_request_rate"},
		{"a lag warning not below its critical", func(c *Config) { c.Server.MySQL.ReplicationLag.Warning.Threshold = 600 }, CheckThresholdOrder, "server.mysql.replication_lag.warning.threshold"},
		{"a lag critical slower than its warning", func(c *Config) { c.Server.PostgreSQL.ReplicationLag.Critical.For = Duration(time.Hour) }, CheckForOrder, "server.postgresql.replication_lag.critical.for"},
		{"a zero lag", func(c *Config) { c.Server.PostgreSQL.ReplicationLag.Warning.Threshold = 0 }, CheckRange, "server.postgresql.replication_lag.warning.threshold"},
		{"a zero statement age", func(c *Config) { c.Server.MySQL.LongTransaction.Threshold = 0 }, CheckRange, "server.mysql.long_transaction.threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := bothPacks()
			tc.change(&c)
			var got []string
			for _, e := range errorFindings(Validate(c, Source{})) {
				d := diag.As(e)
				got = append(got, d.ID+" "+d.Path)
				if d.ID == tc.id && d.Path == tc.path {
					return
				}
			}
			t.Fatalf("want %s at %s, got %v", tc.id, tc.path, got)
		})
	}
	t.Run("the settings of a pack that is off are not read", func(t *testing.T) {
		c := Default()
		c.Server.MySQL.Connections.Warning.Threshold = 2
		if errs := errorFindings(Validate(c, Source{})); len(errs) != 0 {
			t.Fatal(errs)
		}
	})
}

func TestServerPacksBuildAndPass(t *testing.T) {
	c := bothPacks()
	p, errs := Check(c, Source{})
	if len(errorFindings(errs)) != 0 {
		t.Fatalf("findings: %v", errorFindings(errs))
	}
	names := serverAlertNames(p)
	want := []string{
		AlertPostgresDown, AlertPostgresConnectionsNearMaxCrit, AlertPostgresConnectionsNearMaxWarning, AlertPostgresDeadlocks,
		AlertPostgresLongTransaction, AlertPostgresCacheHitRatioLow, AlertPostgresDeadTuplesHigh,
		AlertPostgresReplicationLagCritical, AlertPostgresReplicationLagWarning,
		AlertMySQLDown, AlertMySQLConnectionsNearMaxCrit, AlertMySQLConnectionsNearMaxWarning, AlertMySQLDeadlocks,
		AlertMySQLRowLockWaits, AlertMySQLBufferPoolHitRatioLow,
		AlertMySQLReplicationLagCritical, AlertMySQLReplicationLagWarning, AlertMySQLLongTransaction,
	}
	if !slices.Equal(names, want) {
		t.Fatalf("server alerts %v, want %v", names, want)
	}
	s := RunTests(context.Background(), p)
	if s.Failed != 0 {
		t.Fatalf("%d failed:\n%s", s.Failed, strings.Join(s.Failures, "\n"))
	}
	// every severity of the ladder, each routed by the existing tree
	sev := map[string]bool{}
	for _, a := range p.Alerts {
		if slices.Contains(names, a.Name) {
			sev[a.Severity] = true
		}
	}
	if len(sev) != 3 {
		t.Errorf("server alerts use severities %v, want all three", sev)
	}
	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	prom := string(files[FilePrometheus])
	for _, j := range []string{"job_name: postgres", "localhost:9187", "job_name: mysql", "localhost:9104"} {
		if !strings.Contains(prom, j) {
			t.Errorf("prometheus.yml lacks %q:\n%s", j, prom)
		}
	}
	am := string(files[FileAlertmanager])
	if !strings.Contains(am, "query_type, instance, connection_name, channel_name]") {
		t.Errorf("the twin inhibitions do not compare instance with server packs on:\n%s", am)
	}
	if am0, _ := Build(Default()).Files(); strings.Contains(string(am0[FileAlertmanager]), "instance]") {
		t.Error("the default alertmanager.yml compares instance")
	}
}

// The server alerts' tests are not vacuous: each broken rule fails them.
func TestServerPackRuleTestsCatchBrokenRules(t *testing.T) {
	p := Build(bothPacks())
	for _, name := range serverAlertNames(p) {
		t.Run(name, func(t *testing.T) {
			groups := cloneGroups(p.RuleGroups)
			broken := false
			for i, r := range groups[0].Rules {
				if r.Alert != name {
					continue
				}
				// invert the comparison: what fired is quiet and the
				// other way round
				for _, op := range []string{" > ", " < ", " == "} {
					if strings.Contains(r.Expr, op) {
						inv := map[string]string{" > ": " <= ", " < ": " >= ", " == ": " != "}[op]
						groups[0].Rules[i].Expr = strings.Replace(r.Expr, op, inv, 1)
						broken = true
						break
					}
				}
			}
			if !broken {
				t.Fatalf("no comparison found in %s", name)
			}
			res := rules.Run(context.Background(), groups, p.Config.Alerting.EvaluationInterval.Std(), onlyAlerts(p.RuleTests, name))
			if res.Failed == 0 {
				t.Fatalf("%d tests of %s still pass with the comparison inverted", res.Passed, name)
			}
		})
	}
}

func cloneGroups(gs []rules.Group) []rules.Group {
	out := make([]rules.Group, len(gs))
	for i, g := range gs {
		out[i] = g
		out[i].Rules = append([]rules.Rule(nil), g.Rules...)
	}
	return out
}

func TestServerPackRulesPassPromtool(t *testing.T) {
	c := bothPacks()
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		t.Run(tool.Name, func(t *testing.T) {
			dir := writeRuleFiles(t, c, RuleGroups(c), RuleTests(c))
			for _, args := range [][]string{{"check", "rules", filepath.Base(FileRules)}, {"test", "rules", filepath.Base(FileRuleTests)}} {
				stdout, stderr, err := runTool(dir, tool.Path, nil, args...)
				if err != nil || !strings.Contains(stdout, "SUCCESS") {
					t.Fatalf("%s %s: %v\n%s\n%s", tool.Path, strings.Join(args, " "), err, stdout, stderr)
				}
			}
		})
	}
}
