package pgxtrace_test

import (
	"context"
	"log"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

func Example() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m, err := middleware.New(middleware.WithRegisterer(reg))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.Tracer = pgxtrace.New(m)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := reg.Register(pgxtrace.NewStatsCollector(pool, "app")); err != nil {
		log.Fatal(err)
	}
	// Queries through pool now feed db_queries_total, db_query_duration_seconds,
	// db_query_errors_total and db_slow_queries_total; scrapes read the pool's
	// figures as go_sql_*{db_name="app"}.
}
