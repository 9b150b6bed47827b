package exporters

import "github.com/dbmonctl/dbmonctl/pkg/middleware"

// PostgresQueryFile is where Debian's prometheus-postgres-exporter package
// installs the exporter's example custom queries, which define
// pg_stat_user_tables_* and pg_replication_lag.
const PostgresQueryFile = "/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml"

// PostgreSQL is the contract of prometheus-community's postgres_exporter.
//
// Almost every family carries the label server (host:port of the data
// source); pg_up does not. pg_stat_activity_* and pg_locks_count have a
// series for every database of the server and every state or lock mode,
// zero when none; pg_stat_database_* has one per database (datid, datname).
// Custom queries run on the data source's database only.
var PostgreSQL = Contract{
	Pack:      "postgresql",
	Exporter:  "postgres_exporter",
	Server:    "PostgreSQL 15",
	Versions:  []string{"0.11.1"},
	BuildInfo: "postgres_exporter_build_info",
	Up:        "pg_up",
	Run: Run{
		Env: []Setting{{
			Name:  "DATA_SOURCE_NAME",
			Value: "postgresql://USER@HOST:5432/DATABASE?sslmode=disable",
			Why:   "the server to scrape; pg_stat_user_tables_* covers the tables of DATABASE only",
		}},
		Flags: []Setting{{
			Name:  "--extend.query-path",
			Value: PostgresQueryFile,
			Why:   "pg_stat_user_tables_* and pg_replication_lag are custom queries of this file",
		}},
	},
	Metrics: []Metric{
		pg("pg_locks_count", middleware.KindGauge, "Locks held or awaited in each database, by lower-case mode; locks without a database (transaction ids) are not counted, so a row lock wait shows as the tuple accessexclusivelock the waiter holds.", []string{"datname", "mode", "server"}),
		pg("pg_replication_lag", middleware.KindGauge, "Seconds since the last replayed transaction on a replica; 0 on a primary.", []string{"server"}, NeedQueryFile),
		pg("pg_settings_max_connections", middleware.KindGauge, "The server's max_connections setting.", []string{"server"}),
		pg("pg_stat_activity_count", middleware.KindGauge, "Number of backends by database and state.", []string{"datname", "server", "state"}),
		pg("pg_stat_activity_max_tx_duration", middleware.KindGauge, "Age in seconds of the oldest transaction, by database and backend state (a backend waiting for a lock is active).", []string{"datname", "server", "state"}),
		pg("pg_stat_database_blks_hit", middleware.KindCounter, "Disk blocks found in shared buffers.", []string{"datid", "datname", "server"}),
		pg("pg_stat_database_blks_read", middleware.KindCounter, "Disk blocks read from disk or the OS cache.", []string{"datid", "datname", "server"}),
		pg("pg_stat_database_deadlocks", middleware.KindCounter, "Deadlocks detected.", []string{"datid", "datname", "server"}),
		pg("pg_stat_database_xact_commit", middleware.KindCounter, "Transactions committed.", []string{"datid", "datname", "server"}),
		pg("pg_stat_database_xact_rollback", middleware.KindCounter, "Transactions rolled back.", []string{"datid", "datname", "server"}),
		pg("pg_stat_user_tables_n_dead_tup", middleware.KindGauge, "Estimated number of dead rows, by table.", []string{"datname", "relname", "schemaname", "server"}, NeedQueryFile, NeedUserTable),
		pg("pg_stat_user_tables_n_live_tup", middleware.KindGauge, "Estimated number of live rows, by table.", []string{"datname", "relname", "schemaname", "server"}, NeedQueryFile, NeedUserTable),
		pg("pg_up", middleware.KindGauge, "1 when the last scrape reached the server.", nil),
	},
}

// pg builds a postgres_exporter metric: its exposition type is its kind.
func pg(name string, kind middleware.MetricKind, help string, labels []string, needs ...Need) Metric {
	return Metric{
		MetricDesc: middleware.MetricDesc{Name: name, Kind: kind, Labels: labels, Help: help},
		Exposed:    Type(kind),
		Needs:      needs,
	}
}
