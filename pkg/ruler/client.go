package ruler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/prometheus/model/rulefmt"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
)

// Paths of the rule-group configuration API.
const (
	// DefaultPrefix is where Cortex serves it.
	DefaultPrefix = "/api/v1/rules"
	// MimirPrefix is where Grafana Mimir serves it, under its default
	// Prometheus HTTP prefix.
	MimirPrefix = "/prometheus/config/v1/rules"
)

// noGroups is the body of the 404 Cortex and Mimir answer for a namespace
// (or tenant) without rule groups, as opposed to a 404 for a wrong path.
const noGroups = "no rule groups found"

// Client reads and writes one tenant's rule groups through the ruler's
// configuration API of Cortex or Mimir:
//
//	GET    <prefix>                       every namespace, YAML {ns: [group…]}
//	GET    <prefix>/<namespace>           one namespace, same shape
//	POST   <prefix>/<namespace>           create or replace one group (YAML body)
//	DELETE <prefix>/<namespace>/<group>   delete one group
type Client struct {
	api    *apiclient.Client
	prefix string
}

// NewClient returns a client for the API under prefix (DefaultPrefix when
// empty), sending requests with api.
func NewClient(api *apiclient.Client, prefix string) (*Client, error) {
	if api == nil {
		return nil, errors.New("ruler: nil API client")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "?#") {
		return nil, fmt.Errorf("ruler API prefix %q must be a path starting with /", prefix)
	}
	return &Client{api: api, prefix: strings.TrimRight(prefix, "/")}, nil
}

// API returns the underlying API client.
func (c *Client) API() *apiclient.Client { return c.api }

// Prefix returns the API path prefix.
func (c *Client) Prefix() string { return c.prefix }

// Namespaces returns every namespace of the tenant with its groups; a
// tenant without rules gives an empty map.
func (c *Client) Namespaces(ctx context.Context) (map[string][]rulefmt.RuleGroup, error) {
	return c.list(ctx, c.prefix)
}

// Groups returns the groups of one namespace, none when it does not exist.
func (c *Client) Groups(ctx context.Context, namespace string) ([]rulefmt.RuleGroup, error) {
	if err := checkName("namespace", namespace); err != nil {
		return nil, err
	}
	all, err := c.list(ctx, c.nsPath(namespace))
	if err != nil {
		return nil, err
	}
	return all[namespace], nil
}

func (c *Client) list(ctx context.Context, path string) (map[string][]rulefmt.RuleGroup, error) {
	body, err := c.api.Do(ctx, apiclient.Request{Method: http.MethodGet, Path: path, Accept: "application/yaml"})
	if err != nil {
		var ae *apiclient.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && strings.Contains(ae.Message, noGroups) {
			return map[string][]rulefmt.RuleGroup{}, nil
		}
		return nil, err
	}
	out := map[string][]rulefmt.RuleGroup{}
	// Unknown fields are ignored on purpose: engines add their own
	// (Mimir's source_tenants, evaluation_delay) and echo them with zero
	// values.
	if err := yaml.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("GET %s: decode rule groups: %w", path, err)
	}
	return out, nil
}

// SetGroup creates or replaces group g in namespace.
func (c *Client) SetGroup(ctx context.Context, namespace string, g rulefmt.RuleGroup) error {
	if err := checkName("namespace", namespace); err != nil {
		return err
	}
	if err := checkName("group name", g.Name); err != nil {
		return err
	}
	body, err := encodeGroup(g)
	if err != nil {
		return fmt.Errorf("encode rule group %q: %w", g.Name, err)
	}
	_, err = c.api.Do(ctx, apiclient.Request{Method: http.MethodPost, Path: c.nsPath(namespace), Body: body, ContentType: "application/yaml"})
	return err
}

// DeleteGroup deletes group from namespace. A group that does not exist is
// an error matching apiclient.ErrNotFound.
func (c *Client) DeleteGroup(ctx context.Context, namespace, group string) error {
	if err := checkName("namespace", namespace); err != nil {
		return err
	}
	if err := checkName("group name", group); err != nil {
		return err
	}
	_, err := c.api.Do(ctx, apiclient.Request{Method: http.MethodDelete, Path: c.nsPath(namespace) + "/" + url.PathEscape(group)})
	return err
}

func (c *Client) nsPath(namespace string) string { return c.prefix + "/" + url.PathEscape(namespace) }

func checkName(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is empty", what)
	}
	return nil
}

// encodeGroup writes g as the YAML the API takes, two-space indented like
// Prometheus' own examples.
func encodeGroup(g rulefmt.RuleGroup) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(g); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
