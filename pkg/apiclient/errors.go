package apiclient

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinels matched with errors.Is. An *APIError matches the sentinel of
// its status code, so a caller picks its reaction without knowing which
// request failed.
var (
	// ErrRejected: the engine refused the request's content (400), e.g. an
	// invalid rule group, a limit exceeded, or a setting it does not allow.
	// APIError.Message holds the engine's reason.
	ErrRejected = errors.New("rejected by the server")
	// ErrUnauthorized: no or wrong credentials, or no tenant (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credentials lack a permission (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the path does not exist (404): a wrong address or path
	// prefix, an API that is not enabled, or a missing object.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: the request body exceeds the server's or a proxy's
	// limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrRateLimited: the server asked to slow down (429), still so after
	// the retries.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the server failed (5xx), still so after the retries.
	ErrUnavailable = errors.New("server unavailable")
)

// APIError is a non-2xx answer.
type APIError struct {
	// Method and Path identify the request, e.g. "POST /api/v1/rules/ns".
	Method, Path string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the server's reason: the "error" or "message" field of a
	// JSON body, or the start of a text body, with secrets redacted.
	Message string
	// RetryAfter is the parsed Retry-After header, zero when absent.
	RetryAfter time.Duration
}

// Error formats as `POST /api/v1/rules/ns: 400 Bad Request: <message>`.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the sentinel of e's status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRejected:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrTooLarge:
		return e.StatusCode == http.StatusRequestEntityTooLarge
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.StatusCode >= 500
	}
	return false
}

// UnreachableError is a request that got no HTTP answer: the connection
// was refused or reset, DNS failed, TLS failed, or the context ended.
// Message is redacted; Unwrap reaches the cause (context.DeadlineExceeded,
// *net.OpError, *tls.CertificateVerificationError, …) for errors.Is/As.
type UnreachableError struct {
	// Method and Path identify the request.
	Method, Path string
	// Message describes the failure, secrets redacted.
	Message string
	err     error
}

func (e *UnreachableError) Error() string { return e.Method + " " + e.Path + ": " + e.Message }
func (e *UnreachableError) Unwrap() error { return e.err }

// retryStatus reports whether an answer is worth another try: rate
// limiting, and the server errors of an engine or proxy that is starting,
// overloaded, or failing to reach its object store. Every other 4xx is
// final: a second identical request would get the same answer.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// GiveUpError wraps the last failure of a request that was retried.
type GiveUpError struct {
	// Attempts is how many tries were made.
	Attempts int
	// Reason says why there was no further try: the attempts ran out or
	// the deadline left no time for the next wait.
	Reason string
	// Err is the last try's error.
	Err error
}

func (e *GiveUpError) Error() string {
	return fmt.Sprintf("giving up after %d attempts (%s): %v", e.Attempts, e.Reason, e.Err)
}
func (e *GiveUpError) Unwrap() error { return e.Err }
