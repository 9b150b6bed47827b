package target

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"unicode"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"gopkg.in/yaml.v3"
)

// This file models what the Prometheus Operator does with an
// AlertmanagerConfig (its pkg/alertmanager: amcfg.go and
// validation/v1alpha1), for an Alertmanager of 0.22 or later and the
// default OnNamespace matcher strategy:
//
//   - validation: unique receiver names, a receiver on the first route,
//     every route's receiver defined, group_by without duplicates and "..."
//     alone, valid matchers, child routes that decode strictly, PagerDuty
//     with a routing or service key, email with a to address and a
//     host:port smarthost, valid Slack configs;
//   - conversion: every receiver R renamed <namespace>/<name>/R, routes and
//     inhibition rules with matchers rendered by Matcher.String(), secrets
//     read from the Secret store;
//   - enforcement: the first route gets namespace="<namespace>" appended to
//     its matchers and continue: true; every inhibition rule gets that
//     matcher on both sides, unless it already has it;
//   - merge: the first route goes before the routes of the Alertmanager's
//     own config, its receivers after that config's.
//
// The result is an Alertmanager config file, loaded by the tests with
// Alertmanager's loader and amtool.

// validateAlertmanagerConfig checks amc the way the operator does before
// it converts it.
func validateAlertmanagerConfig(amc *monitoringv1alpha1.AlertmanagerConfig) error {
	receivers := map[string]bool{}
	for _, r := range amc.Spec.Receivers {
		if receivers[r.Name] {
			return fmt.Errorf("%q receiver is not unique", r.Name)
		}
		receivers[r.Name] = true
		for i, c := range r.PagerDutyConfigs {
			if c.RoutingKey == nil && c.ServiceKey == nil {
				return fmt.Errorf("receiver %q: pagerdutyConfigs[%d]: one of 'routingKey' or 'serviceKey' is required", r.Name, i)
			}
		}
		for i, c := range r.SlackConfigs {
			if err := c.Validate(); err != nil {
				return fmt.Errorf("receiver %q: slackConfigs[%d]: %w", r.Name, i, err)
			}
		}
		for i, c := range r.EmailConfigs {
			if c.To == nil || *c.To == "" {
				return fmt.Errorf("receiver %q: emailConfigs[%d]: missing 'to' address", r.Name, i)
			}
			if c.Smarthost != nil {
				if _, _, err := net.SplitHostPort(*c.Smarthost); err != nil {
					return fmt.Errorf("receiver %q: emailConfigs[%d]: invalid 'smarthost': %w", r.Name, i, err)
				}
			}
		}
		for i, c := range r.WebhookConfigs {
			if c.URL == nil && c.URLSecret == nil {
				return fmt.Errorf("receiver %q: webhookConfigs[%d]: one of 'url' or 'urlSecret' must be specified", r.Name, i)
			}
		}
	}
	return validateRoute(amc.Spec.Route, receivers, true)
}

func validateRoute(r *monitoringv1alpha1.Route, receivers map[string]bool, top bool) error {
	if r == nil {
		return nil
	}
	switch {
	case r.Receiver == "" && top:
		return errors.New("root route must define a receiver")
	case r.Receiver != "" && !receivers[r.Receiver]:
		return fmt.Errorf("receiver %q not found", r.Receiver)
	}
	for i, g := range r.GroupBy {
		if slices.Contains(r.GroupBy[:i], g) {
			return fmt.Errorf("duplicate values not permitted in route 'groupBy': %v", r.GroupBy)
		}
	}
	if slices.Contains(r.GroupBy, "...") && len(r.GroupBy) > 1 {
		return fmt.Errorf("'...' must be a sole value in route 'groupBy': %v", r.GroupBy)
	}
	for i, m := range r.Matchers {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("matcher[%d]: %w", i, err)
		}
	}
	children, err := r.ChildRoutes() // decodes with DisallowUnknownFields
	if err != nil {
		return err
	}
	for i := range children {
		if err := validateRoute(&children[i], receivers, false); err != nil {
			return fmt.Errorf("route[%d]: %w", i, err)
		}
	}
	return nil
}

// secretStore is the Kubernetes Secrets the operator reads: value by
// "<secret name>/<key>".
type secretStore map[string]string

