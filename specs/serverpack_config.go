package specs

import "time"

// The settings of the server packs. Their doc comments are the
// documentation of the config file's server section: go generate copies
// them into fieldDocs with those of config.go.

// ServerSettings holds the settings of every server pack.
type ServerSettings struct {
	// PostgreSQL is the postgresql pack, over postgres_exporter.
	PostgreSQL PostgresPack `yaml:"postgresql"`
	// MySQL is the mysql pack, over mysqld_exporter (MySQL and MariaDB).
	MySQL MySQLPack `yaml:"mysql"`
}

// ExporterJob is the Prometheus scrape job of one exporter.
type ExporterJob struct {
	// JobName is the exporter's scrape job in the generated prometheus.yml;
	// every query of the pack selects job="<JobName>".
	JobName string `yaml:"job_name"`
	// Targets are the exporter's host:port addresses.
	Targets []string `yaml:"targets"`
}

// ConnectionLevels are the two levels of a server's connections in use,
// as a share (0–1) of its max_connections.
type ConnectionLevels struct {
	Warning  Level `yaml:"warning"`
	Critical Level `yaml:"critical"`
}

// LagLevels are the two levels of a replica's replication lag, in seconds.
type LagLevels struct {
	Warning  Level `yaml:"warning"`
	Critical Level `yaml:"critical"`
}

// PostgresPack holds the postgresql pack's scrape job and thresholds.
type PostgresPack struct {
	// Exporter is postgres_exporter's scrape job. Run the exporter with
	// --extend.query-path pointing at its example queries.yaml, or the
	// dead-tuple and replication panels stay empty.
	Exporter ExporterJob `yaml:"exporter"`
	// Down is how long pg_up may stay 0 (the exporter cannot reach the
	// server) before the critical alert fires; its threshold is unused.
	Down Level `yaml:"down"`
	// Connections is the share of max_connections in use by backends.
	Connections ConnectionLevels `yaml:"connections"`
	// Deadlocks fires when more than Threshold deadlocks were detected in
	// one database within thresholds.rate_window (0: any deadlock).
	Deadlocks Level `yaml:"deadlocks"`
	// LongTransaction is the age in seconds of the oldest transaction that
	// is active (running, or waiting for a lock) or idle in transaction.
	LongTransaction Level `yaml:"long_transaction"`
	// CacheHitRatio is the share (0–1) of block reads served from shared
	// buffers, below which the info alert fires.
	CacheHitRatio Level `yaml:"cache_hit_ratio"`
	// MinBlockRate is the block reads per second (hits and misses) below
	// which a database's cache hit ratio is not evaluated.
	MinBlockRate float64 `yaml:"min_block_rate"`
	// DeadTuples is the share (0–1) of a table's rows that are dead, above
	// which the info alert fires.
	DeadTuples Level `yaml:"dead_tuples"`
	// MinDeadTuples is the number of dead rows below which a table is not
	// reported, however high its share: small tables are vacuumed cheaply.
	MinDeadTuples float64 `yaml:"min_dead_tuples"`
	// ReplicationLag is the seconds since a replica replayed its last
	// transaction (pg_replication_lag, from the example queries file; 0 on
	// a primary). It also grows while the primary writes nothing.
	ReplicationLag LagLevels `yaml:"replication_lag"`
}

// MySQLPack holds the mysql pack's scrape job and thresholds.
type MySQLPack struct {
	// Exporter is mysqld_exporter's scrape job.
	Exporter ExporterJob `yaml:"exporter"`
	// Down is how long mysql_up may stay 0 (the exporter cannot reach the
	// server) before the critical alert fires; its threshold is unused.
	Down Level `yaml:"down"`
	// Connections is the share of max_connections in use (Threads_connected).
	Connections ConnectionLevels `yaml:"connections"`
	// Deadlocks fires when more than Threshold InnoDB deadlocks were
	// detected within thresholds.rate_window (0: any deadlock). The
	// counter exists on MariaDB 10.5 and later only.
	Deadlocks Level `yaml:"deadlocks"`
	// RowLockWaits is the InnoDB row lock waits per second, over
	// thresholds.rate_window.
	RowLockWaits Level `yaml:"row_lock_waits"`
	// BufferPoolHitRatio is the share (0–1) of InnoDB logical reads served
	// from the buffer pool, below which the info alert fires.
	BufferPoolHitRatio Level `yaml:"buffer_pool_hit_ratio"`
	// MinReadRequestRate is the InnoDB read requests per second below which
	// the buffer pool hit ratio is not evaluated.
	MinReadRequestRate float64 `yaml:"min_read_request_rate"`
	// ReplicationLag is a replica's Seconds_Behind_Master, per replication
	// connection (absent on a primary and while the SQL thread is stopped).
	ReplicationLag LagLevels `yaml:"replication_lag"`
	// LongTransaction is the age in seconds of the oldest running
	// statement, as the mean age of the statements in one processlist
	// state (mysqld_exporter 0.14 has no transaction age; the mean is a
	// lower bound of the oldest statement's age, and a statement's
	// transaction is at least as old). Needs the exporter's
	// --collect.info_schema.processlist.
	LongTransaction Level `yaml:"long_transaction"`
}

// defaultServerSettings are the server packs' defaults: the exporters'
// default ports, and thresholds for a primary serving an OLTP workload.
func defaultServerSettings() ServerSettings {
	// A replica a minute behind serves reads stale enough for a ticket;
	// five minutes behind, its readers are badly wrong and a failover to it
	// waits for that much replay.
	defaultLag := LagLevels{
		Warning:  Level{Threshold: 60, For: Duration(5 * time.Minute)},
		Critical: Level{Threshold: 300, For: Duration(5 * time.Minute)},
	}
	return ServerSettings{
		PostgreSQL: PostgresPack{
			Exporter: ExporterJob{JobName: "postgres", Targets: []string{"localhost:9187"}},
			Down:     Level{For: Duration(time.Minute)},
			Connections: ConnectionLevels{
				Warning:  Level{Threshold: 0.8, For: Duration(5 * time.Minute)},
				Critical: Level{Threshold: 0.95, For: Duration(2 * time.Minute)},
			},
			Deadlocks:       Level{Threshold: 0, For: Duration(time.Minute)},
			LongTransaction: Level{Threshold: 300, For: Duration(time.Minute)},
			CacheHitRatio:   Level{Threshold: 0.9, For: Duration(30 * time.Minute)},
			MinBlockRate:    100,
			DeadTuples:      Level{Threshold: 0.2, For: Duration(30 * time.Minute)},
			MinDeadTuples:   10000,
			ReplicationLag:  defaultLag,
		},
		MySQL: MySQLPack{
			Exporter: ExporterJob{JobName: "mysql", Targets: []string{"localhost:9104"}},
			Down:     Level{For: Duration(time.Minute)},
			Connections: ConnectionLevels{
				Warning:  Level{Threshold: 0.8, For: Duration(5 * time.Minute)},
				Critical: Level{Threshold: 0.95, For: Duration(2 * time.Minute)},
			},
			Deadlocks:          Level{Threshold: 0, For: Duration(time.Minute)},
			RowLockWaits:       Level{Threshold: 0.1, For: Duration(10 * time.Minute)},
			BufferPoolHitRatio: Level{Threshold: 0.95, For: Duration(30 * time.Minute)},
			MinReadRequestRate: 100,
			ReplicationLag:     defaultLag,
			LongTransaction:    Level{Threshold: 300, For: Duration(time.Minute)},
		},
	}
}
