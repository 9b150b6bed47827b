package middleware

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Stats is a snapshot of what the middleware recorded since New, for
// applications that want figures without a Prometheus server (a summary at
// shutdown, a debug endpoint, a test). Every query counts, whether it
// succeeded or not; Uninstall pauses recording, it does not reset.
type Stats struct {
	// Total is the number of statements executed.
	Total uint64
	// Slow is the number of statements that took at least the slow threshold.
	Slow uint64
	// Errors is the number of statements that returned an error.
	Errors uint64
	// Duration summarises the durations of all statements.
	Duration DurationStats
	// ByType has one entry per query type, in the order of QueryTypes,
	// including types that saw no statement.
	ByType []TypeStats
	// Tx summarises transactions (Begin to Commit or Rollback).
	Tx TxStats
}

// TypeStats is the share of a Stats snapshot for one query type.
type TypeStats struct {
	// Type is the query type these figures are for.
	Type QueryType
	// Total, Slow and Errors count statements of this type as in Stats.
	Total, Slow, Errors uint64
	// Duration summarises the durations of this type's statements.
	Duration DurationStats
}

// TxStats summarises transactions.
type TxStats struct {
	// Commits, Rollbacks and Errors count transactions by outcome; Errors
	// are those whose Commit or Rollback itself failed.
	Commits, Rollbacks, Errors uint64
	// Duration summarises transaction durations, Begin to Commit or Rollback.
	Duration DurationStats
}

// DurationStats summarises a set of durations. Count, Sum, Min and Max are
// exact. The percentiles come from a log-linear histogram with 32
// sub-buckets per power of two, so memory is fixed (about 15 KiB per query
// type) whatever the traffic or the number of distinct SQL texts; each
// percentile lies in the same bucket as the exact nearest-rank percentile,
// hence within 1/32 (3.2 %) of it, and always within [Min, Max]. All fields
// are zero when Count is zero.
type DurationStats struct {
	Count uint64
	Sum   time.Duration
	Min   time.Duration
	Max   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
}

// Type returns the figures of query type t, or zero figures for a value
// that is not one of QueryTypes.
func (s Stats) Type(t QueryType) TypeStats {
	for _, ts := range s.ByType {
		if ts.Type == t {
			return ts
		}
	}
	return TypeStats{Type: t}
}

// WriteText writes s as an aligned plain-text table, one row per query type,
// a total and a transaction row, for logs and terminals; durations are
// rounded to the microsecond. The layout is stable.
func (s Stats) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Microseconds are plenty for database latencies and keep columns narrow.
	us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	row := func(name string, total, slow, errs uint64, d DurationStats) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			name, total, slow, errs, us(d.Min), us(d.Mean), us(d.P50), us(d.P95), us(d.P99), us(d.Max))
	}
	fmt.Fprintf(tw, "type\ttotal\tslow\terrors\tmin\tavg\tp50\tp95\tp99\tmax\t\n")
	for _, ts := range s.ByType {
		row(string(ts.Type), ts.Total, ts.Slow, ts.Errors, ts.Duration)
	}
	row("ALL", s.Total, s.Slow, s.Errors, s.Duration)
	row("TX", s.Tx.Commits+s.Tx.Rollbacks+s.Tx.Errors, 0, s.Tx.Errors, s.Tx.Duration)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	return nil
}

// The histogram layout: values below 2^subBits nanoseconds have a bucket
// each; above, every power of two is split into 2^subBits equal buckets.
const (
	subBits    = 5
	subBuckets = 1 << subBits
	// histBuckets covers every non-negative int64.
	histBuckets = (64 - subBits) * subBuckets
)

// bucketOf returns the histogram bucket of a duration in nanoseconds.
func bucketOf(ns uint64) int {
	if ns < subBuckets {
		return int(ns)
	}
	shift := bits.Len64(ns) - subBits - 1
	return (shift+1)*subBuckets + int(ns>>uint(shift)) - subBuckets
}

