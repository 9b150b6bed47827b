package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TenantHeader is the header Cortex and Mimir read the tenant from.
const TenantHeader = "X-Scope-OrgID"

// maxErrorBody bounds how much of an error answer is read; maxMessage how
// much of a text answer is quoted. A proxy's HTML page is not worth more.
const (
	maxErrorBody = 16 << 10
	maxMessage   = 300
)

// MaxBody bounds a successful answer: a tenant's rule groups or
// Alertmanager configuration are far below it.
const MaxBody = 64 << 20

// Options configure a Client.
type Options struct {
	// Address is the server's base URL, with any sub-path it is served
	// under (https://example.com/cortex).
	Address string
	// Tenant is sent as X-Scope-OrgID; empty sends no header (a server
	// with multi-tenancy disabled). It must be a valid Cortex/Mimir tenant
	// ID: at most 150 of a-z A-Z 0-9 ! - _ . * ' ( ), not "." or "..".
	Tenant string
	// Token is sent as a Bearer credential, or as the basic-auth password
	// when Username is set. It is never logged and is redacted from every
	// error.
	Token string
	// Username switches to HTTP basic auth with Token as the password.
	Username string
	// Secrets are further values to redact from errors and logs, e.g. the
	// secret values inside a configuration being uploaded.
	Secrets []string
	// HTTPClient carries TLS settings and the transport; nil uses a clone
	// of http.DefaultTransport. Its Timeout should be zero: the context
	// bounds each operation, retries included.
	HTTPClient *http.Client
	// Retry is the policy for transient failures.
	Retry Retry
	// Logger receives one debug record per try (method, path, status,
	// attempt, duration; never headers or bodies); nil discards.
	Logger *slog.Logger
	// UserAgent names the caller, e.g. "mytool/1.2.0".
	UserAgent string
}

// Client sends requests to one server for one tenant. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	tenant    string
	token     string
	username  string
	http      *http.Client
	retry     Retry
	log       *slog.Logger
	userAgent string
	secrets   []string
}

// New checks o and returns a client. It does not contact the server.
func New(o Options) (*Client, error) {
	if o.Address == "" {
		return nil, errors.New("address is empty")
	}
	u, err := url.Parse(o.Address)
	if err != nil {
		// url.Parse quotes its input, which may hold a password.
		return nil, errors.New("address does not parse as a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("address %s: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("address %s: no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("address %s: must not have a query or fragment", u.Redacted())
	}
	if err := ValidateTenant(o.Tenant); o.Tenant != "" && err != nil {
		return nil, err
	}
	if strings.ContainsAny(o.Token, "\r\n") || strings.ContainsAny(o.Username, "\r\n:") {
		return nil, errors.New("token or username contains a line break (or the username a colon)")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:      u,
		tenant:    o.Tenant,
		token:     o.Token,
		username:  o.Username,
		http:      o.HTTPClient,
		retry:     o.Retry.WithDefaults(),
		log:       o.Logger,
		userAgent: o.UserAgent,
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range append([]string{o.Token}, o.Secrets...) {
		c.addSecret(s)
	}
	if p, ok := u.User.Password(); ok {
		c.addSecret(p)
	}
	return c, nil
}

func (c *Client) addSecret(s string) {
	// Very short values would redact innocent text and hide the message.
	if len(s) >= 4 {
		c.secrets = append(c.secrets, s)
	}
}

// ValidateTenant checks a tenant ID the way Cortex and Mimir do, so a bad
// one fails before any request.
func ValidateTenant(id string) error {
	switch {
	case id == "":
		return errors.New("tenant ID is empty")
	case len(id) > 150:
		return fmt.Errorf("tenant ID is %d characters long, the limit is 150", len(id))
	case id == "." || id == "..":
		return fmt.Errorf("tenant ID %q is not allowed", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!-_.*'()", r)) {
			return fmt.Errorf("tenant ID %q: character %q is not allowed (only a-z A-Z 0-9 ! - _ . * ' ( ))", id, r)
		}
	}
	return nil
}

// URL returns the base URL with any password masked, for messages.
func (c *Client) URL() string { return c.base.Redacted() }

// Tenant returns the tenant the client sends.
func (c *Client) Tenant() string { return c.tenant }

// Redact replaces every secret the client knows in s with [REDACTED].
func (c *Client) Redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// Request is one API call.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the escaped path below the base URL, e.g.
	// "/api/v1/rules/my%2Fnamespace".
	Path string
	// Body is sent as is; nil sends none.
	Body []byte
	// ContentType is the body's media type.
	ContentType string
	// Accept is the wanted media type of the answer.
	Accept string
}

// Do sends r, retrying transient failures, and returns the body of a 2xx
// answer. Every error it returns is redacted: an *APIError for a non-2xx
// answer, an *UnreachableError when no answer came, either wrapped in a
// *GiveUpError after retries.
func (c *Client) Do(ctx context.Context, r Request) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, retryAfter, err := c.once(ctx, r, attempt)
		if err == nil {
			return body, nil
		}
		if !c.retryable(ctx, err) {
			if attempt > 1 {
				return nil, &GiveUpError{Attempts: attempt, Reason: "the last failure is final", Err: err}
			}
			return nil, err
		}
		if attempt >= c.retry.Attempts {
			return nil, &GiveUpError{Attempts: attempt, Reason: "no attempts left", Err: err}
		}
		wait := c.retry.Wait(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, &GiveUpError{Attempts: attempt, Reason: fmt.Sprintf("the deadline leaves no time for a retry in %s", wait.Round(time.Millisecond)), Err: err}
		}
		c.log.Debug("request will be retried", "method", r.Method, "path", r.Path, "attempt", attempt, "wait", wait, "err", err.Error())
		if serr := c.retry.Sleep(ctx, wait); serr != nil {
			return nil, &GiveUpError{Attempts: attempt, Reason: serr.Error(), Err: err}
		}
	}
}

