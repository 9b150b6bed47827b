package target

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// The Alertmanager config, as far as an AlertmanagerConfig can carry it.
// The fields are Alertmanager's; decodeKnown refuses any other, naming
// its line and column, so a setting the conversion would drop stops it.
// Secrets are only accepted as *_file references: each becomes a key of
// the Kubernetes Secret Options.SecretName.
type amFile struct {
	Global       *amGlobal       `yaml:"global"`
	Route        *amRoute        `yaml:"route"`
	InhibitRules []amInhibitRule `yaml:"inhibit_rules"`
	Receivers    []amReceiver    `yaml:"receivers"`
}

// amGlobal holds the global settings that are the Alertmanager's own, not
// a resource's: they are reported as not carried over.
type amGlobal struct {
	ResolveTimeout *model.Duration `yaml:"resolve_timeout"`
}

type amRoute struct {
	Receiver       string          `yaml:"receiver"`
	GroupBy        []string        `yaml:"group_by"`
	Matchers       []string        `yaml:"matchers"`
	Continue       bool            `yaml:"continue"`
	GroupWait      *model.Duration `yaml:"group_wait"`
	GroupInterval  *model.Duration `yaml:"group_interval"`
	RepeatInterval *model.Duration `yaml:"repeat_interval"`
	Routes         []*amRoute      `yaml:"routes"`
}

type amInhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

type amReceiver struct {
	Name             string        `yaml:"name"`
	PagerdutyConfigs []amPagerDuty `yaml:"pagerduty_configs"`
	SlackConfigs     []amSlack     `yaml:"slack_configs"`
	EmailConfigs     []amEmail     `yaml:"email_configs"`
	WebhookConfigs   []amWebhook   `yaml:"webhook_configs"`
}

type amPagerDuty struct {
	SendResolved   *bool             `yaml:"send_resolved"`
	RoutingKeyFile string            `yaml:"routing_key_file"`
	ServiceKeyFile string            `yaml:"service_key_file"`
	URL            string            `yaml:"url"`
	Client         string            `yaml:"client"`
	ClientURL      string            `yaml:"client_url"`
	Description    string            `yaml:"description"`
	Severity       string            `yaml:"severity"`
	Class          string            `yaml:"class"`
	Component      string            `yaml:"component"`
	Group          string            `yaml:"group"`
	Source         string            `yaml:"source"`
	Details        map[string]string `yaml:"details"`
}

type amSlack struct {
	SendResolved *bool    `yaml:"send_resolved"`
	APIURLFile   string   `yaml:"api_url_file"`
	Channel      string   `yaml:"channel"`
	Username     string   `yaml:"username"`
	Color        string   `yaml:"color"`
	Title        string   `yaml:"title"`
	TitleLink    string   `yaml:"title_link"`
	Pretext      string   `yaml:"pretext"`
	Text         string   `yaml:"text"`
	Footer       string   `yaml:"footer"`
	Fallback     string   `yaml:"fallback"`
	CallbackID   string   `yaml:"callback_id"`
	IconEmoji    string   `yaml:"icon_emoji"`
	IconURL      string   `yaml:"icon_url"`
	ImageURL     string   `yaml:"image_url"`
	ThumbURL     string   `yaml:"thumb_url"`
	ShortFields  *bool    `yaml:"short_fields"`
	LinkNames    *bool    `yaml:"link_names"`
	MrkdwnIn     []string `yaml:"mrkdwn_in"`
}

type amEmail struct {
	SendResolved     *bool             `yaml:"send_resolved"`
	To               string            `yaml:"to"`
	From             string            `yaml:"from"`
	Hello            string            `yaml:"hello"`
	Smarthost        string            `yaml:"smarthost"`
	AuthUsername     string            `yaml:"auth_username"`
	AuthPasswordFile string            `yaml:"auth_password_file"`
	AuthIdentity     string            `yaml:"auth_identity"`
	RequireTLS       *bool             `yaml:"require_tls"`
	Headers          map[string]string `yaml:"headers"`
	HTML             *string           `yaml:"html"`
	Text             *string           `yaml:"text"`
}

type amWebhook struct {
	SendResolved *bool  `yaml:"send_resolved"`
	URL          string `yaml:"url"`
	URLFile      string `yaml:"url_file"`
	MaxAlerts    int32  `yaml:"max_alerts"`
}

