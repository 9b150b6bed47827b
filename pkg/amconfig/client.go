package amconfig

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/internal/textdiff"
	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
)

// DefaultPath is where Cortex and Mimir serve the configuration API.
const DefaultPath = "/api/v1/alerts"

// Config is one tenant's configuration as the API carries it.
type Config struct {
	// AlertmanagerConfig is the YAML of an Alertmanager configuration,
	// secrets inline.
	AlertmanagerConfig string `yaml:"alertmanager_config"`
	// TemplateFiles maps template file names (as the configuration's
	// templates list names them) to their content.
	TemplateFiles map[string]string `yaml:"template_files,omitempty"`
}

// Client reads and writes one tenant's Alertmanager configuration:
//
//	GET    <path>   the configuration, YAML {template_files, alertmanager_config}; 404 when none
//	POST   <path>   set it (same YAML); 201
//	DELETE <path>   remove it; 200
type Client struct {
	api  *apiclient.Client
	path string
}

// NewClient returns a client for the API at path (DefaultPath when empty).
// List the secret values of the configurations it will send in the API
// client's Options.Secrets, so that they are redacted from errors.
func NewClient(api *apiclient.Client, path string) (*Client, error) {
	if api == nil {
		return nil, errors.New("amconfig: nil API client")
	}
	if path == "" {
		path = DefaultPath
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("alertmanager API path %q must be a path starting with /", path)
	}
	return &Client{api: api, path: strings.TrimRight(path, "/")}, nil
}

// API returns the underlying API client.
func (c *Client) API() *apiclient.Client { return c.api }

// Path returns the API path.
func (c *Client) Path() string { return c.path }

// Get returns the tenant's configuration; found is false when it has none.
func (c *Client) Get(ctx context.Context) (cfg Config, found bool, err error) {
	body, err := c.api.Do(ctx, apiclient.Request{Method: http.MethodGet, Path: c.path, Accept: "application/yaml"})
	if err != nil {
		var ae *apiclient.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && !looksLikeWrongPath(ae.Message) {
			return Config{}, false, nil
		}
		return Config{}, false, err
	}
	if err := yaml.Unmarshal(body, &cfg); err != nil {
		// The answer holds the tenant's secrets: do not quote it.
		return Config{}, false, fmt.Errorf("GET %s: the answer is not a configuration (YAML with alertmanager_config)", c.path)
	}
	return cfg, true, nil
}

// looksLikeWrongPath tells the 404 of a router that has no such path
// ("404 page not found", an HTML page) from the 404 of the API for a
// tenant without a configuration ("alertmanager storage object not
// found", "alertmanager config not found").
func looksLikeWrongPath(msg string) bool {
	m := strings.ToLower(msg)
	return !strings.Contains(m, "not found") || strings.Contains(m, "page not found") || strings.Contains(m, "<html")
}

// Set stores cfg as the tenant's configuration.
func (c *Client) Set(ctx context.Context, cfg Config) error {
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	_, err = c.api.Do(ctx, apiclient.Request{Method: http.MethodPost, Path: c.path, Body: body, ContentType: "application/yaml"})
	return err
}

// Delete removes the tenant's configuration.
func (c *Client) Delete(ctx context.Context) error {
	_, err := c.api.Do(ctx, apiclient.Request{Method: http.MethodDelete, Path: c.path})
	return err
}

// Plan compares a tenant's configuration with the desired one.
type Plan struct {
	// Exists is true when the tenant has a configuration.
	Exists bool
	// Changed is true when the desired configuration differs from it
	// (or there is none): a push would write.
	Changed bool
	// Diff is a unified diff of the two, secrets redacted (see Redact):
	// a secret that changes shows as RedactedChanged. Template files get
	// one section each.
	Diff string
}

// NewPlan compares current (found is whether the tenant has one) with
// desired. Configurations are compared byte for byte, as the API stores
// them; templates by name and content. secrets are literals to redact
// from the diff besides the secret settings.
func NewPlan(current Config, found bool, desired Config, secrets ...string) (Plan, error) {
	p := Plan{Exists: found}
	if !found {
		current = Config{}
	}
	p.Changed = !found || current.AlertmanagerConfig != desired.AlertmanagerConfig ||
		!maps.Equal(nilIfEmpty(current.TemplateFiles), nilIfEmpty(desired.TemplateFiles))
	if !p.Changed {
		return p, nil
	}
	cur, des, err := redactPair(current.AlertmanagerConfig, desired.AlertmanagerConfig, secrets)
	if err != nil {
		return p, err
	}
	var b strings.Builder
	b.WriteString(textdiff.Unified("a/alertmanager_config", "b/alertmanager_config", cur, des))
	if cur == des && current.AlertmanagerConfig != desired.AlertmanagerConfig {
		// Redaction re-encodes the YAML, which hides differences of
		// layout alone; say so rather than show an empty diff.
		b.WriteString("alertmanager_config: the texts differ only in layout (comments, quoting, indentation, blank lines)\n")
	}
	names := slices.Sorted(maps.Keys(current.TemplateFiles))
	for n := range desired.TemplateFiles {
		if _, ok := current.TemplateFiles[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString(textdiff.Unified("a/template_files/"+n, "b/template_files/"+n, current.TemplateFiles[n], desired.TemplateFiles[n]))
	}
	p.Diff = b.String()
	return p, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
