package grafana

import "github.com/dbmonctl/dbmonctl/pkg/apiclient"

// Retry is the policy for transient failures (connection errors, 429, 502,
// 503, 504): the same capped exponential backoff with jitter as the engine
// API clients, bounded by Attempts and by the context's deadline. The zero
// value means DefaultRetry.
type Retry = apiclient.Retry

// DefaultRetry is the policy of a CI push: about half a minute of retries
// before giving up, less when --timeout is shorter.
func DefaultRetry() Retry { return apiclient.DefaultRetry() }