// inlineSecrets are Alertmanager's secret fields that have a *_file twin.
var inlineSecrets = []string{"routing_key", "service_key", "api_url", "auth_password", "auth_secret"}

func unsupportedAlertmanagerField(p string) string {
	field := p[strings.LastIndex(p, ".")+1:]
	if slices.Contains(inlineSecrets, field) {
		return fmt.Sprintf("an inline secret; the prometheus-operator target takes secrets only as %s_file, which becomes a key of a Kubernetes Secret", field)
	}
	return "not supported by the prometheus-operator target, which would drop it"
}

// amcConverter carries what the conversion collects besides the resource.
type amcConverter struct {
	o Options
	// keys are the Secret keys referenced, by the file each came from.
	keys map[string]string
	errs []error
}

// alertmanagerConfig converts the rendered Alertmanager config into an
// AlertmanagerConfig, and returns with it the header of its file: what
// the operator does to it, the Secret keys to create, and the settings it
// did not carry over (the Alertmanager's own, set on the Alertmanager
// resource).
func alertmanagerConfig(data []byte, o Options) (*monitoringv1alpha1.AlertmanagerConfig, string, error) {
	if _, errs := alertmanager.Load(data); len(errs) > 0 {
		for _, e := range errs {
			var d *diag.Error
			if errors.As(e, &d) {
				d.File = FileAlertmanager
			}
		}
		return nil, "", diag.Join(errs)
	}
	var in amFile
	if err := decodeKnown(FileAlertmanager, data, &in, unsupportedAlertmanagerField); err != nil {
		return nil, "", err
	}
	var notes []string
	if in.Global != nil && in.Global.ResolveTimeout != nil {
		notes = append(notes, "global.resolve_timeout ("+in.Global.ResolveTimeout.String()+")")
	}
	c := &amcConverter{o: o, keys: map[string]string{}}
	amc := &monitoringv1alpha1.AlertmanagerConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1alpha1.SchemeGroupVersion.String(), Kind: monitoringv1alpha1.AlertmanagerConfigKind},
		ObjectMeta: objectMeta(o),
	}
	amc.Spec.Route = c.topRoute(in.Route)
	for i, ir := range in.InhibitRules {
		p := fmt.Sprintf("inhibit_rules[%d]", i)
		amc.Spec.InhibitRules = append(amc.Spec.InhibitRules, monitoringv1alpha1.InhibitRule{
			SourceMatch: c.matchers(p+".source_matchers", ir.SourceMatchers),
			TargetMatch: c.matchers(p+".target_matchers", ir.TargetMatchers),
			Equal:       ir.Equal,
		})
	}
	for i, r := range in.Receivers {
		amc.Spec.Receivers = append(amc.Spec.Receivers, c.receiver(fmt.Sprintf("receivers[%d]", i), r))
	}
	if len(c.errs) > 0 {
		return nil, "", diag.Join(c.errs)
	}
	keys := slices.Sorted(maps.Values(c.keys))
	return amc, alertmanagerConfigHeader(o, keys, notes), nil
}

func (c *amcConverter) fail(p, format string, args ...any) {
	c.errs = append(c.errs, &diag.Error{ID: CheckUnsupported, File: FileAlertmanager, Path: p, Message: fmt.Sprintf(format, args...)})
}

// topRoute converts the root route into the AlertmanagerConfig's route.
// The operator makes that a first-level route of the Alertmanager's own
// root, so what the root left to Alertmanager's defaults would be
// inherited from that other root instead: the defaults are written out,
// and a root without group_by (one group for every alert, which a child
// route cannot say) is refused.
func (c *amcConverter) topRoute(r *amRoute) *monitoringv1alpha1.Route {
	if r == nil {
		c.fail("route", "the config has no route")
		return nil
	}
	if len(r.GroupBy) == 0 {
		c.fail("route.group_by", "is empty: the AlertmanagerConfig's route would inherit the group_by of the Alertmanager's own root route; set group_by")
	}
	def := dispatch.DefaultRouteOpts
	top := *r
	top.GroupWait = orDefault(r.GroupWait, def.GroupWait)
	top.GroupInterval = orDefault(r.GroupInterval, def.GroupInterval)
	top.RepeatInterval = orDefault(r.RepeatInterval, def.RepeatInterval)
	return c.route("route", &top)
}