// bucketBounds returns the smallest value of bucket b and its width.
func bucketBounds(b int) (lower, width uint64) {
	if b < subBuckets {
		return uint64(b), 1
	}
	shift := b/subBuckets - 1
	mant := uint64(b%subBuckets + subBuckets)
	return mant << uint(shift), 1 << uint(shift)
}

// durations accumulates durations without locks; each field is updated
// atomically and a snapshot reads them one by one, so a snapshot taken
// during traffic may be a few statements apart between fields. The sum is
// not here: the exported series keep it (see Middleware.Stats), so that a
// statement adds to one sum, not two.
type durations struct {
	min    atomic.Int64 // math.MaxInt64 until the first observation
	max    atomic.Int64
	counts [histBuckets]atomic.Uint64
}

func (d *durations) init() {
	d.min.Store(math.MaxInt64)
}

func (d *durations) observe(v time.Duration) {
	if v < 0 {
		v = 0 // a clock step backwards is not a negative duration
	}
	// The bucket count is written last and read first (see add): a snapshot
	// that counts this value also sees its min and max.
	for cur := d.min.Load(); int64(v) < cur && !d.min.CompareAndSwap(cur, int64(v)); cur = d.min.Load() {
	}
	for cur := d.max.Load(); int64(v) > cur && !d.max.CompareAndSwap(cur, int64(v)); cur = d.max.Load() {
	}
	d.counts[bucketOf(uint64(v))].Add(1)
}

// histSnapshot is a point-in-time copy of one or more merged durations,
// with the sum of the values the caller adds.
type histSnapshot struct {
	counts   [histBuckets]uint64
	sum      int64
	min, max int64
}

func newHistSnapshot() *histSnapshot {
	return &histSnapshot{min: math.MaxInt64}
}

func (h *histSnapshot) add(d *durations) {
	for i := range d.counts {
		h.counts[i] += d.counts[i].Load()
	}
	h.min = min(h.min, d.min.Load())
	h.max = max(h.max, d.max.Load())
}

// merge adds another snapshot to h.
func (h *histSnapshot) merge(o *histSnapshot) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// stats turns the snapshot into DurationStats.
func (h *histSnapshot) stats() DurationStats {
	var n uint64
	for _, c := range h.counts {
		n += c
	}
	if n == 0 {
		return DurationStats{}
	}
	// min and max are read after the buckets and written before them, so
	// they include every counted observation; the guard is belt and braces.
	lo, hi := time.Duration(h.min), time.Duration(h.max)
	if lo > hi {
		lo = hi
	}
	return DurationStats{
		Count: n,
		Sum:   time.Duration(h.sum),
		Min:   lo,
		Max:   hi,
		Mean:  time.Duration(h.sum / int64(n)),
		P50:   h.quantile(0.50, n, lo, hi),
		P95:   h.quantile(0.95, n, lo, hi),
		P99:   h.quantile(0.99, n, lo, hi),
	}
}

// quantile returns the q-quantile by nearest rank: it finds the bucket that
// holds the rank-th smallest value and interpolates linearly inside it, as
// if the bucket's values were spread evenly, then clamps to [lo, hi]. The
// first and last ranks are the exact minimum and maximum.
func (h *histSnapshot) quantile(q float64, n uint64, lo, hi time.Duration) time.Duration {
	rank := uint64(math.Ceil(q * float64(n)))
	switch {
	case rank <= 1:
		return lo // the smallest value is known exactly
	case rank >= n:
		return hi // so is the largest
	}
	var seen uint64
	for b, c := range h.counts {
		if c == 0 {
			continue
		}
		if seen+c >= rank {
			lower, width := bucketBounds(b)
			// the k-th of c values sits at the middle of the k-th of c equal slices
			pos := (float64(rank-seen) - 0.5) / float64(c)
			v := time.Duration(float64(lower) + pos*float64(width))
			return min(max(v, lo), hi)
		}
		seen += c
	}
	return hi
}
