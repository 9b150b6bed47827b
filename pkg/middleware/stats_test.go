package middleware

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBucketsCoverEveryDuration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 40, math.MaxInt64}
	for range 10000 {
		values = append(values, rng.Uint64N(math.MaxInt64)>>rng.UintN(63))
	}
	for _, v := range values {
		b := bucketOf(v)
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, b, histBuckets)
		}
		lower, width := bucketBounds(b)
		if v < lower || v-lower >= width {
			t.Fatalf("%d is in bucket %d = [%d, %d+%d)", v, b, lower, lower, width)
		}
		if width > 1 && width*subBuckets > lower {
			t.Fatalf("bucket %d = [%d, +%d) is wider than 1/%d of its lower bound", b, lower, width, subBuckets)
		}
	}
}

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestPercentilesAreWithinOneBucketOfExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	distributions := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform between 1 and 5 ms", func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(4*time.Millisecond))) }},
		{"log-normal around 2 ms", func() time.Duration { return time.Duration(2e6 * math.Exp(rng.NormFloat64())) }},
		{"mostly fast with a slow tail", func() time.Duration {
			if rng.IntN(100) < 3 {
				return 800*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second)))
			}
			return 200*time.Microsecond + time.Duration(rng.Int64N(int64(time.Millisecond)))
		}},
		{"a single value", func() time.Duration { return 1234567 }},
		{"tiny durations", func() time.Duration { return time.Duration(rng.Int64N(100)) }},
	}
	for _, dist := range distributions {
		t.Run(dist.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 7, 100, 5000} {
				var d durations
				d.init()
				values := make([]time.Duration, n)
				var sum time.Duration
				for i := range values {
					values[i] = dist.gen()
					sum += values[i]
					d.observe(values[i])
				}
				slices.Sort(values)
				h := newHistSnapshot()
				h.add(&d)
				h.sum = int64(sum) // kept by the exported series, not by durations
				got := h.stats()
				if got.Count != uint64(n) || got.Sum != sum || got.Min != values[0] || got.Max != values[n-1] || got.Mean != sum/time.Duration(n) {
					t.Errorf("n=%d: count %d sum %v min %v max %v mean %v; want %d %v %v %v %v",
						n, got.Count, got.Sum, got.Min, got.Max, got.Mean, n, sum, values[0], values[n-1], sum/time.Duration(n))
				}
				for _, p := range []struct {
					q   float64
					got time.Duration
				}{{0.50, got.P50}, {0.95, got.P95}, {0.99, got.P99}} {
					exact := exactPercentile(values, p.q)
					tolerance := max(exact/subBuckets, 1)
					if diff := (p.got - exact).Abs(); diff > tolerance {
						t.Errorf("n=%d: p%v = %v, exact %v: off by %v > %v", n, p.q*100, p.got, exact, diff, tolerance)
					}
					if p.got < got.Min || p.got > got.Max {
						t.Errorf("n=%d: p%v = %v outside [%v, %v]", n, p.q*100, p.got, got.Min, got.Max)
					}
				}
			}
		})
	}
}

func TestStatsOfNothingAreZero(t *testing.T) {
	s := newTestMiddleware(t).Stats()
	if s.Total != 0 || s.Duration != (DurationStats{}) || s.Tx.Duration != (DurationStats{}) {
		t.Errorf("empty stats: %+v", s)
	}
	if len(s.ByType) != len(QueryTypes) {
		t.Fatalf("ByType has %d entries, want %d", len(s.ByType), len(QueryTypes))
	}
	for i, ts := range s.ByType {
		if ts.Type != QueryTypes[i] {
			t.Errorf("ByType[%d] is %s, want %s", i, ts.Type, QueryTypes[i])
		}
	}
	if got := s.Type("MERGE"); got.Type != "MERGE" || got.Total != 0 {
		t.Errorf("Type of an unknown type = %+v", got)
	}
}

func TestWriteTextIsStable(t *testing.T) {
	m := newTestMiddleware(t)
	m.record(t.Context(), m.unnamed.plain, kindSelect, 2*time.Millisecond, nil, "SELECT 1")
	m.record(t.Context(), m.unnamed.plain, kindSelect, 150*time.Millisecond, nil, "SELECT 2")
	m.record(t.Context(), m.unnamed.plain, kindInsert, time.Millisecond, errFake, "INSERT")
	m.recordTx(m.unnamed, txCommit, 3*time.Millisecond)
	var b bytes.Buffer
	if err := m.Stats().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// p50 of ALL is the middle of three values, interpolated in its bucket.
	want := `    type  total  slow  errors  min   avg      p50    p95    p99    max
  SELECT      2     1       0  2ms  76ms      2ms  150ms  150ms  150ms
  INSERT      1     0       1  1ms   1ms      1ms    1ms    1ms    1ms
  UPDATE      0     0       0   0s    0s       0s     0s     0s     0s
  DELETE      0     0       0   0s    0s       0s     0s     0s     0s
   OTHER      0     0       0   0s    0s       0s     0s     0s     0s
     ALL      3     1       1  1ms  51ms  2.015ms  150ms  150ms  150ms
      TX      1     0       0  3ms   3ms      3ms    3ms    3ms    3ms
`
	if b.String() != want {
		t.Errorf("WriteText:\n%q\nwant:\n%q", b.String(), want)
	}
}