func orDefault(d *model.Duration, def time.Duration) *model.Duration {
	if d != nil {
		return d
	}
	return ptr(model.Duration(def))
}

// jsonOf is a child route as the operator stores it: raw JSON, since a
// CRD schema cannot refer to itself.
func jsonOf(r *monitoringv1alpha1.Route) (apiextensionsv1.JSON, error) {
	raw, err := json.Marshal(r)
	return apiextensionsv1.JSON{Raw: raw}, err
}

func (c *amcConverter) route(p string, r *amRoute) *monitoringv1alpha1.Route {
	out := &monitoringv1alpha1.Route{
		Receiver:       r.Receiver,
		GroupBy:        r.GroupBy,
		GroupWait:      nonEmptyDuration(r.GroupWait),
		GroupInterval:  nonEmptyDuration(r.GroupInterval),
		RepeatInterval: nonEmptyDuration(r.RepeatInterval),
		Matchers:       c.matchers(p+".matchers", r.Matchers),
		Continue:       r.Continue,
	}
	for i, child := range r.Routes {
		raw, err := jsonOf(c.route(fmt.Sprintf("%s.routes[%d]", p, i), child))
		if err != nil {
			c.fail(fmt.Sprintf("%s.routes[%d]", p, i), "%v", err)
			continue
		}
		out.Routes = append(out.Routes, raw)
	}
	return out
}

func nonEmptyDuration(d *model.Duration) *monitoringv1.NonEmptyDuration {
	if d == nil {
		return nil
	}
	return ptr(monitoringv1.NonEmptyDuration(d.String()))
}

// matchers parses Alertmanager matchers with Alertmanager's own parser
// into the operator's typed form, match type explicit (the operator
// renders those as matchers, not the deprecated match/match_re).
func (c *amcConverter) matchers(p string, ms []string) []monitoringv1alpha1.Matcher {
	var out []monitoringv1alpha1.Matcher
	for i, s := range ms {
		m, err := labels.ParseMatcher(s)
		if err != nil {
			c.fail(fmt.Sprintf("%s[%d]", p, i), "%v", err)
			continue
		}
		out = append(out, monitoringv1alpha1.Matcher{Name: m.Name, Value: m.Value, MatchType: monitoringv1alpha1.MatchType(m.Type.String())})
	}
	return out
}

// secret maps a *_file reference to a key of the Secret: the file's base
// name, which is the key `kubectl create secret generic --from-file=DIR`
// gives the file.
func (c *amcConverter) secret(p, file string) *corev1.SecretKeySelector {
	if file == "" {
		return nil
	}
	key := path.Base(file)
	for _, msg := range validation.IsConfigMapKey(key) {
		c.fail(p, "secret file %s: its name %q is not a valid Secret key: %s", file, key, msg)
		return nil
	}
	for other, k := range c.keys {
		if k == key && other != file {
			c.fail(p, "secret files %s and %s would both be the Secret key %q; give them different names", other, file, key)
			return nil
		}
	}
	c.keys[file] = key
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: c.o.SecretName}, Key: key}
}

