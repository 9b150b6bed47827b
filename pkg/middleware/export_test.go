package middleware

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestExportedHistogramHasLessOrEqualBucketsAndExactSums(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil), WithBuckets([]float64{0.05, 0.1, 2.5}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []time.Duration{
		time.Millisecond,       // le 0.05
		50 * time.Millisecond,  // le 0.05: a bound is "less than or equal"
		100 * time.Millisecond, // le 0.1, and slow: the threshold is "at or above"
		2 * time.Second,        // le 2.5
		20 * time.Second,       // above every bound
	} {
		m.record(ctx, m.unnamed.plain, kindSelect, d, nil, "SELECT 1")
	}
	m.record(ctx, m.unnamed.plain, kindDelete, 3*time.Millisecond, errors.New("boom"), "DELETE")

	h := series(t, reg, MetricQueryDuration, LabelQueryType, string(QuerySelect)).GetHistogram()
	want := map[float64]uint64{0.05: 2, 0.1: 3, 2.5: 4}
	for _, b := range h.GetBucket() {
		if got := b.GetCumulativeCount(); got != want[b.GetUpperBound()] {
			t.Errorf("bucket le=%v = %d, want %d", b.GetUpperBound(), got, want[b.GetUpperBound()])
		}
	}
	if len(h.GetBucket()) != len(want) {
		t.Errorf("%d buckets, want %d", len(h.GetBucket()), len(want))
	}
	if h.GetSampleCount() != 5 || math.Abs(h.GetSampleSum()-22.151) > 1e-9 {
		t.Errorf("count %d sum %v, want 5 and 22.151", h.GetSampleCount(), h.GetSampleSum())
	}
	checks := []struct {
		name string
		qt   QueryType
		want float64
	}{
		{MetricQueriesTotal, QuerySelect, 5},
		{MetricSlowQueriesTotal, QuerySelect, 3},
		{MetricQueryErrorsTotal, QuerySelect, 0},
		{MetricQueriesTotal, QueryDelete, 1},
		{MetricQueryErrorsTotal, QueryDelete, 1},
		{MetricSlowQueriesTotal, QueryDelete, 0},
		{MetricQueriesTotal, QueryInsert, 0},
	}
	for _, c := range checks {
		if got := series(t, reg, c.name, LabelQueryType, string(c.qt)).GetCounter().GetValue(); got != c.want {
			t.Errorf("%s{query_type=%q} = %v, want %v", c.name, c.qt, got, c.want)
		}
	}
	// Like client_golang's own series, they carry their creation time.
	for _, name := range []string{MetricQueriesTotal, MetricSlowQueriesTotal, MetricQueryErrorsTotal} {
		if ct := series(t, reg, name, LabelQueryType, string(QuerySelect)).GetCounter().GetCreatedTimestamp(); ct == nil || ct.AsTime().After(time.Now()) {
			t.Errorf("%s: created timestamp %v, want the middleware's creation time", name, ct)
		}
	}
	if ct := h.GetCreatedTimestamp(); ct == nil || ct.AsTime().IsZero() {
		t.Errorf("%s: no created timestamp", MetricQueryDuration)
	}
	if s := m.Stats(); s.Total != 6 || s.Slow != 3 || s.Errors != 1 {
		t.Errorf("Stats total/slow/errors = %d/%d/%d, want 6/3/1", s.Total, s.Slow, s.Errors)
	}
}

// TestScrapesDuringTrafficAreConsistent scrapes while statements are being
// recorded: each scrape must pass the registry's own checks, show as many
// queries as histogram observations, and never more slow or failed
// statements than statements, nor fewer than the previous scrape.
func TestScrapesDuringTrafficAreConsistent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(WithRegisterer(reg), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fail error
			if w%2 == 1 {
				fail = errors.New("boom")
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m.record(context.Background(), m.unnamed.plain, kindUpdate, time.Duration(i%300)*time.Millisecond, fail, "UPDATE")
			}
		}()
	}
	var lastTotal float64
	for range 200 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, s := range mf.GetMetric() {
				if len(s.GetLabel()) == 0 || s.GetLabel()[0].GetValue() != string(QueryUpdate) {
					continue
				}
				if h := s.GetHistogram(); h != nil {
					got[mf.GetName()] = float64(h.GetSampleCount())
				} else {
					got[mf.GetName()] = s.GetCounter().GetValue()
				}
			}
		}
		q, n := got[MetricQueriesTotal], got[MetricQueryDuration]
		if q != n {
			t.Fatalf("one scrape: %s = %v but the histogram counts %v", MetricQueriesTotal, q, n)
		}
		if got[MetricSlowQueriesTotal] > q || got[MetricQueryErrorsTotal] > q {
			t.Fatalf("one scrape: %v slow and %v failed of %v statements", got[MetricSlowQueriesTotal], got[MetricQueryErrorsTotal], q)
		}
		if q < lastTotal {
			t.Fatalf("%s went down from %v to %v", MetricQueriesTotal, lastTotal, q)
		}
		lastTotal = q
	}
	close(stop)
	wg.Wait()
	if lastTotal == 0 {
		t.Fatal("no statement was recorded during the scrapes")
	}
}
