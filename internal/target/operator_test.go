package target

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/dbmonctl/dbmonctl/internal/tooltest"
	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// operatorFilesOf converts files for the operator and decodes both
// manifests strictly into the operator's types, as the API server's
// decoder does with unknown fields refused.
func operatorFilesOf(t *testing.T, files map[string][]byte, o Options) (*monitoringv1.PrometheusRule, *monitoringv1alpha1.AlertmanagerConfig) {
	t.Helper()
	out := apply(t, files, []string{PrometheusOperator}, o)
	var pr monitoringv1.PrometheusRule
	if err := sigsyaml.UnmarshalStrict(out[FilePrometheusRule], &pr); err != nil {
		t.Fatalf("%s does not decode strictly into a PrometheusRule: %v", FilePrometheusRule, err)
	}
	var amc monitoringv1alpha1.AlertmanagerConfig
	if err := sigsyaml.UnmarshalStrict(out[FileAlertmanagerConfig], &amc); err != nil {
		t.Fatalf("%s does not decode strictly into an AlertmanagerConfig: %v", FileAlertmanagerConfig, err)
	}
	return &pr, &amc
}

func TestPrometheusRuleIsTheRulesWithTheNamespaceLabel(t *testing.T) {
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			o := p.o
			o.Namespace = "payments"
			pr, _ := operatorFilesOf(t, p.files, o)
			if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
				t.Errorf("apiVersion %q kind %q", pr.APIVersion, pr.Kind)
			}
			wantLabels := map[string]string{"app.kubernetes.io/managed-by": "dbmonctl", "release": "prometheus"}
			if pr.Name != DefaultName || pr.Namespace != "payments" || !maps.Equal(pr.Labels, wantLabels) {
				t.Errorf("metadata %s/%s %v, want payments/%s %v", pr.Namespace, pr.Name, pr.Labels, DefaultName, wantLabels)
			}
			// What the operator does before it writes a rule file: marshal
			// the spec and load it with Prometheus' rulefmt.
			content, err := sigsyaml.Marshal(pr.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if errs := rules.Validate("spec", content); len(errs) > 0 {
				t.Fatalf("the operator would refuse the rules: %v\n%s", errs, content)
			}
			// The same rules, with namespace="payments" on each alert and
			// every group's interval written out.
			want := parseRuleGroups(t, p.files[FileRules])
			for gi := range want {
				if want[gi].Interval == 0 {
					want[gi].Interval = model.Duration(o.EvaluationInterval)
				}
				for ri, r := range want[gi].Rules {
					if r.Alert != "" {
						l := maps.Clone(r.Labels)
						if l == nil {
							l = map[string]string{}
						}
						l[NamespaceLabel] = "payments"
						want[gi].Rules[ri].Labels = l
					}
				}
			}
			if got := parseRuleGroups(t, content); !reflect.DeepEqual(got, want) {
				t.Errorf("rules differ:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestPrometheusRuleLoadsInPromtool(t *testing.T) {
	pr, _ := operatorFilesOf(t, pack(t), testOptions())
	content, err := sigsyaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tool := range tooltest.All(t, tooltest.Promtool) {
		if stdout, stderr, err := run(dir, tool.Path, nil, "check", "rules", "rules.yml"); err != nil {
			t.Errorf("promtool (%s) check rules: %v\n%s%s", tool.Name, err, stdout, stderr)
		}
	}
}

// operatorBase is the Alertmanager's own config the operator merges
// AlertmanagerConfigs into: kube-prometheus-stack's default, a root that
// groups by namespace and sends to a receiver that does nothing.
const operatorBase = `global:
  resolve_timeout: 5m
route:
  receiver: "null"
  group_by: [namespace]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  routes:
    - receiver: "null"
      matchers:
        - alertname="Watchdog"
receivers:
  - name: "null"
`

// secretsOf is the Secret a user creates from the secret files the
// plain config references (kubectl create secret generic --from-file=DIR),
// with made-up values of the right shape.
func secretsOf(t *testing.T, plain []byte, secretName string) secretStore {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(plain, &doc); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"api_url_file":       "https://hooks.slack.com/services/T0/B0/secret",
		"url_file":           "https://hooks.example.com/secret",
		"routing_key_file":   "0123456789abcdef0123456789abcdef",
		"service_key_file":   "0123456789abcdef0123456789abcdef",
		"auth_password_file": "secret",
	}
	store := secretStore{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, val := range v {
				if file, ok := val.(string); ok && strings.HasSuffix(k, "_file") {
					value, known := values[k]
					if !known {
						t.Fatalf("no made-up value for %s", k)
					}
					store[secretName+"/"+path.Base(file)] = value
				}
				walk(val)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return store
}

// alertLabels are the label sets the pack's alerts fire with: those its
// rule tests expect (alertname added), and each alerting rule's own labels
// on a series of job "app".
func alertLabels(t *testing.T, files map[string][]byte) []map[string]string {
	t.Helper()
	var tests promtoolTests
	if err := yaml.Unmarshal(files[FileRuleTests], &tests); err != nil {
		t.Fatal(err)
	}
	seen := map[model.Fingerprint]bool{}
	var out []map[string]string
	add := func(l map[string]string) {
		fp := labelSet(l).Fingerprint()
		if !seen[fp] {
			seen[fp] = true
			out = append(out, l)
		}
	}
	for _, tg := range tests.Tests {
		for _, at := range tg.AlertRuleTests {
			for _, a := range at.ExpAlerts {
				l := maps.Clone(a.ExpLabels)
				if l == nil {
					l = map[string]string{}
				}
				l["alertname"] = at.Alertname
				add(l)
			}
		}
	}
	for _, g := range parseRuleGroups(t, files[FileRules]) {
		for _, r := range g.Rules {
			if r.Alert != "" {
				l := maps.Clone(r.Labels)
				if l == nil {
					l = map[string]string{}
				}
				l["alertname"], l["job"] = r.Alert, "app"
				add(l)
			}
		}
	}
	return out
}

func labelSet(l map[string]string) model.LabelSet {
	ls := model.LabelSet{}
	for k, v := range l {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// underOperator is an alert's labels as Prometheus sends them when it
// evaluates the PrometheusRule: the labels of the rule added. With
// enforcedNamespaceLabel set, the operator also sets that label to the
// resource's namespace.
func underOperator(t *testing.T, pr *monitoringv1.PrometheusRule, l map[string]string, enforcedNamespaceLabel string) map[string]string {
	t.Helper()
	out := maps.Clone(l)
	found := false
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == l["alertname"] {
				maps.Copy(out, r.Labels)
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the PrometheusRule has no alert %s", l["alertname"])
	}
	if enforcedNamespaceLabel != "" {
		out[enforcedNamespaceLabel] = pr.Namespace
	}
	return out
}

func receiverNames(rs []*dispatch.Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.RouteOpts.Receiver)
	}
	return out
}

// TestOperatorRoutesAndInhibitsLikeThePlainConfig converts the
// AlertmanagerConfig the way the operator does (operator_model_test.go),
// loads the result with Alertmanager's loader and amtool, and checks that
// every alert of the pack, labelled as Prometheus sends it from the
// PrometheusRule, reaches the receivers the plain alertmanager.yml gives
// it (renamed <namespace>/<name>/R), with the same grouping and timing;
// that alerts of another namespace do not; that every receiver is the
// plain one; and that inhibitions mute what they mute in the plain config.
func TestOperatorRoutesAndInhibitsLikeThePlainConfig(t *testing.T) {
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			o := p.o.withDefaults()
			pr, amc := operatorFilesOf(t, p.files, p.o)
			plain := p.files[FileAlertmanager]
			merged := operatorAlertmanagerConfig(t, operatorBase, amc, secretsOf(t, plain, o.SecretName))
			plainCfg, err := config.Load(string(plain))
			if err != nil {
				t.Fatal(err)
			}
			opCfg, err := config.Load(string(merged))
			if err != nil {
				t.Fatalf("Alertmanager refuses the operator's config: %v\n%s", err, merged)
			}
			plainRoot, opRoot := dispatch.NewRoute(plainCfg.Route, nil), dispatch.NewRoute(opCfg.Route, nil)
			rename := func(rs []string) []string {
				out := make([]string, len(rs))
				for i, r := range rs {
					out[i] = prefixed(o.Namespace, o.Name, r)
				}
				return out
			}

			var amtoolTests []alertmanager.RouteTest
			for _, l := range alertLabels(t, p.files) {
				for _, enforced := range []string{"", NamespaceLabel} {
					sent := underOperator(t, pr, l, enforced)
					if sent[NamespaceLabel] != o.Namespace {
						t.Fatalf("alert %v is sent with %s=%q, want %q", sent, NamespaceLabel, sent[NamespaceLabel], o.Namespace)
					}
					want, got := plainRoot.Match(labelSet(l)), opRoot.Match(labelSet(sent))
					if !slices.Equal(receiverNames(got), rename(receiverNames(want))) {
						t.Errorf("alert %v: receivers %v, want %v", sent, receiverNames(got), rename(receiverNames(want)))
						continue
					}
					for i := range want {
						w, g := want[i].RouteOpts, got[i].RouteOpts
						if !maps.Equal(w.GroupBy, g.GroupBy) || w.GroupByAll != g.GroupByAll || w.GroupWait != g.GroupWait || w.GroupInterval != g.GroupInterval || w.RepeatInterval != g.RepeatInterval {
							t.Errorf("alert %v, receiver %s: route options %v, want %v", sent, g.Receiver, g, w)
						}
					}
					if enforced == "" {
						amtoolTests = append(amtoolTests, alertmanager.RouteTest{Name: fmt.Sprint(sent), Labels: sent, Receivers: rename(receiverNames(want))})
					}
				}
				// Alerts of another namespace, or without the label, never
				// reach these receivers: the label is what routes them.
				other := underOperator(t, pr, l, "")
				other[NamespaceLabel] = "elsewhere"
				bare := maps.Clone(l)
				delete(bare, NamespaceLabel)
				for _, a := range []map[string]string{other, bare} {
					if got := receiverNames(opRoot.Match(labelSet(a))); !slices.Equal(got, []string{"null"}) {
						t.Errorf("alert %v reaches %v, want only the Alertmanager's own null receiver", a, got)
					}
				}
			}
			if len(amtoolTests) == 0 {
				t.Fatal("no alert to route")
			}
			if res := alertmanager.RunRouteTests(merged, amtoolTests); res.Failed > 0 {
				t.Error(res.Err())
			}
			// amtool (0.25 and current) on the merged config: check-config,
			// and a route test for the first alert of each receiver list.
			byReceivers := map[string]alertmanager.RouteTest{}
			for _, rt := range amtoolTests {
				k := strings.Join(rt.Receivers, ",")
				if _, ok := byReceivers[k]; !ok {
					byReceivers[k] = rt
				}
			}
			tooltest.CheckAlertmanager(t, merged, slices.Collect(maps.Values(byReceivers)))

			checkReceivers(t, plainCfg, opCfg, o)
			checkInhibitions(t, plain, merged, alertLabels(t, p.files), func(l map[string]string) map[string]string { return underOperator(t, pr, l, "") })
		})
	}
}

