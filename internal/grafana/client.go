package grafana

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

// maxErrorBody bounds how much of an error body is read and quoted: a
// proxy's HTML error page is not worth more.
const maxErrorBody = 4 << 10

// maxBody bounds a successful answer; a dashboard with its meta is far below.
const maxBody = 32 << 20

// Options configure a Client.
type Options struct {
	// URL is Grafana's base URL, with any sub-path it is served under
	// (https://example.com/grafana).
	URL string
	// Token is a service-account token sent as a Bearer credential. It is
	// never logged and is redacted from every error.
	Token string
	// OrgID, when not zero, is sent as X-Grafana-Org-Id.
	OrgID int64
	// HTTPClient carries TLS settings and the transport; nil uses a client
	// with http.DefaultTransport's settings. Its Timeout should be zero:
	// the context bounds each push.
	HTTPClient *http.Client
	// Retry is the policy for transient failures.
	Retry Retry
	// Logger receives one debug record per request (method, path, status,
	// attempt, duration; never headers or bodies); nil discards.
	Logger *slog.Logger
	// UserAgent names the caller, e.g. "dbmonctl/1.2.0".
	UserAgent string
}

// Client is a small typed client for the parts of Grafana's HTTP API that
// push uses. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	orgID     int64
	http      *http.Client
	retry     Retry
	log       *slog.Logger
	userAgent string
	secrets   []string
}

// NewClient checks o and returns a client. It does not contact the server.
func NewClient(o Options) (*Client, error) {
	if o.URL == "" {
		return nil, errors.New("grafana URL is empty")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return nil, errors.New("grafana URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("grafana URL %s: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("grafana URL %s: no host", u.Redacted())
	}
	if strings.ContainsAny(o.Token, "\r\n") {
		return nil, errors.New("grafana token contains a line break")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:      u,
		token:     o.Token,
		orgID:     o.OrgID,
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
	if o.Token != "" {
		c.secrets = append(c.secrets, o.Token)
	}
	if p, ok := u.User.Password(); ok && p != "" {
		c.secrets = append(c.secrets, p)
	}
	return c, nil
}

// URL returns the base URL with any password masked, for messages.
func (c *Client) URL() string { return c.base.Redacted() }

// redact removes the token (and a URL password) from s.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// Health is the answer of GET /api/health.
type Health struct {
	// Database is "ok" when Grafana can reach its database.
	Database string `json:"database"`
	// Version is the server's version, e.g. "11.3.0".
	Version string `json:"version"`
	// Commit is the server's build commit.
	Commit string `json:"commit"`
}

// Health calls GET /api/health, which needs no credentials, so a wrong URL
// is told apart from a wrong token. A 503 (database down) is retried as
// transient and then returned.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	if err := c.do(ctx, http.MethodGet, "/api/health", nil, false, &h); err != nil {
		return Health{}, err
	}
	if h.Database != "ok" {
		return h, fmt.Errorf("grafana %s reports database %q", h.Version, h.Database)
	}
	return h, nil
}

// Folder is a Grafana folder as GET/POST /api/folders answer it.
type Folder struct {
	ID        int64  `json:"id,omitempty"`
	UID       string `json:"uid"`
	Title     string `json:"title"`
	URL       string `json:"url,omitempty"`
	ParentUID string `json:"parentUid,omitempty"`
	Version   int    `json:"version,omitempty"`
}

// Folder calls GET /api/folders/:uid; a missing folder is an error
// matching ErrNotFound.
func (c *Client) Folder(ctx context.Context, uid string) (Folder, error) {
	var f Folder
	err := c.do(ctx, http.MethodGet, "/api/folders/"+url.PathEscape(uid), nil, true, &f)
	return f, err
}

