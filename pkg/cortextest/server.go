// Package cortextest is an in-memory Cortex for tests: the ruler's
// rule-group configuration API and the multi-tenant Alertmanager's
// configuration API, following Cortex's documented and observed behaviour
// (v1.21): tenants from X-Scope-OrgID (401 "no org id" without one), YAML
// bodies, 202 for rule writes and 201 for a configuration, 404 "no rule
// groups found" for an empty namespace, 400 with Cortex's messages for
// invalid groups, limits, empty configurations and settings that read
// files; plus what a gateway in front of it does (a token, 403 for a
// tenant, 413 for a large body) and fault injection (any status, slow
// answers, reset connections) for what a real engine will not do on
// demand.
package cortextest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Paths the server answers on by default: Cortex's.
const (
	RulesPrefix = "/api/v1/rules"
	AlertsPath  = "/api/v1/alerts"
)

// Limits are per-tenant limits; zero means none.
type Limits struct {
	// MaxRulesPerGroup refuses a group with more rules (Cortex: 400
	// "per-user rules per rule group limit (limit: N actual: M) exceeded").
	MaxRulesPerGroup int
	// MaxRuleGroups refuses a write when the tenant's group count plus one
	// exceeds it. Like Cortex 1.21, it counts plus one on a replacement
	// too.
	MaxRuleGroups int
	// MaxConfigSize refuses a larger Alertmanager configuration request
	// (Cortex: 400 "Alertmanager configuration is too big, limit: N bytes").
	MaxConfigSize int
	// MaxBody answers 413 to a larger request body, as a proxy or Mimir's
	// request size limit does.
	MaxBody int
}

// Fault replaces the server's answer to matching requests.
type Fault struct {
	// Method and Path select requests; "" matches any. Path matches as a
	// prefix when it ends in "*".
	Method, Path string
	// Status and Body are the answer; Body defaults to the status text.
	// Header adds headers (e.g. Retry-After).
	Status int
	Body   string
	Header map[string]string
	// Delay holds the answer back (or until the client gives up).
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
	// Apply lets the request change the server's state before the fault
	// answers: the reply is lost, not the request.
	Apply bool
	// Times is how many matching requests the fault hits; 0 means all.
	Times int

	hits int
}

// Request is one request the server received.
type Request struct {
	Method, Path string
	// Tenant is the X-Scope-OrgID header.
	Tenant string
	// Authorized says whether the credentials were accepted.
	Authorized bool
	// Status is the status answered, 0 for a reset connection.
	Status int
	// Body is the request body.
	Body string
}

// Server is a fake Cortex. Create it with New; Close it when done.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	token    string
	prefix   string
	alerts   string
	limits   Limits
	forbid   map[string]bool
	tenants  map[string]*tenant
	faults   []*Fault
	requests []Request
}

type tenant struct {
	rules    map[string]map[string]rulefmt.RuleGroup // namespace → name → group
	amConfig *amConfig
}

type amConfig struct {
	TemplateFiles      map[string]string `yaml:"template_files"`
	AlertmanagerConfig string            `yaml:"alertmanager_config"`
}

// New starts a fake Cortex on loopback HTTP. A non-empty token is required
// from every client, as Bearer or basic-auth password.
func New(token string) *Server {
	return NewWithPrefix(token, RulesPrefix)
}

// NewWithPrefix starts a fake whose ruler API lives under rulesPrefix,
// e.g. Mimir's "/prometheus/config/v1/rules".
func NewWithPrefix(token, rulesPrefix string) *Server {
	s := &Server{
		token:   token,
		prefix:  strings.TrimRight(rulesPrefix, "/"),
		alerts:  AlertsPath,
		forbid:  map[string]bool{},
		tenants: map[string]*tenant{},
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Reset connections are what the tests cause; their log is noise.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Server.Start()
	return s
}

// SetLimits replaces the limits.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

// Forbid makes every request for tenant answer 403, as a gateway does for
// a token without access to it.
func (s *Server) Forbid(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbid[tenant] = true
}

// Inject adds a fault; faults are tried in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PutGroup stores a group as another user of the API would.
func (s *Server) PutGroup(tenantID, namespace string, g rulefmt.RuleGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID)
	if t.rules[namespace] == nil {
		t.rules[namespace] = map[string]rulefmt.RuleGroup{}
	}
	t.rules[namespace][g.Name] = g
}

// Groups returns a namespace's groups, sorted by name.
func (s *Server) Groups(tenantID, namespace string) []rulefmt.RuleGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID)
	var out []rulefmt.RuleGroup
	for _, n := range slices.Sorted(maps.Keys(t.rules[namespace])) {
		out = append(out, t.rules[namespace][n])
	}
	return out
}

// Namespaces returns the names of a tenant's namespaces, sorted.
func (s *Server) Namespaces(tenantID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.tenant(tenantID).rules))
}

// AlertmanagerConfig returns a tenant's stored configuration.
func (s *Server) AlertmanagerConfig(tenantID string) (cfg string, templates map[string]string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.tenant(tenantID).amConfig
	if c == nil {
		return "", nil, false
	}
	return c.AlertmanagerConfig, maps.Clone(c.TemplateFiles), true
}

