package grafana

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels that callers (the CLI's exit codes) match with errors.Is. An
// *APIError matches the sentinel of its status code, so the caller never
// needs to know which request failed to pick a code.
var (
	// ErrUnauthorized: Grafana rejected the token (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token is valid but lacks a permission (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the URL, folder or organisation does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: Grafana refused a create because the thing exists (409).
	ErrConflict = errors.New("conflict")
	// ErrPrecondition: Grafana refused a save (412): version-mismatch,
	// name-exists or plugin-dashboard, in APIError.Status.
	ErrPrecondition = errors.New("precondition failed")
	// ErrTooLarge: the request body exceeds the server's limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrEditedOutside: the dashboard on the server is not the one dbmonctl
	// last pushed (edited in the UI, or never pushed by dbmonctl), and the
	// push was not forced.
	ErrEditedOutside = errors.New("dashboard edited outside dbmonctl")
	// ErrProvisioned: the dashboard is provisioned from a file on the
	// Grafana server (or, on the /apis API, managed by another tool), which
	// owns it, and the push was not forced.
	ErrProvisioned = errors.New("dashboard provisioned from a file")
	// ErrSchemaV2: the classic /api cannot read or write the dashboard
	// because it is in schema v2: Grafana stores it as v2 (GET answers
	// 406), or the dashboard pushed is a v2 resource (POST answers 400).
	// Only the /apis dashboard API handles it.
	ErrSchemaV2 = errors.New("dashboard schema v2 needs the /apis dashboard API")
	// ErrAPIUnavailable: the server does not serve the API version the
	// push needs (dashboard.grafana.app/v1 or /v2 on /apis).
	ErrAPIUnavailable = errors.New("API version not served")
)

// MessageV2Format is the start of Grafana's message when it refuses (400)
// a v2 dashboard on the classic POST /api/dashboards/db.
const MessageV2Format = "dashboard appears to be in v2 format"

// MessageV2NotAcceptable is the start of Grafana's message when it refuses
// (406) to serve a dashboard stored as v2 on GET /api/dashboards/uid/:uid.
const MessageV2NotAcceptable = "dashboard api version not supported"

// messageManaged is part of Grafana's message when /apis refuses to write
// a resource another manager owns.
const messageManaged = "is managed by"

// MessageProvisioned is Grafana's message when it refuses (400) to save a
// dashboard that file provisioning owns without allowUiUpdates.
const MessageProvisioned = "Cannot save provisioned dashboard"

// Values of the "status" field of a 412 answer to a dashboard save.
const (
	StatusVersionMismatch = "version-mismatch"
	StatusNameExists      = "name-exists"
	StatusPluginDashboard = "plugin-dashboard"
)

// Kubernetes reasons of /apis errors that push tells apart.
const (
	// ReasonConflict: an update sent a stale metadata.resourceVersion.
	ReasonConflict = "Conflict"
	// ReasonAlreadyExists: a create named an object that exists.
	ReasonAlreadyExists = "AlreadyExists"
)

// APIError is a non-2xx answer from Grafana. Message and Status come from
// Grafana's JSON error body ({"message": …, "status": …}, or on /apis a
// Kubernetes Status whose "reason" becomes Status) with the token already
// redacted, since servers and proxies sometimes echo credentials.
type APIError struct {
	// Method and Path identify the request, e.g. "POST /api/dashboards/db".
	Method string
	Path   string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Status is Grafana's machine-readable status, e.g. "version-mismatch";
	// on /apis the Kubernetes reason, e.g. "Conflict" or "AlreadyExists".
	Status string
	// Message is Grafana's human-readable message, or the start of a
	// non-JSON body.
	Message string
	// RetryAfter is the parsed Retry-After header of a 429 or 503, if any.
	RetryAfter string
}

// Error formats as `POST /api/dashboards/db: 412 Precondition Failed
// (version-mismatch): The dashboard has been changed by someone else`.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Status != "" {
		s += " (" + e.Status + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the sentinel of e's status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrPrecondition:
		return e.StatusCode == http.StatusPreconditionFailed
	case ErrTooLarge:
		return e.StatusCode == http.StatusRequestEntityTooLarge
	}
	return false
}

// transient reports whether a status is worth retrying: rate limiting and
// the gateway/availability errors a restarting Grafana or its proxy gives.
// 500 is not retried: Grafana uses it for bugs and bad input that a second
// identical request would hit again.
func transientStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// redactedError carries a message with secrets removed while keeping the
// original error reachable for errors.Is (context.DeadlineExceeded and the
// like); its Error never returns the original text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