// CreateFolder calls POST /api/folders. Grafana answers 409 (ErrConflict)
// when the folder exists already.
func (c *Client) CreateFolder(ctx context.Context, f Folder) (Folder, error) {
	body, err := json.Marshal(struct {
		UID       string `json:"uid"`
		Title     string `json:"title"`
		ParentUID string `json:"parentUid,omitempty"`
	}{f.UID, f.Title, f.ParentUID})
	if err != nil {
		return Folder{}, fmt.Errorf("encode folder %q: %w", f.UID, err)
	}
	var out Folder
	err = c.do(ctx, http.MethodPost, "/api/folders", body, true, &out)
	return out, err
}

// DashboardMeta is the part of GET /api/dashboards/uid/:uid's "meta" that
// push reads.
type DashboardMeta struct {
	Slug        string `json:"slug"`
	URL         string `json:"url"`
	Version     int    `json:"version"`
	FolderUID   string `json:"folderUid"`
	FolderTitle string `json:"folderTitle"`
	Provisioned bool   `json:"provisioned"`
	// ProvisionedExternalID is the provisioning file, for a provisioned
	// dashboard.
	ProvisionedExternalID string `json:"provisionedExternalId"`
	Updated               string `json:"updated"`
	UpdatedBy             string `json:"updatedBy"`
}

// DashboardWithMeta is the answer of GET /api/dashboards/uid/:uid. The
// dashboard stays raw JSON: push compares it field by field and must not
// lose fields this client has no type for.
type DashboardWithMeta struct {
	Dashboard json.RawMessage `json:"dashboard"`
	Meta      DashboardMeta   `json:"meta"`
}

// Dashboard calls GET /api/dashboards/uid/:uid; a missing dashboard is an
// error matching ErrNotFound.
func (c *Client) Dashboard(ctx context.Context, uid string) (DashboardWithMeta, error) {
	var d DashboardWithMeta
	err := c.do(ctx, http.MethodGet, "/api/dashboards/uid/"+url.PathEscape(uid), nil, true, &d)
	return d, err
}

// SaveRequest is the body of POST /api/dashboards/db.
type SaveRequest struct {
	// Dashboard is the dashboard JSON. To update with optimistic locking,
	// its "version" is the version read; Grafana answers 412
	// version-mismatch if someone saved in between and Overwrite is false.
	Dashboard json.RawMessage `json:"dashboard"`
	// FolderUID is always sent: on an update, leaving it out moves the
	// dashboard to the root folder.
	FolderUID string `json:"folderUid"`
	// Message is the version-history note.
	Message string `json:"message,omitempty"`
	// Overwrite makes Grafana ignore version and title clashes.
	Overwrite bool `json:"overwrite"`
}

// SaveResult is the answer of POST /api/dashboards/db.
type SaveResult struct {
	ID      int64  `json:"id"`
	UID     string `json:"uid"`
	URL     string `json:"url"`
	Status  string `json:"status"`
	Version int    `json:"version"`
	Slug    string `json:"slug"`
}

// SaveDashboard calls POST /api/dashboards/db.
func (c *Client) SaveDashboard(ctx context.Context, r SaveRequest) (SaveResult, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return SaveResult{}, fmt.Errorf("encode dashboard save: %w", err)
	}
	var out SaveResult
	err = c.do(ctx, http.MethodPost, "/api/dashboards/db", body, true, &out)
	return out, err
}

// AbsURL turns a server-relative URL such as meta.url ("/d/uid/slug") into
// an absolute one under the base URL (which may have a sub-path that
// Grafana already includes in the relative URL when configured with it).
func (c *Client) AbsURL(rel string) string {
	if rel == "" || strings.HasPrefix(rel, "http://") || strings.HasPrefix(rel, "https://") {
		return rel
	}
	u := *c.base
	u.User = nil
	if u.Path != "" && strings.HasPrefix(rel, u.Path+"/") {
		rel = strings.TrimPrefix(rel, u.Path)
	}
	return strings.TrimRight(u.String(), "/") + rel
}

