package exporters

import "github.com/dbmonctl/dbmonctl/pkg/middleware"

// MySQL is the contract of Prometheus' mysqld_exporter, verified against
// MariaDB.
//
// mysqld_exporter writes every SHOW GLOBAL STATUS value it has no special
// case for as untyped, whether the value is cumulative or current; Kind
// records which (MariaDB's status variable documentation), so a pack takes
// rate() of a counter and reads a gauge as is. Its families carry no
// server label: the scrape target's instance tells servers apart.
var MySQL = Contract{
	Pack:      "mysql",
	Exporter:  "mysqld_exporter",
	Server:    "MariaDB 10.11",
	Versions:  []string{"0.14.0"},
	BuildInfo: "mysqld_exporter_build_info",
	Up:        "mysql_up",
	Run: Run{
		Env: []Setting{{
			Name:  "DATA_SOURCE_NAME",
			Value: "USER:PASSWORD@tcp(HOST:3306)/",
			Why:   "the server to scrape (go-sql-driver/mysql DSN)",
		}},
		Flags: []Setting{
			{Name: "--collect.global_status", Why: "mysql_global_status_* (on by default)"},
			{Name: "--collect.global_variables", Why: "mysql_global_variables_* (on by default)"},
			{Name: "--collect.slave_status", Why: "mysql_slave_status_* on a replica (on by default)"},
			{Name: "--collect.info_schema.processlist", Why: "mysql_info_schema_processlist_* (the age of running statements; off by default)"},
		},
	},
	Metrics: []Metric{
		status("innodb_buffer_pool_read_requests", middleware.KindCounter, "Logical read requests to the InnoDB buffer pool."),
		status("innodb_buffer_pool_reads", middleware.KindCounter, "Logical reads InnoDB could not serve from the buffer pool (read from disk)."),
		status("innodb_deadlocks", middleware.KindCounter, "InnoDB deadlocks detected.", NeedMariaDB105),
		status("innodb_row_lock_current_waits", middleware.KindGauge, "InnoDB row lock waits in progress."),
		status("innodb_row_lock_time", middleware.KindCounter, "Total milliseconds spent waiting for InnoDB row locks."),
		status("innodb_row_lock_waits", middleware.KindCounter, "Times a statement waited for an InnoDB row lock."),
		status("threads_connected", middleware.KindGauge, "Client connections currently open."),
		{
			MetricDesc: middleware.MetricDesc{Name: "mysql_global_variables_max_connections", Kind: middleware.KindGauge, Help: "The server's max_connections variable."},
			Exposed:    TypeGauge,
		},
		processlist("seconds", "Sum of the seconds that the threads of each command and state have spent in that state (information_schema.processlist's TIME; the exporter's own thread excluded)."),
		processlist("threads", "Threads by command and state (information_schema.processlist)."),
		{
			MetricDesc: middleware.MetricDesc{
				Name:   "mysql_slave_status_seconds_behind_master",
				Kind:   middleware.KindGauge,
				Labels: []string{"channel_name", "connection_name", "master_host", "master_uuid"},
				Help:   "Seconds_Behind_Master of SHOW ALL SLAVES STATUS, by replication connection.",
			},
			Exposed: TypeUntyped,
			Needs:   []Need{NeedReplica},
			// Scraped from a replica by the replication drill
			// (testdata/*-replica.txt): the collector writes every numeric
			// column of SHOW ALL SLAVES STATUS as untyped
			// mysql_slave_status_<column lower-cased> with these four
			// labels, and skips a NULL Seconds_Behind_Master.
		},
		{
			MetricDesc: middleware.MetricDesc{Name: "mysql_up", Kind: middleware.KindGauge, Help: "1 when the last scrape reached the server."},
			Exposed:    TypeGauge,
		},
	},
}

// status builds a mysql_global_status_ metric, which the exporter writes
// untyped.
func status(variable string, kind middleware.MetricKind, help string, needs ...Need) Metric {
	return Metric{
		MetricDesc: middleware.MetricDesc{Name: "mysql_global_status_" + variable, Kind: kind, Help: help},
		Exposed:    TypeUntyped,
		Needs:      needs,
	}
}

// processlist builds a mysql_info_schema_processlist_ gauge of the
// info_schema.processlist collector: one series per command and state,
// both lower-cased with spaces as underscores (command="query").
func processlist(name, help string) Metric {
	return Metric{
		MetricDesc: middleware.MetricDesc{Name: "mysql_info_schema_processlist_" + name, Kind: middleware.KindGauge, Labels: []string{"command", "state"}, Help: help},
		Exposed:    TypeGauge,
	}
}
