package grafana

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry is the policy for transient failures (connection errors, 429, 502,
// 503, 504): capped exponential backoff with jitter, bounded by Attempts and
// by the context's deadline. The zero value means DefaultRetry.
type Retry struct {
	// Attempts is the maximum number of tries of one request, first
	// included; 1 disables retries.
	Attempts int
	// Base is the wait after the first failure; it doubles each retry.
	Base time.Duration
	// Max caps the wait between two tries.
	Max time.Duration
	// Jitter returns a number in [0, 1); nil uses math/rand/v2. Injected
	// so tests get exact waits.
	Jitter func() float64
	// Sleep waits d or until ctx is done; nil uses a timer. Injected so
	// tests do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry is the policy of a CI push: about half a minute of retries
// before giving up, less when --timeout is shorter.
func DefaultRetry() Retry {
	return Retry{Attempts: 8, Base: 250 * time.Millisecond, Max: 8 * time.Second}
}

// withDefaults fills unset fields from DefaultRetry.
func (r Retry) withDefaults() Retry {
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
	if r.Max < r.Base {
		r.Max = r.Base
	}
	if r.Jitter == nil {
		r.Jitter = rand.Float64
	}
	if r.Sleep == nil {
		r.Sleep = sleepCtx
	}
	return r
}

// delay is the wait after the failed try number attempt (1-based): the
// capped exponential step, of which the upper half is randomised ("equal
// jitter"), so that many CI jobs retrying at once spread out but no wait
// collapses to zero. A server's Retry-After wins when it is longer.
func (r Retry) delay(attempt int, retryAfter time.Duration) time.Duration {
	step := r.Base
	for i := 1; i < attempt && step < r.Max; i++ {
		step *= 2
	}
	step = min(step, r.Max)
	d := step/2 + time.Duration(r.Jitter()*float64(step/2))
	return max(d, retryAfter)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