// do sends one API request with retries of transient failures and decodes
// a 2xx JSON answer into out. Every error it returns is redacted.
func (c *Client) do(ctx context.Context, method, path string, body []byte, auth bool, out any) error {
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.once(ctx, method, path, body, auth, out, attempt)
		if err == nil {
			return nil
		}
		if !c.transient(ctx, err) {
			return err
		}
		if attempt >= c.retry.Attempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		wait := c.retry.Wait(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("giving up after %d attempts, the timeout leaves no time for a retry in %s: %w",
				attempt, wait.Round(time.Millisecond), err)
		}
		c.log.Debug("grafana request will be retried", "method", method, "path", path, "attempt", attempt, "wait", wait, "err", err.Error())
		if serr := c.retry.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("giving up after %d attempts (%v): %w", attempt, serr, err)
		}
	}
}

// transient reports whether err, from one try, is worth another: a status
// listed in transientStatus or a transport error (refused, reset, EOF)
// while the context is still live. A timeout of the whole push is not, nor
// is a TLS certificate that fails verification.
func (c *Client) transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return transientStatus(ae.StatusCode)
	}
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	// A certificate the client does not trust stays untrusted.
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	return !errors.As(err, &cv) && !errors.As(err, &ua) && !errors.As(err, &he)
}

// transportError marks a failure to get any HTTP answer.
type transportError struct{ redactedError }

// once sends one try. It returns the Retry-After the server asked for.
func (c *Client) once(ctx context.Context, method, path string, body []byte, auth bool, out any, attempt int) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return 0, &redactedError{msg: c.redact(fmt.Sprintf("%s %s: %v", method, path, err)), err: err}
	}
	req.URL.User = nil // credentials go in the header, not in userinfo
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.orgID != 0 {
		req.Header.Set("X-Grafana-Org-Id", strconv.FormatInt(c.orgID, 10))
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		msg := c.redact(fmt.Sprintf("%s %s: %v", method, path, err))
		c.log.Debug("grafana request failed", "method", method, "path", path, "attempt", attempt, "duration", time.Since(start).Round(time.Millisecond), "err", msg)
		if ctx.Err() != nil {
			return 0, &redactedError{msg: msg, err: ctx.Err()}
		}
		return 0, &transportError{redactedError{msg: msg, err: err}}
	}
	defer resp.Body.Close()
	c.log.Debug("grafana request", "method", method, "path", path, "status", resp.StatusCode, "attempt", attempt, "duration", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		ae := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode}
		var eb struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
		}
		if json.Unmarshal(raw, &eb) == nil && (eb.Message != "" || eb.Status != "") {
			ae.Message, ae.Status = eb.Message, eb.Status
			if eb.Kind == "Status" {
				// A Kubernetes Status: "status" is only Success or
				// Failure; the reason says which failure.
				ae.Status = eb.Reason
			}
		} else {
			ae.Message = strings.TrimSpace(string(raw))
			if len(ae.Message) > 200 {
				ae.Message = ae.Message[:200] + "…"
			}
		}
		ae.Message = c.redact(ae.Message)
		ae.Status = c.redact(ae.Status)
		ra := parseRetryAfter(resp.Header.Get("Retry-After"))
		if ra > 0 {
			ae.RetryAfter = ra.String()
		}
		return ra, ae
	}
	if out == nil {
		return 0, nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		msg := c.redact(fmt.Sprintf("%s %s: read answer: %v", method, path, err))
		if ctx.Err() != nil {
			return 0, &redactedError{msg: msg, err: ctx.Err()}
		}
		return 0, &transportError{redactedError{msg: msg, err: err}}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return 0, &redactedError{msg: c.redact(fmt.Sprintf("%s %s: decode answer: %v", method, path, err)), err: err}
	}
	return 0, nil
}

// parseRetryAfter reads the delay-seconds form of Retry-After; the
// HTTP-date form is rare from Grafana and its proxies and is ignored.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
