package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/dbmonctl/dbmonctl/specs"
)

// backfillRecords writes the history of the fleet's recorded series from
// to to, as if the recording rules had been evaluated every interval: the
// dashboard's range queries then read records over their whole range, as
// on a server that has been up. promtool tsdb create-blocks-from rules
// does the same rule by rule (14 per service: about half an hour for
// 1,000 services here); the services of this fleet differ only in their
// job, so each record of the first service is evaluated once for all of
// them, with a job regex, and written back with each service's labels
// (service = job, team). Samples older than the head's window need the
// server's out_of_order_time_window.
func backfillRecords(ctx context.Context, base string, n int, from, to time.Time, log io.Writer) error {
	c := fleetConfig(n, 3)
	p := specs.Build(c)
	team := map[string]string{}
	for _, s := range c.Services {
		team[s.Name] = s.Team
	}
	first := c.Services[0]
	var records []struct{ name, expr string }
	for _, g := range p.RuleGroups {
		if !strings.HasSuffix(g.Name, ":"+first.Name) {
			continue
		}
		for _, r := range g.Rules {
			if r.Record == "" || strings.HasPrefix(r.Expr, "absent(") {
				continue // absent() of a present service records nothing
			}
			expr := strings.ReplaceAll(r.Expr, first.Selector, `job=~"svc-[0-9]+"`)
			records = append(records, struct{ name, expr string }{r.Record, expr})
		}
	}
	interval := c.Alerting.EvaluationInterval.Std()
	w := &writer{url: strings.TrimSuffix(base, "/") + "/api/v1/write", client: &http.Client{Timeout: time.Minute}}
	start := time.Now()
	total := 0
	for t := from; t.Before(to); t = t.Add(10 * time.Minute) {
		end := t.Add(10*time.Minute - interval)
		if end.After(to) {
			end = to
		}
		for _, r := range records {
			var res struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Values [][2]any          `json:"values"`
				} `json:"result"`
			}
			q := url.Values{"query": {r.expr}, "start": {unix(t)}, "end": {unix(end)}, "step": {strconv.FormatFloat(interval.Seconds(), 'f', -1, 64)}}
			if err := apiGet(ctx, base, "/api/v1/query_range", q, &res); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			var ts []prompb.TimeSeries
			for _, s := range res.Result {
				ls := []prompb.Label{{Name: "__name__", Value: r.name}, {Name: specs.LabelService, Value: s.Metric["job"]}, {Name: specs.LabelTeam, Value: team[s.Metric["job"]]}}
				for k, v := range s.Metric {
					ls = append(ls, prompb.Label{Name: k, Value: v})
				}
				sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
				var samples []prompb.Sample
				for _, v := range s.Values {
					sec, _ := v[0].(float64)
					str, _ := v[1].(string)
					f, err := strconv.ParseFloat(str, 64)
					if err != nil {
						return fmt.Errorf("%s: value %q: %w", r.name, str, err)
					}
					samples = append(samples, prompb.Sample{Timestamp: int64(sec * 1000), Value: f})
				}
				ts = append(ts, prompb.TimeSeries{Labels: ls, Samples: samples})
				total += len(samples)
			}
			for i := 0; i < len(ts); i += 5000 {
				if err := w.sendSeries(ctx, ts[i:min(i+5000, len(ts))]); err != nil {
					return fmt.Errorf("%s: %w", r.name, err)
				}
			}
		}
		fmt.Fprintf(log, "records to %s: %d samples in %s\n", end.Format(time.TimeOnly), total, time.Since(start).Round(time.Second))
	}
	return nil
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
