// Package apiclient is the HTTP plumbing shared by clients of the
// multi-tenant APIs of Cortex and Grafana Mimir: the ruler's rule-group API
// (package ruler) and the Alertmanager configuration API (package
// amconfig). It owns what every request of those clients needs and what
// is easy to get subtly wrong:
//
//   - the tenant, sent as the X-Scope-OrgID header on every request;
//   - credentials: a Bearer token, or HTTP basic auth (as Grafana Cloud
//     and Grafana Enterprise Metrics expect) when a username is set;
//   - retries of transient failures (connection refused or reset, 429,
//     500, 502, 503, 504) with capped exponential backoff and equal
//     jitter, honouring a longer Retry-After, bounded by Retry.Attempts and
//     never past the context's deadline; other 4xx answers are final;
//   - errors: a non-2xx answer is an *APIError that matches a sentinel
//     (ErrUnauthorized, ErrNotFound, ErrRejected, ErrTooLarge, …) with
//     errors.Is, so callers map failures to their own codes in one switch,
//     and a request that got no answer is an *UnreachableError;
//   - secrets: the token, a password in the URL and any value the caller
//     lists in Options.Secrets are replaced by [REDACTED] in every error
//     and log record, because engines and proxies echo request content
//     (a rejected configuration, a header) in their error bodies.
//
// Requests that the engines treat as idempotent (a GET, a POST that sets a
// rule group or a configuration, a DELETE) are safe to retry after a reset
// connection: the retried request leaves the same state as a single one.
package apiclient
