// Command benchfleet measures a fleet's generated rules and dashboard on a
// real Prometheus: it writes the rule files of a fleet of n services (the
// generated ones, and the naive per-service alerts they replace), feeds
// Prometheus the series n × instances processes would export under the
// middleware's metric contract, reads the rule groups' evaluation times
// and times the fleet dashboard's queries.
//
// It is driven by scripts/bench-ruleeval.sh, which documents the steps:
//
//	benchfleet files   -services 1000 -out DIR
//	benchfleet write   -services 1000 -instances 3 -url http://…/api/v1/write -history 70m
//	benchfleet records -services 1000 -url http://… -from T -to T
//	benchfleet rules   -url http://… -evals 10
//	benchfleet queries -url http://… -dashboard DIR/dashboard.json -n 20
//	benchfleet ratio B A [BASE]
//
// It is a benchmark, not part of dbmonctl: it is not run by the tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dbmonctl/dbmonctl/specs"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchfleet:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: benchfleet files|write|rules|queries [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	services := fs.Int("services", 1000, "number of services (jobs svc-0 … svc-n-1)")
	switch args[0] {
	case "files":
		out := fs.String("out", ".", "directory to write fleet.yml, naive.yml and dashboard.json into")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeFiles(*services, *out, stdout)
	case "write":
		instances := fs.Int("instances", 3, "instances per service")
		url := fs.String("url", "http://127.0.0.1:9090/api/v1/write", "remote-write endpoint")
		history := fs.Duration("history", 0, "how much history to write before now (0 = none)")
		interval := fs.Duration("interval", 0, "scrape interval (default: the spec's)")
		ready := fs.String("ready", "", "file to create once the history is written")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeSeries(ctx, writeOptions{
			services: *services, instances: *instances, url: *url, history: *history,
			interval: *interval, ready: *ready, log: stderr,
		})
	case "rules":
		url := fs.String("url", "http://127.0.0.1:9090", "Prometheus base URL")
		evals := fs.Int("evals", 10, "evaluations of every group to measure")
		interval := fs.Duration("interval", 0, "evaluation interval (default: the spec's)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *interval == 0 {
			*interval = specs.Default().Alerting.EvaluationInterval.Std()
		}
		return measureRules(ctx, *url, *evals, *interval, stdout, stderr)
	case "queries":
		url := fs.String("url", "http://127.0.0.1:9090", "Prometheus base URL")
		dash := fs.String("dashboard", "dashboard.json", "Grafana dashboard JSON")
		n := fs.Int("n", 20, "runs of each query")
		rangeDur := fs.Duration("range", 0, "dashboard time range (default: the dashboard's)")
		service := fs.String("service", "svc-0", "the one service of the second pass")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return measureQueries(ctx, queryOptions{url: *url, dashboard: *dash, n: *n, rangeDur: *rangeDur, service: *service}, stdout, stderr)
	case "records":
		url := fs.String("url", "http://127.0.0.1:9090", "Prometheus base URL")
		from := fs.String("from", "", "start of the records' history (RFC 3339)")
		to := fs.String("to", "", "end of the records' history (RFC 3339)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		f, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("-from: %w", err)
		}
		t, err := time.Parse(time.RFC3339, *to)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		return backfillRecords(ctx, *url, *services, f, t, stderr)
	case "ratio":
		// ratio B A [BASE] prints (B-BASE)/(A-BASE) of Go durations, as
		// the script's summary.
		if len(args) != 3 && len(args) != 4 {
			return fmt.Errorf("usage: benchfleet ratio B A [BASE]")
		}
		var d [3]time.Duration
		for i, a := range args[1:] {
			v, err := time.ParseDuration(a)
			if err != nil {
				return err
			}
			d[i] = v
		}
		b, a := d[0]-d[2], d[1]-d[2]
		fmt.Fprintf(stdout, "(b)/(a) = %s / %s = %.1f\n", b, a, float64(b)/float64(a))
		return nil
	default:
		return fmt.Errorf("unknown command %q: want files, write, records, rules, queries or ratio", args[0])
	}
}
