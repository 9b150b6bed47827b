package drivertest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// The label tests run two databases through one Middleware with WithDBName
// and the statement label capped at two names, against the real servers,
// and read the result from a real Prometheus registry.

// samples gathers reg and returns, per family, each sample's value keyed
// by its labels as name=value pairs in the contract's order. It fails when
// a sample's labels are not the contract's.
func samples(t *testing.T, reg *prometheus.Registry, o middleware.ContractOptions) map[string]map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	contract := map[string][]string{}
	for _, d := range middleware.ContractWith(o) {
		contract[d.Name] = d.Labels
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		want := contract[mf.GetName()]
		out[mf.GetName()] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if !slices.Equal(slices.Sorted(maps.Keys(l)), slices.Sorted(slices.Values(want))) {
				t.Errorf("%s: labels %v, contract says %v", mf.GetName(), l, want)
			}
			var key []string
			for _, n := range want {
				key = append(key, n+"="+l[n])
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[mf.GetName()][strings.Join(key, ",")] = v
		}
	}
	return out
}

// labelsOnServer runs the scenario on a server; connect returns a fresh
// connector of it, sleep is a statement of about 150 ms and ph the
// placeholder of argument n.
func labelsOnServer(t *testing.T, connect func() driver.Connector, sleep string, ph func(int) string) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	m, err := middleware.New(middleware.WithRegisterer(reg), middleware.WithStatementLabel(2),
		middleware.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	must(t, err)
	orders := sql.OpenDB(m.WrapConnector(connect(), middleware.WithDBName("orders")))
	defer orders.Close()
	billing := sql.OpenDB(m.WrapConnector(connect(), middleware.WithDBName("billing")))
	defer billing.Close()
	must(t, m.RegisterDBStats(orders, "orders"))
	must(t, m.RegisterDBStats(billing, "billing"))
	ctx := t.Context()
	one := func(db *sql.DB, ctx context.Context, query string, args ...any) {
		t.Helper()
		var v int64
		must(t, db.QueryRowContext(ctx, query, args...).Scan(&v))
		if v != 1 {
			t.Fatalf("%q returned %d", query, v)
		}
	}

	one(orders, middleware.WithStatement(ctx, "GetOrder"), "SELECT 1")
	one(orders, middleware.WithStatement(ctx, "GetOrder"), "SELECT "+ph(1), 1)
	one(billing, ctx, "-- name: ListInvoices :many\nSELECT "+ph(1), 1)
	one(orders, middleware.WithStatement(ctx, "Third"), "SELECT 1") // beyond the two names
	stmt, err := billing.PrepareContext(ctx, "-- name: GetOrder :one\nSELECT "+ph(1))
	must(t, err)
	var v int64
	must(t, stmt.QueryRowContext(ctx, 1).Scan(&v)) // GetOrder, admitted through orders, from the comment
	must(t, stmt.Close())
	tx, err := billing.BeginTx(ctx, nil)
	must(t, err)
	_, err = tx.ExecContext(ctx, "-- name: Touch :exec\nSELECT 1") // beyond the two names, inside a transaction
	must(t, err)
	must(t, tx.Commit())
	one(orders, ctx, "-- name: Sleepy :one\n"+sleep) // slow, and beyond the two names
	one(orders, ctx, "SELECT 1")                     // no name

	got := samples(t, reg, middleware.ContractOptions{DBName: true, Statement: true})
	for _, c := range []struct {
		metric, key string
		want        float64
	}{
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=orders,statement=GetOrder", 2},
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=billing,statement=ListInvoices", 1},
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=billing,statement=GetOrder", 1},
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=orders,statement=_overflow", 2},
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=billing,statement=_overflow", 1},
		{middleware.MetricQueriesTotal, "query_type=SELECT,db_name=orders,statement=_unnamed", 1},
		{middleware.MetricSlowQueriesTotal, "query_type=SELECT,db_name=orders,statement=_overflow", 1},
		{middleware.MetricStatementOverflowTotal, "db_name=orders", 2},
		{middleware.MetricStatementOverflowTotal, "db_name=billing", 1},
		{middleware.MetricTxDuration, "outcome=commit,db_name=billing", 1},
		{middleware.MetricTxDuration, "outcome=commit,db_name=orders", 0},
		{middleware.MetricPoolMaxOpen, "db_name=orders", 0},
	} {
		if v, ok := got[c.metric][c.key]; !ok || v != c.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", c.metric, c.key, v, ok, c.want)
		}
	}
	for key := range got[middleware.MetricQueriesTotal] {
		if strings.Contains(key, "db_name=,") {
			t.Errorf("a series of the unnamed database, though every wrapper has a name: %s", key)
		}
	}
	lines := slowLines(t, &logs)
	if len(lines) != 1 || lines[0]["statement"] != "Sleepy" || strings.Contains(lines[0]["sql"].(string), "0.15") || strings.Contains(lines[0]["sql"].(string), "--") {
		t.Errorf("slow-query lines %v: want one, naming Sleepy, with the fingerprint of %q", lines, sleep)
	}
}

func TestLabelsPostgres(t *testing.T) {
	dsn := serverDSN(t, "pgx", postgresDSNEnv, defaultPostgresDSN)
	labelsOnServer(t, func() driver.Connector {
		c, err := stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(dsn)
		must(t, err)
		return c
	}, "SELECT 1 FROM pg_sleep(0.15)", func(n int) string { return "$" + string(rune('0'+n)) + "::int8" })
}

func TestLabelsMySQL(t *testing.T) {
	dsn := serverDSN(t, "mysql", mysqlDSNEnv, defaultMySQLDSN)
	cfg, err := mysql.ParseDSN(dsn)
	must(t, err)
	labelsOnServer(t, func() driver.Connector {
		c, err := mysql.NewConnector(cfg)
		must(t, err)
		return c
	}, "SELECT 1 FROM (SELECT SLEEP(0.15)) AS s", func(int) string { return "?" })
}