// retryable reports whether err, from one try, is worth another: a status
// retryStatus lists, or no answer at all while the context is live. A
// certificate the client does not trust stays untrusted.
func (c *Client) retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryStatus(ae.StatusCode)
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		return false
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var rh tls.RecordHeaderError
	return !errors.As(err, &cv) && !errors.As(err, &ua) && !errors.As(err, &he) && !errors.As(err, &rh)
}

// once sends one try; it returns the Retry-After the server asked for.
func (c *Client) once(ctx context.Context, r Request, attempt int) ([]byte, time.Duration, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	u := *c.base
	u.User = nil // credentials go in the header
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String()+r.Path, body)
	if err != nil {
		return nil, 0, &UnreachableError{Method: r.Method, Path: r.Path, Message: c.Redact(err.Error()), err: err}
	}
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.tenant != "" {
		req.Header.Set(TenantHeader, c.tenant)
	}
	switch {
	case c.username != "":
		req.SetBasicAuth(c.username, c.token)
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		msg := c.Redact(unwrapURLError(err).Error())
		c.log.Debug("request failed", "method", r.Method, "path", r.Path, "attempt", attempt, "duration", time.Since(start).Round(time.Millisecond), "err", msg)
		if ctx.Err() != nil {
			return nil, 0, &UnreachableError{Method: r.Method, Path: r.Path, Message: msg, err: ctx.Err()}
		}
		return nil, 0, &UnreachableError{Method: r.Method, Path: r.Path, Message: msg, err: err}
	}
	defer resp.Body.Close()
	c.log.Debug("request", "method", r.Method, "path", r.Path, "status", resp.StatusCode, "attempt", attempt, "duration", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		ra := parseRetryAfter(resp.Header.Get("Retry-After"))
		return nil, ra, &APIError{
			Method:     r.Method,
			Path:       r.Path,
			StatusCode: resp.StatusCode,
			Message:    c.Redact(errorMessage(raw)),
			RetryAfter: ra,
		}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		msg := c.Redact("read answer: " + err.Error())
		if ctx.Err() != nil {
			return nil, 0, &UnreachableError{Method: r.Method, Path: r.Path, Message: msg, err: ctx.Err()}
		}
		return nil, 0, &UnreachableError{Method: r.Method, Path: r.Path, Message: msg, err: err}
	}
	if len(raw) > MaxBody {
		return nil, 0, fmt.Errorf("%s %s: answer larger than %d bytes", r.Method, r.Path, MaxBody)
	}
	return raw, 0, nil
}

// unwrapURLError drops *url.Error's "Get "http://…": " prefix, which
// repeats the method and path the caller already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage extracts the reason from an error body: Prometheus-style
// JSON ({"status":"error","error":…}), {"message":…}, or text, of which a
// single trimmed line is kept.
func errorMessage(raw []byte) string {
	var j struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &j) == nil {
		if j.Error != "" {
			return clip(j.Error)
		}
		if j.Message != "" {
			return clip(j.Message)
		}
	}
	return clip(string(raw))
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage]) + "…"
	}
	return s
}

// parseRetryAfter reads the delay-seconds form of Retry-After, capped at
// a minute so that a confused proxy cannot stall a run; the HTTP-date form
// is ignored.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}
