package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/specs"
)

// series is one synthetic series: its labels and how its value moves.
// A counter grows at rate per second, times factor after step (a traffic
// change); a gauge holds level, plus or minus wobble over ten minutes.
type series struct {
	labels  []prompb.Label
	counter bool
	rate    float64
	factor  float64
	step    float64 // seconds after origin
	level   float64
	wobble  float64
	phase   float64
}

func (s *series) value(t float64) float64 {
	if !s.counter {
		return s.level + s.wobble*math.Sin(t/600+s.phase)
	}
	if t <= s.step {
		return s.level + s.rate*t
	}
	return s.level + s.rate*s.step + s.rate*s.factor*(t-s.step)
}

// profile is how a service behaves: its traffic, its latency, its errors.
type profile struct {
	qps     float64 // statements per second per instance
	median  float64 // median statement latency, seconds
	errs    float64 // share of failing statements
	inUse   float64 // share of the pool in use
	waitSec float64 // seconds waited for a connection per second
	factor  float64 // traffic change after the step
}

// profileOf gives most services a healthy profile and a few of them the
// troubles the alerts look for, so that every alert has work to do.
func profileOf(svc int) profile {
	p := profile{qps: 5 + float64(svc%20), median: 0.004, errs: 0.005, inUse: 0.3, waitSec: 0.001, factor: 1}
	switch svc % 50 {
	case 7:
		p.median = 0.3 // slow: latency and slow-rate alerts
	case 13:
		p.errs = 0.1 // failing
	case 21:
		p.inUse = 0.95 // pool saturated
		p.waitSec = 2
	case 33:
		p.factor = 4 // traffic spike
	case 41:
		p.factor = 0.1 // traffic drop
	}
	return p
}

// below is the share of statements at or below le seconds, for a
// log-logistic latency distribution of the given median.
func below(le, median float64) float64 {
	if math.IsInf(le, 1) {
		return 1
	}
	return 1 / (1 + math.Pow(median/le, 2))
}

// fleetSeries are the series of n services × instances processes with one
// *sql.DB each, per the middleware's metric contract: every query type and
// transaction outcome, whether or not it occurred, as a scrape would see.
// step is when the traffic of the spiking and dropping services changes.
func fleetSeries(n, instances int, buckets []float64, step float64) []series {
	var out []series
	les := append(append([]float64(nil), buckets...), math.Inf(1))
	for svc := 0; svc < n; svc++ {
		p := profileOf(svc)
		for inst := 0; inst < instances; inst++ {
			base := []prompb.Label{
				{Name: "job", Value: serviceName(svc)},
				{Name: "instance", Value: fmt.Sprintf("%s-%d:8080", serviceName(svc), inst)},
			}
			add := func(name string, counter bool, rate, level float64, extra ...prompb.Label) {
				ls := append(append([]prompb.Label{{Name: "__name__", Value: name}}, base...), extra...)
				sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
				s := series{labels: ls, counter: counter, rate: rate, factor: 1, step: step, level: level}
				if counter {
					s.factor = p.factor
				} else {
					s.wobble = level * 0.05
					s.phase = float64(svc*instances + inst)
				}
				out = append(out, s)
			}
			for _, m := range middleware.Contract() {
				for _, ls := range labelSets(m.Labels) {
					qps, median := p.qps/float64(len(middleware.QueryTypes)), p.median
					if m.Name == middleware.MetricTxDuration {
						qps, median = qps/float64(len(middleware.TxOutcomes)), median*5
					}
					switch m.Name {
					case middleware.MetricQueriesTotal:
						add(m.Name, true, qps, 0, ls...)
					case middleware.MetricSlowQueriesTotal:
						add(m.Name, true, qps*(1-below(middleware.DefaultSlowThreshold.Seconds(), median)), 0, ls...)
					case middleware.MetricQueryErrorsTotal:
						add(m.Name, true, qps*p.errs, 0, ls...)
					case middleware.MetricQueryDuration, middleware.MetricTxDuration:
						for _, le := range les {
							add(m.Name+"_bucket", true, qps*below(le, median), 0,
								append(ls, prompb.Label{Name: middleware.LabelLE, Value: strconv.FormatFloat(le, 'g', -1, 64)})...)
						}
						add(m.Name+"_sum", true, qps*median*1.3, 0, ls...)
						add(m.Name+"_count", true, qps, 0, ls...)
					case middleware.MetricPoolMaxOpen:
						add(m.Name, false, 0, 100, ls...)
					case middleware.MetricPoolOpen:
						add(m.Name, false, 0, 100*p.inUse+5, ls...)
					case middleware.MetricPoolInUse:
						add(m.Name, false, 0, 100*p.inUse, ls...)
					case middleware.MetricPoolIdle:
						add(m.Name, false, 0, 5, ls...)
					case middleware.MetricPoolWaitCount:
						add(m.Name, true, p.waitSec*10, 0, ls...)
					case middleware.MetricPoolWaitDuration:
						add(m.Name, true, p.waitSec, 0, ls...)
					default: // the pool's closed-connection counters
						add(m.Name, true, 0.01, 0, ls...)
					}
				}
			}
		}
	}
	return out
}

