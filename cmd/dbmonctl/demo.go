package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/demo"
)

type demoOptions struct {
	listen   string
	scenario string
	qps      float64
	maxOpen  int
	dbDir    string
}

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

GET /scenario shows the running scenario. The first line on stdout is the
address the demo serves on. Interrupt (Ctrl-C) to stop.`,
		Example: `  dbmonctl demo
  dbmonctl demo --config dbmonctl.yaml --listen 127.0.0.1:9100 --scenario slow-burst
  curl -X POST 'http://127.0.0.1:8080/scenario?name=p99-spike'`,
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
	cmd.Flags().StringVar(&o.dbDir, "db-dir", "", "directory of the SQLite database file (default: a temporary directory, removed on exit)")
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
	cfg, _, err := a.loadConfig()
	if err != nil {
		return a.reportLoadError(err)
	}
	t := cfg.Thresholds
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := demo.New(demo.Options{
		QPS:           o.qps,
		SlowThreshold: t.SlowQuery.Std(),
		// Spikes land halfway up from the p99 critical threshold, well
		// inside the histogram, so histogram_quantile puts p99 above it.
		SpikeLatency: time.Duration(t.LatencyP99.Critical.Threshold * 1.5 * float64(time.Second)),
		Buckets:      t.Buckets,
		MaxOpenConns: o.maxOpen,
		Registerer:   reg,
		Logger:       a.log,
		Dir:          o.dbDir,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := w.Close(); err != nil {
			a.log.Warn("closing the demo database", "err", err)
		}
	}()
	w.SetScenario(scenario)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: w.Handler(reg, cfg.Prometheus.MetricsPath), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.stdout, "serving http://%s%s (scenario %s, %g qps)\n", ln.Addr(), cfg.Prometheus.MetricsPath, scenario, o.qps)

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