// checkReceivers compares each plain receiver with its operator twin,
// both as Alertmanager loaded them, secrets aside (a file path in one, the
// Secret's value in the other).
func checkReceivers(t *testing.T, plainCfg, opCfg *config.Config, o Options) {
	t.Helper()
	ops := map[string]config.Receiver{}
	for _, r := range opCfg.Receivers {
		ops[r.Name] = r
	}
	for _, r := range plainCfg.Receivers {
		op, ok := ops[prefixed(o.Namespace, o.Name, r.Name)]
		if !ok {
			t.Errorf("receiver %s has no operator twin", r.Name)
			continue
		}
		op.Name = r.Name
		if _, ok := op.Labels["name"]; ok { // the loader labels a receiver with its name
			op.Labels = maps.Clone(op.Labels)
			op.Labels["name"] = r.Labels["name"]
		}
		withoutSecrets(reflect.ValueOf(&r).Elem(), reflect.ValueOf(&op).Elem())
		if !reflect.DeepEqual(r, op) {
			a, _ := yaml.Marshal(r)
			b, _ := yaml.Marshal(op)
			t.Errorf("receiver %s differs under the operator:\nplain:\n%s\noperator:\n%s", r.Name, a, b)
		}
	}
}

// withoutSecrets zeroes, in two parallel values, every field F whose twin
// F+"File" is set in the plain one, and that twin.
func withoutSecrets(plain, op reflect.Value) {
	switch plain.Kind() {
	case reflect.Pointer:
		if !plain.IsNil() && !op.IsNil() {
			withoutSecrets(plain.Elem(), op.Elem())
		}
	case reflect.Slice:
		for i := 0; i < plain.Len() && i < op.Len(); i++ {
			withoutSecrets(plain.Index(i), op.Index(i))
		}
	case reflect.Struct:
		for i := range plain.NumField() {
			f := plain.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if file := plain.FieldByName(f.Name + "File"); file.IsValid() && file.Kind() == reflect.String && file.String() != "" {
				for _, v := range []reflect.Value{plain, op} {
					v.Field(i).SetZero()
					v.FieldByName(f.Name + "File").SetZero()
				}
				continue
			}
			withoutSecrets(plain.Field(i), op.Field(i))
		}
	}
}

