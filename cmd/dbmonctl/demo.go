package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/demo"
)

type demoOptions struct {
	listen     string
	scenario   string
	scenarioDB string
	qps        float64
	maxOpen    int
	dbDir      string
	databases  []string
	statements int
}

// demoDatabases are the databases of the demo when the config turns the
// db_name label on and --databases does not name others.
var demoDatabases = []string{"orders", "reports"}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	names := make([]string, 0, len(demo.Scenarios()))
	for _, s := range demo.Scenarios() {
		names = append(names, string(s))
	}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a demo application on embedded SQLite and serve its metrics",
		Long: `demo runs a small application on embedded SQLite through the dbmonctl
middleware, serves its metrics for Prometheus to scrape, and drives a query
workload whose shape you choose, so that the generated dashboard and alerts
have something real to show.

The slow threshold, histogram buckets and p99 critical latency come from the
spec (--config), so the demo emits exactly what the generated rules expect.
The metrics are served on prometheus.metrics_path of the spec.

The opt-in labels come from the spec's middleware block too. With
db_name_label the demo runs two databases, orders and reports (--databases
names others), each wrapped WithDBName and each at --qps in its own
scenario: --scenario-db, or db=NAME on the control endpoint, switches one.
With statement_label the middleware admits max_statements statement names;
the workload names its 6 kinds of statement (GetItem, SearchItems, the one
that turns slow, GetArchivedItem, the one that fails, CreateItem, TouchItem,
PruneItems) and --statements adds page queries with names of their own:
more names than max_statements fold the last ones seen into _overflow.

Scenarios (--scenario, or at runtime: curl -X POST 'http://ADDR/scenario?name=NAME'):
  healthy          fast queries at --qps; no alert fires
  slow-burst       15 % of queries slow (slow rate critical)
  sustained-slow   7 % of queries slow (slow rate warning, not critical)
  type-slow        45 % of SELECTs slow (slow rate by type; slow rate critical too)
  p99-spike        4 % of queries at 1.5x the p99 critical latency
  rate-spike       4x --qps (query rate spike)
  traffic-drop     0.2x --qps (traffic drop)
  errors           20 % of statements fail (error rate)
  pool-saturation  every pooled connection stays checked out (pool saturation, waits)
  stopped          no queries; metrics still served

GET /scenario shows the running scenario of each database. The first line on stdout is the
address the demo serves on. Interrupt (Ctrl-C) to stop.`,
		Example: `  dbmonctl demo
  dbmonctl demo --config dbmonctl.yaml --listen 127.0.0.1:9100 --scenario slow-burst
  curl -X POST 'http://127.0.0.1:8080/scenario?name=p99-spike'
  dbmonctl demo --config labels.yaml --statements 12 --scenario slow-burst --scenario-db orders
  curl -X POST 'http://127.0.0.1:8080/scenario?name=errors&db=reports'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a, o)
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve metrics and the control endpoint on (port 0 picks a free one)")
	cmd.Flags().StringVar(&o.scenario, "scenario", string(demo.Healthy), "scenario to start with: "+strings.Join(names, ", "))
	_ = cmd.RegisterFlagCompletionFunc("scenario", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().Float64Var(&o.qps, "qps", demo.DefaultQPS, "base query rate, statements per second")
	cmd.Flags().IntVar(&o.maxOpen, "max-open-conns", demo.DefaultMaxOpenConns, "connection pool size")
	cmd.Flags().StringVar(&o.dbDir, "db-dir", "", "directory of the SQLite database files (default: a temporary directory, removed on exit)")
	cmd.Flags().StringSliceVar(&o.databases, "databases", nil, "names of the databases, each its db_name (needs middleware.db_name_label; default "+strings.Join(demoDatabases, ",")+")")
	cmd.Flags().StringVar(&o.scenarioDB, "scenario-db", "", "run --scenario on this database only; the others start healthy")
	cmd.Flags().IntVar(&o.statements, "statements", demo.BaseStatements, "distinct statement names the workload uses; more than the workload's own add page queries (needs middleware.statement_label)")
	return cmd
}

func runDemo(ctx context.Context, a *app, o demoOptions) error {
	scenario, err := demo.ParseScenario(o.scenario)
	if err != nil {
		return usageError("--scenario: %v", err)
	}
	if !(o.qps > 0) {
		return usageError("--qps must be positive, got %v", o.qps)
	}
	if o.maxOpen < 1 {
		return usageError("--max-open-conns must be at least 1, got %d", o.maxOpen)
	}
	if o.statements < demo.BaseStatements {
		return usageError("--statements must be at least %d, the names of the workload's own statements, got %d", demo.BaseStatements, o.statements)
	}
	cfg, _, err := a.loadConfig()
	if err != nil {
		return a.reportLoadError(err)
	}
	labels := cfg.Middleware
	databases := o.databases
	switch {
	case len(databases) > 0 && !labels.DBNameLabel:
		return usageError("--databases: the config does not turn on middleware.db_name_label, so the generated pack would not tell the databases apart")
	case len(databases) == 0 && labels.DBNameLabel:
		databases = demoDatabases
	}
	if o.statements > demo.BaseStatements && !labels.StatementLabel {
		return usageError("--statements: the config does not turn on middleware.statement_label, so no statement name is recorded")
	}
	if o.scenarioDB != "" && len(databases) == 0 {
		return usageError("--scenario-db: the demo runs one database without a name (turn on middleware.db_name_label)")
	}
	if o.scenarioDB != "" && !slices.Contains(databases, o.scenarioDB) {
		return usageError("--scenario-db: unknown database %q (want one of: %s)", o.scenarioDB, strings.Join(databases, ", "))
	}
	maxStatements := 0
	if labels.StatementLabel {
		maxStatements = labels.MaxStatements
	}
	t := cfg.Thresholds
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := demo.New(demo.Options{
		QPS:           o.qps,
		SlowThreshold: t.SlowQuery.Std(),
		// Spikes land halfway up from the p99 critical threshold, well
		// inside the histogram, so histogram_quantile puts p99 above it.
		SpikeLatency:  time.Duration(t.LatencyP99.Critical.Threshold * 1.5 * float64(time.Second)),
		Buckets:       t.Buckets,
		MaxOpenConns:  o.maxOpen,
		Registerer:    reg,
		Logger:        a.log,
		Dir:           o.dbDir,
		Databases:     databases,
		MaxStatements: maxStatements,
		Statements:    o.statements,
	})
	if err != nil {
		var badName *demo.DatabaseNameError
		if errors.As(err, &badName) {
			return usageError("--databases: %v", err)
		}
		return err
	}
	defer func() {
		if err := w.Close(); err != nil {
			a.log.Warn("closing the demo database", "err", err)
		}
	}()
	if o.scenarioDB != "" {
		if err := w.SetScenarioOf(o.scenarioDB, scenario); err != nil {
			return err // checked above
		}
	} else {
		w.SetScenario(scenario)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: w.Handler(reg, cfg.Prometheus.MetricsPath), ReadHeaderTimeout: 10 * time.Second}
	where := ""
	switch {
	case o.scenarioDB != "":
		where = " on " + o.scenarioDB
	case len(databases) > 0:
		where = " on each of " + strings.Join(databases, ", ")
	}
	fmt.Fprintf(a.stdout, "serving http://%s%s (scenario %s%s, %g qps)\n", ln.Addr(), cfg.Prometheus.MetricsPath, scenario, where, o.qps)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("serve: %w", err)
			cancel()
		}
	}()
	runErr := w.Run(ctx)
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shutdownCtx) // best effort: the process is ending
	wg.Wait()
	a.log.Info("demo stopped", "statements", w.Status().Started)
	return errors.Join(runErr, serveErr)
}