// operatorAlertmanagerConfig is the Alertmanager config file the operator
// generates from base (the Alertmanager's own config, YAML) and amc.
func operatorAlertmanagerConfig(t *testing.T, base string, amc *monitoringv1alpha1.AlertmanagerConfig, secrets secretStore) []byte {
	t.Helper()
	if err := validateAlertmanagerConfig(amc); err != nil {
		t.Fatalf("the operator would reject the AlertmanagerConfig: %v", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(base), &cfg); err != nil {
		t.Fatal(err)
	}
	ns, name := amc.Namespace, amc.Name
	nsMatcher := monitoringv1alpha1.Matcher{Name: "namespace", Value: ns, MatchType: monitoringv1alpha1.MatchEqual}.String()

	if amc.Spec.Route != nil {
		top := modelRoute(t, *amc.Spec.Route, ns, name)
		top["matchers"] = append(asStrings(top["matchers"]), nsMatcher)
		top["continue"] = true
		root := cfg["route"].(map[string]any)
		routes, _ := root["routes"].([]any)
		root["routes"] = append([]any{top}, routes...)
	}
	inhibit, _ := cfg["inhibit_rules"].([]any)
	for _, ir := range amc.Spec.InhibitRules {
		src, tgt := matcherStrings(t, ir.SourceMatch), matcherStrings(t, ir.TargetMatch)
		if !slices.Contains(src, nsMatcher) {
			src = append(src, nsMatcher)
		}
		if !slices.Contains(tgt, nsMatcher) {
			tgt = append(tgt, nsMatcher)
		}
		rule := map[string]any{"source_matchers": src, "target_matchers": tgt}
		if len(ir.Equal) > 0 {
			rule["equal"] = ir.Equal
		}
		inhibit = append(inhibit, rule)
	}
	if len(inhibit) > 0 {
		cfg["inhibit_rules"] = inhibit
	}
	receivers, _ := cfg["receivers"].([]any)
	for _, r := range amc.Spec.Receivers {
		receivers = append(receivers, modelReceiver(t, r, ns, name, secrets))
	}
	cfg["receivers"] = receivers
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func asStrings(v any) []string {
	s, _ := v.([]string)
	return s
}

func prefixed(ns, name, receiver string) string { return ns + "/" + name + "/" + receiver }

// matcherStrings renders matchers as the operator does for an
// Alertmanager ≥ 0.22: Matcher.String() when the match type is set.
func matcherStrings(t *testing.T, ms []monitoringv1alpha1.Matcher) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		if m.MatchType == "" {
			t.Fatalf("matcher %+v has no matchType; the operator would convert its deprecated regex flag", m)
		}
		out = append(out, m.String())
	}
	return out
}

func modelRoute(t *testing.T, r monitoringv1alpha1.Route, ns, name string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if r.Receiver != "" {
		m["receiver"] = prefixed(ns, name, r.Receiver)
	}
	if len(r.GroupBy) > 0 {
		m["group_by"] = r.GroupBy
	}
	if r.GroupWait != nil {
		m["group_wait"] = string(*r.GroupWait)
	}
	if r.GroupInterval != nil {
		m["group_interval"] = string(*r.GroupInterval)
	}
	if r.RepeatInterval != nil {
		m["repeat_interval"] = string(*r.RepeatInterval)
	}
	if ms := matcherStrings(t, r.Matchers); len(ms) > 0 {
		m["matchers"] = ms
	}
	if r.Continue {
		m["continue"] = true
	}
	children, err := r.ChildRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var routes []any
	for _, c := range children {
		routes = append(routes, modelRoute(t, c, ns, name))
	}
	if len(routes) > 0 {
		m["routes"] = routes
	}
	return m
}

// modelReceiver converts a receiver as the operator's convert*Config do:
// each camelCase field to Alertmanager's snake_case one, a Secret key
// selector to the secret's value (urlSecret to url), a key/value list to
// a map.
func modelReceiver(t *testing.T, r monitoringv1alpha1.Receiver, ns, name string, secrets secretStore) map[string]any {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"name": prefixed(ns, name, r.Name)}
	for kind, v := range in {
		if kind == "name" {
			continue
		}
		var configs []any
		for _, c := range v.([]any) {
			cfg := map[string]any{}
			for k, val := range c.(map[string]any) {
				key := snake(k)
				switch {
				case isSecretSelector(val):
					sel := val.(map[string]any)
					ref := fmt.Sprint(sel["name"], "/", sel["key"])
					secret, ok := secrets[ref]
					if !ok {
						t.Fatalf("receiver %s: %s: the operator finds no Secret key %s", r.Name, k, ref)
					}
					key = strings.TrimSuffix(key, "_secret")
					cfg[key] = secret
				case isKeyValueList(val):
					m := map[string]string{}
					for _, kv := range val.([]any) {
						e := kv.(map[string]any)
						m[e["key"].(string)] = e["value"].(string)
					}
					cfg[key] = m
				default:
					cfg[key] = val
				}
			}
			configs = append(configs, cfg)
		}
		out[snake(kind)] = configs
	}
	return out
}

func isSecretSelector(v any) bool {
	m, ok := v.(map[string]any)
	_, hasKey := m["key"]
	_, hasName := m["name"]
	return ok && hasKey && hasName && len(m) == 2
}

func isKeyValueList(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return false
	}
	m, ok := l[0].(map[string]any)
	_, hasKey := m["key"]
	_, hasValue := m["value"]
	return ok && hasKey && hasValue && len(m) == 2
}

// snake turns a camelCase field name into snake_case, an acronym run
// being one word: apiURL → api_url, requireTLS → require_tls.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && unicode.IsLower(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1]) && i > 0 && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"apiURL": "api_url", "requireTLS": "require_tls", "sendResolved": "send_resolved", "titleLink": "title_link",
		"clientURL": "client_url", "callbackId": "callback_id", "pagerdutyConfigs": "pagerduty_configs", "to": "to",
		"maxAlerts": "max_alerts", "urlSecret": "url_secret", "authPassword": "auth_password",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