// checkInhibitions fires every pair of the pack's alerts together and
// asks Alertmanager's own inhibitor which it mutes: in the plain config,
// and in the operator's with the alerts as the PrometheusRule sends them.
// The answers must agree. A source alert of another namespace mutes
// nothing under the operator.
func checkInhibitions(t *testing.T, plain, merged []byte, alerts []map[string]string, sent func(map[string]string) map[string]string) {
	t.Helper()
	mutedIn := func(cfg []byte, a, b map[string]string) []map[string]string {
		for _, muted := range [][]map[string]string{nil, {b}, {a}, {a, b}} {
			res := alertmanager.RunInhibitionTests(cfg, []alertmanager.InhibitionTest{{Name: "pair", Firing: []map[string]string{a, b}, Muted: muted}})
			if res.Failed == 0 {
				return muted
			}
		}
		t.Fatalf("no answer for %v and %v", a, b)
		return nil
	}
	inhibiting := 0
	for i, a := range alerts {
		for _, b := range alerts[i+1:] {
			want := mutedIn(plain, a, b)
			sa, sb := sent(a), sent(b)
			var wantSent []map[string]string
			for _, m := range want {
				wantSent = append(wantSent, sent(m))
			}
			if got := mutedIn(merged, sa, sb); !reflect.DeepEqual(got, wantSent) {
				t.Errorf("%v and %v firing: the operator's config mutes %v, the plain one %v", sa, sb, got, want)
			}
			if len(want) == 1 {
				inhibiting++
				source := sa
				if reflect.DeepEqual(want[0], a) {
					source = sb
				}
				elsewhere := maps.Clone(source)
				elsewhere[NamespaceLabel] = "elsewhere"
				target := wantSent[0]
				if got := mutedIn(merged, elsewhere, target); got != nil {
					t.Errorf("%v in another namespace mutes %v", elsewhere, got)
				}
			}
		}
	}
	if inhibiting == 0 {
		t.Error("no pair of alerts inhibits: the test proves nothing")
	}
}