func (c *amcConverter) receiver(p string, r amReceiver) monitoringv1alpha1.Receiver {
	out := monitoringv1alpha1.Receiver{Name: r.Name}
	for i, pd := range r.PagerdutyConfigs {
		q := fmt.Sprintf("%s.pagerduty_configs[%d]", p, i)
		cfg := monitoringv1alpha1.PagerDutyConfig{
			SendResolved: pd.SendResolved,
			RoutingKey:   c.secret(q+".routing_key_file", pd.RoutingKeyFile),
			ServiceKey:   c.secret(q+".service_key_file", pd.ServiceKeyFile),
			Client:       str(pd.Client),
			ClientURL:    str(pd.ClientURL),
			Description:  str(pd.Description),
			Severity:     str(pd.Severity),
			Class:        str(pd.Class),
			Component:    str(pd.Component),
			Group:        str(pd.Group),
			Source:       str(pd.Source),
			Details:      keyValues(pd.Details),
		}
		if pd.URL != "" {
			cfg.URL = ptr(monitoringv1alpha1.URL(pd.URL))
		}
		out.PagerDutyConfigs = append(out.PagerDutyConfigs, cfg)
	}
	for i, s := range r.SlackConfigs {
		q := fmt.Sprintf("%s.slack_configs[%d]", p, i)
		out.SlackConfigs = append(out.SlackConfigs, monitoringv1alpha1.SlackConfig{
			SendResolved: s.SendResolved,
			APIURL:       c.secret(q+".api_url_file", s.APIURLFile),
			Channel:      str(s.Channel),
			Username:     str(s.Username),
			Color:        str(s.Color),
			Title:        str(s.Title),
			TitleLink:    s.TitleLink,
			Pretext:      str(s.Pretext),
			Text:         str(s.Text),
			Footer:       str(s.Footer),
			Fallback:     str(s.Fallback),
			CallbackID:   str(s.CallbackID),
			IconEmoji:    str(s.IconEmoji),
			IconURL:      s.IconURL,
			ImageURL:     s.ImageURL,
			ThumbURL:     s.ThumbURL,
			ShortFields:  s.ShortFields,
			LinkNames:    s.LinkNames,
			MrkdwnIn:     s.MrkdwnIn,
		})
	}
	for i, e := range r.EmailConfigs {
		q := fmt.Sprintf("%s.email_configs[%d]", p, i)
		out.EmailConfigs = append(out.EmailConfigs, monitoringv1alpha1.EmailConfig{
			SendResolved: e.SendResolved,
			To:           str(e.To),
			From:         str(e.From),
			Hello:        str(e.Hello),
			Smarthost:    str(e.Smarthost),
			AuthUsername: str(e.AuthUsername),
			AuthPassword: c.secret(q+".auth_password_file", e.AuthPasswordFile),
			AuthIdentity: str(e.AuthIdentity),
			RequireTLS:   e.RequireTLS,
			Headers:      keyValues(e.Headers),
			HTML:         e.HTML,
			Text:         e.Text,
		})
	}
	for i, w := range r.WebhookConfigs {
		q := fmt.Sprintf("%s.webhook_configs[%d]", p, i)
		out.WebhookConfigs = append(out.WebhookConfigs, monitoringv1alpha1.WebhookConfig{
			SendResolved: w.SendResolved,
			URL:          str(w.URL),
			URLSecret:    c.secret(q+".url_file", w.URLFile),
			MaxAlerts:    w.MaxAlerts,
		})
	}
	return out
}

// str is s as an optional field: the operator's CRD refuses empty strings
// (MinLength 1) where Alertmanager would take "" as unset.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// keyValues is m as the operator's key/value list, sorted by key.
func keyValues(m map[string]string) []monitoringv1alpha1.KeyValue {
	var out []monitoringv1alpha1.KeyValue
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, monitoringv1alpha1.KeyValue{Key: k, Value: m[k]})
	}
	return out
}

func alertmanagerConfigHeader(o Options, keys []string, notes []string) string {
	lines := []string{
		"AlertmanagerConfig for the Prometheus Operator, converted from",
		FileAlertmanager + ".",
		"The operator adds its route to the Alertmanager's config as a",
		fmt.Sprintf("first-level route matching %s=%q, adds that matcher to", NamespaceLabel, o.Namespace),
		"every inhibition rule (the default OnNamespace matcher strategy), and",
		fmt.Sprintf("renames each receiver R to %s/%s/R. The alerts of the", o.Namespace, o.Name),
		"PrometheusRule beside this file carry that namespace label.",
	}
	if len(keys) > 0 {
		lines = append(lines,
			fmt.Sprintf("The receivers read their secrets from keys of the Secret %s,", o.SecretName),
			"which must exist first:",
			fmt.Sprintf("  kubectl -n %s create secret generic %s \\", o.Namespace, o.SecretName),
		)
		for i, k := range keys {
			cont := " \\"
			if i == len(keys)-1 {
				cont = ""
			}
			lines = append(lines, fmt.Sprintf("    --from-file=%s=<file>%s", k, cont))
		}
	}
	if len(notes) > 0 {
		lines = append(lines,
			"Not carried over, being settings of the Alertmanager itself (set them",
			"on the Alertmanager resource): "+joinAnd(notes)+".")
	}
	return o.Header + comment(lines...)
}

// joinAnd joins items as a list in prose: "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
