// Package e2e holds the end-to-end fire drill: it builds dbmonctl,
// generates the monitoring pack from a drill config (the same YAML users
// write, with timings shortened from minutes to seconds), and runs the
// real Prometheus and Alertmanager binaries against the demo workload.
// Alertmanager's real PagerDuty, Slack and email integrations deliver to
// capture servers on loopback, and the drill asserts which alert reached
// which receiver, how fast, and, for the scenarios marked resolve, that
// every receiver is told when the workload is healthy again.
//
// The same drill runs on the distributed engines (a subset of the
// scenarios: healthy, slow-burst, metrics-gone): VictoriaMetrics scraping
// the demo with vmalert evaluating the rules, and Cortex fed by vmagent's
// remote write with the rules synced by dbmonctl rules sync and the
// Alertmanager configuration pushed by dbmonctl alertmanager push. Each
// engine logs its own table; when more than one ran, the test binary
// prints them side by side at the end.
//
// The fleet drill (TestFleetDrill) runs three services at once, each its
// own demo process and scrape job, from one config with per-service
// thresholds and two teams besides the default one: one service's slow
// burst pages only its team, a p99 above the default threshold but below
// a service's own fires only where the default applies, and a killed
// service fires only its own absence alert, routed to its team.
//
// The labels drill (TestLabelsDrill) generates the pack with both opt-in
// labels of the middleware (db_name, statement; max_statements 5) and runs
// one demo with two databases and 8 statement names: a slow burst on one
// database alerts for that database only, with db_name in the delivered
// labels and the database in the description; the dashboard's db_name
// variable and per-statement panels return data with the variables
// substituted as Grafana would; the names beyond the maximum are counted
// as folded.
//
// The replication drill (TestReplicationDrill) starts a PostgreSQL
// primary with a streaming standby and a MariaDB primary with a replica,
// in temporary directories on free ports, and holds replay back on both
// replicas while the primaries write: the replication-lag warnings are
// delivered for the replicas only, and resolve once replay resumes.
//
// The drill only builds with the e2e tag:
//
//	eval "$(.ci/engines.sh)"
//	go test -tags e2e ./e2e/ -v -timeout 20m
//
// It needs the prometheus and prometheus-alertmanager binaries on PATH
// (Debian packages prometheus and prometheus-alertmanager). The engine
// drills need the binaries .ci/engines.sh builds and skip without them,
// unless DBMON_REQUIRE_VMALERT=1 or DBMON_REQUIRE_CORTEX=1.
package e2e