func TestAlertmanagerConfigPassesTheOperatorsValidation(t *testing.T) {
	for _, p := range packs(t) {
		t.Run(p.name, func(t *testing.T) {
			_, amc := operatorFilesOf(t, p.files, p.o)
			if err := validateAlertmanagerConfig(amc); err != nil {
				t.Fatal(err)
			}
			if amc.APIVersion != "monitoring.coreos.com/v1alpha1" || amc.Kind != "AlertmanagerConfig" {
				t.Errorf("apiVersion %q kind %q", amc.APIVersion, amc.Kind)
			}
		})
	}
}

// TestTheNamespaceLabelIsWhatRoutes shows the routing test can fail: a
// PrometheusRule whose alerts lacked the label would reach none of the
// receivers under the operator.
func TestTheNamespaceLabelIsWhatRoutes(t *testing.T) {
	files := fixture(t)
	pr, amc := operatorFilesOf(t, files, testOptions())
	merged := operatorAlertmanagerConfig(t, operatorBase, amc, secretsOf(t, files[FileAlertmanager], DefaultSecretName))
	for gi := range pr.Spec.Groups {
		for ri := range pr.Spec.Groups[gi].Rules {
			delete(pr.Spec.Groups[gi].Rules[ri].Labels, NamespaceLabel)
		}
	}
	l := underOperator(t, pr, map[string]string{"alertname": "ErrorsHigh", "job": "api"}, "")
	res := alertmanager.RunRouteTests(merged, []alertmanager.RouteTest{{Name: "no namespace", Labels: l, Receivers: []string{"null"}}})
	if res.Failed > 0 {
		t.Fatal(res.Err())
	}
}