// PutAlertmanagerConfig stores a configuration without checks.
func (s *Server) PutAlertmanagerConfig(tenantID, cfg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenant(tenantID).amConfig = &amConfig{AlertmanagerConfig: cfg}
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Writes counts the POST and DELETE requests received, answered or not.
func (s *Server) Writes() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost || r.Method == http.MethodDelete {
			n++
		}
	}
	return n
}

// Snapshot renders the whole state deterministically, so a test can prove
// that a run changed nothing.
func (s *Server) Snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(s.tenants)) {
		t := s.tenants[id]
		for _, ns := range slices.Sorted(maps.Keys(t.rules)) {
			for _, n := range slices.Sorted(maps.Keys(t.rules[ns])) {
				y, _ := yaml.Marshal(t.rules[ns][n])
				fmt.Fprintf(&b, "tenant %s namespace %s group %s:\n%s", id, ns, n, y)
			}
		}
		if t.amConfig != nil {
			y, _ := yaml.Marshal(t.amConfig)
			fmt.Fprintf(&b, "tenant %s alertmanager:\n%s", id, y)
		}
	}
	return b.String()
}

func (s *Server) tenant(id string) *tenant {
	t := s.tenants[id]
	if t == nil {
		t = &tenant{rules: map[string]map[string]rulefmt.RuleGroup{}}
		s.tenants[id] = t
	}
	return t
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.EscapedPath(), Tenant: r.Header.Get("X-Scope-OrgID"), Body: string(body)}
	s.mu.Lock()
	req.Authorized = s.authorized(r)
	f := s.matchFault(r)
	s.mu.Unlock()

	rec := &recorder{ResponseWriter: w}
	if f != nil {
		if f.Apply {
			s.route(httptest.NewRecorder(), r, req, body)
		}
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
			}
		}
		if f.Reset {
			s.log(req)
			resetConn(w)
			return
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		msg := f.Body
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		http.Error(rec, msg, f.Status)
	} else {
		s.route(rec, r, req, body)
	}
	req.Status = rec.status
	s.log(req)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("cortextest: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	conn.Close()
}

func (s *Server) log(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass == s.token
	}
	return r.Header.Get("Authorization") == "Bearer "+s.token
}

func (s *Server) matchFault(r *http.Request) *Fault {
	for _, f := range s.faults {
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		p := r.URL.EscapedPath()
		if f.Path != "" {
			if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
				if !strings.HasPrefix(p, prefix) {
					continue
				}
			} else if f.Path != p {
				continue
			}
		}
		f.hits++
		return f
	}
	return nil
}