// labelSets are the label sets of one metric of the contract for one
// instance with one *sql.DB: the product of each label's values.
func labelSets(names []string) [][]prompb.Label {
	sets := [][]prompb.Label{nil}
	for _, n := range names {
		var values []string
		switch n {
		case middleware.LabelQueryType:
			for _, q := range middleware.QueryTypes {
				values = append(values, string(q))
			}
		case middleware.LabelOutcome:
			for _, o := range middleware.TxOutcomes {
				values = append(values, string(o))
			}
		default: // db_name: one *sql.DB
			values = []string{"main"}
		}
		var next [][]prompb.Label
		for _, s := range sets {
			for _, v := range values {
				next = append(next, append(append([]prompb.Label(nil), s...), prompb.Label{Name: n, Value: v}))
			}
		}
		sets = next
	}
	return sets
}

type writeOptions struct {
	services, instances int
	url                 string
	history, interval   time.Duration
	ready               string
	log                 io.Writer
}

// writeSeries remote-writes the fleet's series: history (scrape by scrape,
// in time order, so that the head accepts every sample) up to now, then
// one scrape every interval, live, until ctx ends. Prometheus' rule
// manager evaluates at the wall clock, so live data is what it reads.
func writeSeries(ctx context.Context, o writeOptions) error {
	c := specs.Default()
	if o.interval == 0 {
		o.interval = c.Prometheus.ScrapeInterval.Std()
	}
	now := time.Now().Truncate(o.interval)
	origin := now.Add(-o.history)
	// The spiking and dropping services change their traffic 15 minutes
	// before the history ends.
	step := (o.history - 15*time.Minute).Seconds()
	ss := fleetSeries(o.services, o.instances, c.Thresholds.Buckets, step)
	want := 0
	for _, n := range specs.SeriesPerInstance(len(c.Thresholds.Buckets)) {
		want += n
	}
	want *= o.services * o.instances
	if len(ss) != want {
		return fmt.Errorf("synthesised %d series, but the contract projects %d", len(ss), want)
	}
	fmt.Fprintf(o.log, "%d series (%d services × %d instances × %d), history %s at %s from %s\n",
		len(ss), o.services, o.instances, len(ss)/(o.services*o.instances), o.history, o.interval, origin.Format(time.RFC3339))
	w := &writer{url: o.url, client: &http.Client{Timeout: time.Minute}}

	// History: ten minutes of samples per series and request.
	chunk := int(10 * time.Minute / o.interval)
	start := time.Now()
	samples := 0
	for t := origin; t.Before(now); t = t.Add(time.Duration(chunk) * o.interval) {
		var ts []time.Time
		for i := 0; i < chunk && t.Add(time.Duration(i)*o.interval).Before(now); i++ {
			ts = append(ts, t.Add(time.Duration(i)*o.interval))
		}
		if err := w.write(ctx, ss, origin, ts); err != nil {
			return err
		}
		samples += len(ss) * len(ts)
		fmt.Fprintf(o.log, "history to %s: %d samples in %s\n", ts[len(ts)-1].Format(time.TimeOnly), samples, time.Since(start).Round(time.Second))
	}
	if o.ready != "" {
		if err := os.WriteFile(o.ready, []byte(now.Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return err
		}
	}
	// Live: one scrape per interval.
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for t := now; ; {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := w.write(ctx, ss, origin, []time.Time{t}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		t = t.Add(o.interval)
		for time.Until(t) < -o.interval { // fell behind: skip, never write out of order
			t = t.Add(o.interval)
		}
	}
}

// writer sends remote-write requests, two at a time.
type writer struct {
	url    string
	client *http.Client
}

// write sends the samples of every series at each of ts, in requests of
// about 100,000 samples.
func (w *writer) write(ctx context.Context, ss []series, origin time.Time, ts []time.Time) error {
	per := max(1, 100000/len(ts))
	type batch struct{ from, to int }
	batches := make(chan batch)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := w.send(ctx, ss[b.from:b.to], origin, ts); err != nil {
					errc <- err
					for range batches {
					}
					return
				}
			}
		}()
	}
	for from := 0; from < len(ss); from += per {
		batches <- batch{from, min(from+per, len(ss))}
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (w *writer) send(ctx context.Context, ss []series, origin time.Time, ts []time.Time) error {
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(ss))}
	for i := range ss {
		s := &ss[i]
		samples := make([]prompb.Sample, len(ts))
		for j, t := range ts {
			samples[j] = prompb.Sample{Timestamp: t.UnixMilli(), Value: s.value(t.Sub(origin).Seconds())}
		}
		req.Timeseries[i] = prompb.TimeSeries{Labels: s.labels, Samples: samples}
	}
	return w.sendSeries(ctx, req.Timeseries)
}

// sendSeries sends one remote-write request.
func (w *writer) sendSeries(ctx context.Context, ts []prompb.TimeSeries) error {
	req := prompb.WriteRequest{Timeseries: ts}
	data, err := req.Marshal()
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(snappy.Encode(nil, data)))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Encoding", "snappy")
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := w.client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("remote write: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}