func TestAlertmanagerConfigRefusesWhatItCannotCarry(t *testing.T) {
	const receivers = "receivers:\n  - name: r\n    slack_configs:\n      - api_url_file: /s/slack\n        channel: '#a'\n"
	for _, tt := range []struct {
		name, config, want string
	}{
		{"an inline secret",
			"route:\n  receiver: r\n  group_by: [job]\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: https://hooks.slack.com/x\n",
			"alertmanager/alertmanager.yml:7:9: receivers[0].slack_configs[0].api_url: an inline secret; the prometheus-operator target takes secrets only as api_url_file"},
		{"templates, which the Alertmanager resource owns",
			"templates: [x.tmpl]\nroute:\n  receiver: r\n  group_by: [job]\n" + receivers,
			"alertmanager/alertmanager.yml:1:1: templates: not supported by the prometheus-operator target"},
		{"a field the conversion does not know",
			"route:\n  receiver: r\n  group_by: [job]\n  routes:\n    - receiver: r\n      active_time_intervals: [night]\ntime_intervals:\n  - name: night\n    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]\n" + receivers,
			"alertmanager/alertmanager.yml:6:7: route.routes[0].active_time_intervals: not supported"},
		{"a root route without group_by",
			"route:\n  receiver: r\n" + receivers,
			"route.group_by: is empty: the AlertmanagerConfig's route would inherit the group_by of the Alertmanager's own root route"},
		{"two secret files of one name",
			"route:\n  receiver: r\n  group_by: [job]\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url_file: /a/key\n        channel: '#a'\n      - api_url_file: /b/key\n        channel: '#b'\n",
			"secret files /a/key and /b/key would both be the Secret key \"key\""},
		{"a config Alertmanager refuses",
			"route:\n  receiver: missing\n  group_by: [job]\n" + receivers,
			`alertmanager/alertmanager.yml: route.receiver: undefined receiver "missing" used in route`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := fixture(t)
			files[FileAlertmanager] = []byte(tt.config)
			_, err := Apply(files, []string{PrometheusOperator}, testOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPrometheusRuleRefusesAnotherNamespaceLabel(t *testing.T) {
	files := fixture(t)
	files[FileRules] = []byte("groups:\n  - name: g\n    interval: 1m\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          namespace: other\n")
	_, err := Apply(files, []string{PrometheusOperator}, testOptions())
	want := `alert A: label namespace="other" differs from the namespace "monitoring" the AlertmanagerConfig routes on`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	o := testOptions()
	o.Namespace = "other"
	if _, err := Apply(files, []string{PrometheusOperator}, o); err != nil {
		t.Errorf("the same namespace is fine: %v", err)
	}
}
