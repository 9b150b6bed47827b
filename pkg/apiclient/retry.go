package apiclient

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry is the policy for transient failures: capped exponential backoff
// with equal jitter, bounded by Attempts and by the context's deadline.
// Every HTTP client of dbmonctl (the engine APIs here, Grafana's) uses it.
// Zero fields take DefaultRetry's values.
type Retry struct {
	// Attempts is the maximum number of tries of one request, the first
	// included; 1 disables retries.
	Attempts int
	// Base is the wait after the first failure; it doubles with each retry.
	Base time.Duration
	// Max caps the wait between two tries.
	Max time.Duration
	// Jitter returns a number in [0, 1); nil uses math/rand/v2. Tests
	// inject it to get exact waits.
	Jitter func() float64
	// Sleep waits d or until ctx is done, returning ctx.Err() then; nil
	// uses a timer. Tests inject it so they do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry retries for about half a minute before giving up, less
// when the context's deadline is nearer.
func DefaultRetry() Retry {
	return Retry{Attempts: 8, Base: 250 * time.Millisecond, Max: 8 * time.Second}
}

// WithDefaults returns r with its zero fields taken from DefaultRetry and
// a nil Jitter or Sleep replaced by the real ones.
func (r Retry) WithDefaults() Retry {
	d := DefaultRetry()
	if r.Attempts <= 0 {
		r.Attempts = d.Attempts
	}
	if r.Base <= 0 {
		r.Base = d.Base
	}
	if r.Max <= 0 {
		r.Max = d.Max
	}
	r.Max = max(r.Max, r.Base)
	if r.Jitter == nil {
		r.Jitter = rand.Float64
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	return r
}

// Wait is the pause after failed try number attempt (1-based): the capped
// exponential step, its upper half randomised, so that many clients
// retrying at once spread out while no wait collapses to zero. A longer
// Retry-After from the server wins.
func (r Retry) Wait(attempt int, retryAfter time.Duration) time.Duration {
	step := r.Base
	for i := 1; i < attempt && step < r.Max; i++ {
		step *= 2
	}
	step = min(step, r.Max)
	d := step/2 + time.Duration(r.Jitter()*float64(step/2))
	return max(d, retryAfter)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
