package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbmonctl/dbmonctl/specs"
)

type queryOptions struct {
	url, dashboard string
	n              int
	rangeDur       time.Duration
	service        string
}

// grafanaDashboard is the part of a dashboard JSON that Grafana turns into
// queries.
type grafanaDashboard struct {
	Time struct {
		From string `json:"from"`
	} `json:"time"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

// query is one request Grafana makes for the dashboard.
type query struct {
	name, kind, expr string // kind: label (a variable's label_values), instant, range
	label            string // of a label query
}

var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// measureQueries runs every query of the dashboard n times through the
// HTTP API, as Grafana would with the dashboard's time range ending now:
// the variables' label_values through the label values API, the panels'
// instant and range queries with Grafana's built-in variables substituted.
// It does so twice: with every variable at All, and with the service
// variable at one service.
func measureQueries(ctx context.Context, o queryOptions, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(o.dashboard)
	if err != nil {
		return err
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("%s: %w", o.dashboard, err)
	}
	rng := o.rangeDur
	if rng == 0 {
		if rng, err = time.ParseDuration(strings.TrimPrefix(d.Time.From, "now-")); err != nil {
			return fmt.Errorf("%s: time.from %q: %w", o.dashboard, d.Time.From, err)
		}
	}
	// Grafana's interval: the range over the panel's data points (about
	// its width in pixels, ~1,000 here), never under the data source's
	// scrape interval; $__rate_interval is max($__interval + scrape
	// interval, 4 × scrape interval).
	scrape := specs.Default().Prometheus.ScrapeInterval.Std()
	interval := max(scrape, (rng / 1000).Round(time.Second))
	rate := max(interval+scrape, 4*scrape)
	builtins := strings.NewReplacer(
		"$__rate_interval", promDuration(rate), "${__rate_interval}", promDuration(rate),
		"$__interval_ms", strconv.FormatInt(interval.Milliseconds(), 10),
		"$__interval", promDuration(interval), "${__interval}", promDuration(interval),
		"$__range_s", strconv.Itoa(int(rng.Seconds())),
		"$__range", promDuration(rng), "${__range}", promDuration(rng),
	)
	var queries []query
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if obj, ok := v.Query.(map[string]any); ok {
			q, _ = obj["query"].(string)
		}
		if m := labelValues.FindStringSubmatch(q); m != nil {
			queries = append(queries, query{name: "variable " + v.Name, kind: "label", expr: m[1], label: m[2]})
		} else {
			queries = append(queries, query{name: "variable " + v.Name, kind: "instant", expr: q})
		}
	}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			for i, t := range p.Targets {
				kind := "range"
				if t.Instant {
					kind = "instant"
				}
				queries = append(queries, query{name: fmt.Sprintf("%s [%c]", p.Title, 'A'+i), kind: kind, expr: builtins.Replace(t.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	fmt.Fprintf(stdout, "%d queries, %d runs each; range %s, step %s, $__rate_interval %s\n", len(queries), o.n, rng, interval, rate)

	for _, pass := range []struct {
		title   string
		service string
	}{{"all services (every variable All)", ".*"}, {"one service (service=" + o.service + ", the others All)", o.service}} {
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			if v.IncludeAll {
				vars[v.Name] = v.AllValue
			}
		}
		vars[specs.LabelService] = pass.service
		fmt.Fprintf(stdout, "\n%s\n", pass.title)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "query\tkind\tseries\tp50\tp99\t")
		var all []float64
		for _, q := range queries {
			expr := q.expr
			for name, val := range vars {
				expr = strings.ReplaceAll(expr, "${"+name+"}", val)
				expr = strings.ReplaceAll(expr, "$"+name, val)
			}
			var times []float64
			n := 0
			for range o.n {
				end := time.Now()
				start := time.Now()
				var err error
				n, err = runQuery(ctx, o.url, q.kind, expr, q.label, end.Add(-rng), end, interval)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", q.name, expr, err)
				}
				times = append(times, time.Since(start).Seconds())
			}
			all = append(all, times...)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", q.name, q.kind, n, secs(quantile(times, 0.5)), secs(quantile(times, 0.99)))
		}
		fmt.Fprintf(tw, "every query\t\t\t%s\t%s\t\n", secs(quantile(all, 0.5)), secs(quantile(all, 0.99)))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// runQuery runs one query and returns how many series or values it gave.
func runQuery(ctx context.Context, base, kind, expr, label string, start, end time.Time, step time.Duration) (int, error) {
	ts := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
	switch kind {
	case "label":
		q := url.Values{"start": {ts(start)}, "end": {ts(end)}}
		if expr != "" {
			q.Set("match[]", expr)
		}
		var vs []string
		err := apiGet(ctx, base, "/api/v1/label/"+label+"/values", q, &vs)
		return len(vs), err
	case "instant":
		var r struct {
			Result []json.RawMessage `json:"result"`
		}
		err := apiGet(ctx, base, "/api/v1/query", url.Values{"query": {expr}, "time": {ts(end)}}, &r)
		return len(r.Result), err
	default:
		var r struct {
			Result []json.RawMessage `json:"result"`
		}
		q := url.Values{"query": {expr}, "start": {ts(start)}, "end": {ts(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
		err := apiGet(ctx, base, "/api/v1/query_range", q, &r)
		return len(r.Result), err
	}
}

// promDuration writes d as PromQL does: 1m, 90s, 1h.
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}