// route answers as Cortex does.
func (s *Server) route(w http.ResponseWriter, r *http.Request, req Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !req.Authorized {
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	if req.Tenant == "" {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	if s.forbid[req.Tenant] {
		http.Error(w, "access denied to tenant "+req.Tenant, http.StatusForbidden)
		return
	}
	if s.limits.MaxBody > 0 && len(body) > s.limits.MaxBody {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	t := s.tenant(req.Tenant)
	p := r.URL.EscapedPath()
	switch {
	case p == s.alerts:
		s.alertmanager(w, r.Method, t, body)
	case p == s.prefix:
		if r.Method != http.MethodGet {
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.listRules(w, t, "")
	case strings.HasPrefix(p, s.prefix+"/"):
		parts := strings.Split(strings.TrimPrefix(p, s.prefix+"/"), "/")
		if len(parts) > 2 {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		ns, err := url.PathUnescape(parts[0])
		if err != nil || ns == "" {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if len(parts) == 1 {
			switch r.Method {
			case http.MethodGet:
				s.listRules(w, t, ns)
			case http.MethodPost:
				s.createGroup(w, t, ns, body)
			case http.MethodDelete:
				if len(t.rules[ns]) == 0 {
					http.Error(w, "group namespace does not exist", http.StatusNotFound)
					return
				}
				delete(t.rules, ns)
				accepted(w)
			default:
				http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			}
			return
		}
		group, err := url.PathUnescape(parts[1])
		if err != nil {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		switch r.Method {
		case http.MethodGet:
			g, ok := t.rules[ns][group]
			if !ok {
				http.Error(w, "group does not exist", http.StatusNotFound)
				return
			}
			writeYAML(w, g)
		case http.MethodDelete:
			if _, ok := t.rules[ns][group]; !ok {
				http.Error(w, "group does not exist", http.StatusNotFound)
				return
			}
			delete(t.rules[ns], group)
			if len(t.rules[ns]) == 0 {
				delete(t.rules, ns)
			}
			accepted(w)
		default:
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		}
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

func (s *Server) listRules(w http.ResponseWriter, t *tenant, ns string) {
	out := map[string][]rulefmt.RuleGroup{}
	for name, groups := range t.rules {
		if ns != "" && name != ns {
			continue
		}
		for _, g := range slices.Sorted(maps.Keys(groups)) {
			out[name] = append(out[name], groups[g])
		}
	}
	if len(out) == 0 {
		http.Error(w, "no rule groups found", http.StatusNotFound)
		return
	}
	writeYAML(w, out)
}

// createGroup follows Cortex's CreateRuleGroup: decode, validate, limits,
// store.
func (s *Server) createGroup(w http.ResponseWriter, t *tenant, ns string, body []byte) {
	var g rulefmt.RuleGroup
	if err := yaml.Unmarshal(body, &g); err != nil {
		http.Error(w, "unable to decoded rule group", http.StatusBadRequest)
		return
	}
	if errs := validateGroup(g); len(errs) > 0 {
		http.Error(w, strings.Join(errs, ", "), http.StatusBadRequest)
		return
	}
	if l := s.limits.MaxRulesPerGroup; l > 0 && len(g.Rules) > l {
		http.Error(w, fmt.Sprintf("per-user rules per rule group limit (limit: %d actual: %d) exceeded", l, len(g.Rules)), http.StatusBadRequest)
		return
	}
	if l := s.limits.MaxRuleGroups; l > 0 {
		n := 0
		for _, groups := range t.rules {
			n += len(groups)
		}
		if n+1 > l {
			http.Error(w, fmt.Sprintf("per-user rule groups limit (limit: %d actual: %d) exceeded", l, n+1), http.StatusBadRequest)
			return
		}
	}
	if t.rules[ns] == nil {
		t.rules[ns] = map[string]rulefmt.RuleGroup{}
	}
	t.rules[ns][g.Name] = g
	accepted(w)
}

// validateGroup is Cortex's ValidateRuleGroup: a name, at least one rule,
// expressions that parse, and Prometheus's rule checks.
func validateGroup(g rulefmt.RuleGroup) []string {
	if g.Name == "" {
		return []string{"invalid rules config: rule group name must not be empty"}
	}
	if len(g.Rules) == 0 {
		return []string{fmt.Sprintf("invalid rules config: rule group '%s' has no rules", g.Name)}
	}
	var errs []string
	p := parser.NewParser(parser.Options{})
	for i, r := range g.Rules {
		for _, err := range r.Validate(rulefmt.RuleNode{}, model.UTF8Validation, p) {
			errs = append(errs, fmt.Sprintf("group %q, rule %d, %q: %v", g.Name, i+1, r.Alert+r.Record, err.Error()))
		}
	}
	return errs
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": nil, "errorType": "", "error": ""})
}

func writeYAML(w http.ResponseWriter, v any) {
	b, err := yaml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(b)
}

// alertmanager follows Cortex's GetUserConfig, SetUserConfig and
// DeleteUserConfig.
func (s *Server) alertmanager(w http.ResponseWriter, method string, t *tenant, body []byte) {
	switch method {
	case http.MethodGet:
		if t.amConfig == nil {
			http.Error(w, "alertmanager storage object not found", http.StatusNotFound)
			return
		}
		writeYAML(w, t.amConfig)
	case http.MethodPost:
		if l := s.limits.MaxConfigSize; l > 0 && len(body) > l {
			http.Error(w, fmt.Sprintf("Alertmanager configuration is too big, limit: %d bytes", l), http.StatusBadRequest)
			return
		}
		var c amConfig
		if err := yaml.Unmarshal(body, &c); err != nil {
			http.Error(w, "error marshalling YAML Alertmanager config: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := validateAMConfig(c); err != nil {
			http.Error(w, "error validating Alertmanager config: "+err.Error(), http.StatusBadRequest)
			return
		}
		t.amConfig = &c
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		t.amConfig = nil
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	}
}

// validateAMConfig is the part of Cortex's validateUserConfig the tests
// meet: not empty, loads, no setting that reads a file.
func validateAMConfig(c amConfig) error {
	if c.AlertmanagerConfig == "" {
		return fmt.Errorf("configuration provided is empty, if you'd like to remove your configuration please use the delete configuration endpoint")
	}
	cfg, err := config.Load(c.AlertmanagerConfig)
	if err != nil {
		return err
	}
	if g := cfg.Global; g != nil && g.SMTPAuthPasswordFile != "" {
		return fmt.Errorf("setting Email auth_password_file and global smtp_auth_password_file is not allowed")
	}
	for _, r := range cfg.Receivers {
		for _, e := range r.EmailConfigs {
			if e.AuthPasswordFile != "" {
				return fmt.Errorf("setting Email auth_password_file and global smtp_auth_password_file is not allowed")
			}
		}
		for _, sc := range r.SlackConfigs {
			if sc.APIURLFile != "" {
				return fmt.Errorf("setting Slack api_url_file and global slack_api_url_file is not allowed")
			}
		}
		for _, p := range r.PagerdutyConfigs {
			if p.RoutingKeyFile != "" {
				return fmt.Errorf("setting PagerDuty routing_key_file is not allowed")
			}
			if p.ServiceKeyFile != "" {
				return fmt.Errorf("setting PagerDuty service_key_file is not allowed")
			}
		}
	}
	for name := range c.TemplateFiles {
		if name == "" || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("invalid template name %q: the template name cannot contain any path", name)
		}
	}
	return nil
}
