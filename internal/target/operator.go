package target

import (
	"fmt"
	"maps"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/rulefmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceLabel is the label the operator's OnNamespace matcher strategy
// matches and enforcedNamespaceLabel usually names: every alerting rule of
// the PrometheusRule carries it, set to the resources' namespace.
const NamespaceLabel = "namespace"

func operatorFiles(files map[string][]byte, o Options) (map[string][]byte, error) {
	groups, err := parseRules(files)
	if err != nil {
		return nil, err
	}
	pr, err := prometheusRule(groups, o)
	if err != nil {
		return nil, err
	}
	prData, err := renderManifest(pr, prometheusRuleHeader(o))
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", FilePrometheusRule, err)
	}
	amData, err := input(files, FileAlertmanager)
	if err != nil {
		return nil, err
	}
	amc, header, err := alertmanagerConfig(amData, o)
	if err != nil {
		return nil, err
	}
	amcData, err := renderManifest(amc, header)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", FileAlertmanagerConfig, err)
	}
	return map[string][]byte{FilePrometheusRule: prData, FileAlertmanagerConfig: amcData}, nil
}

// objectMeta is the metadata of both resources.
func objectMeta(o Options) metav1.ObjectMeta {
	labels := map[string]string{labelManagedBy: managedBy}
	maps.Copy(labels, o.Labels)
	return metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels}
}

// prometheusRule converts the rule groups field by field. Each alerting
// rule gets the namespace label: the AlertmanagerConfig's routes and
// inhibitions only see alerts that carry it, and a rule's labels are the
// only place Prometheus 2 and 3 both accept (group labels need 3.0; the
// operator drops them for older servers).
func prometheusRule(groups []rulefmt.RuleGroup, o Options) (*monitoringv1.PrometheusRule, error) {
	pr := &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: objectMeta(o),
	}
	for _, g := range groups {
		iv, err := interval(g, o)
		if err != nil {
			return nil, err
		}
		rg := monitoringv1.RuleGroup{
			Name:     g.Name,
			Labels:   g.Labels,
			Interval: ptr(monitoringv1.Duration(iv.String())),
		}
		if g.QueryOffset != nil {
			rg.QueryOffset = ptr(monitoringv1.Duration(g.QueryOffset.String()))
		}
		if g.Limit != 0 {
			rg.Limit = ptr(g.Limit)
		}
		for _, r := range g.Rules {
			rule := monitoringv1.Rule{
				Record:      r.Record,
				Alert:       r.Alert,
				Expr:        intstr.FromString(r.Expr),
				Labels:      maps.Clone(r.Labels),
				Annotations: r.Annotations,
			}
			if r.For != 0 {
				rule.For = ptr(monitoringv1.Duration(r.For.String()))
			}
			if r.KeepFiringFor != 0 {
				rule.KeepFiringFor = ptr(monitoringv1.NonEmptyDuration(r.KeepFiringFor.String()))
			}
			if r.Alert != "" {
				if v, ok := r.Labels[NamespaceLabel]; ok && v != o.Namespace {
					return nil, fmt.Errorf("%s: group %q: alert %s: label %s=%q differs from the namespace %q the AlertmanagerConfig routes on", FileRules, g.Name, r.Alert, NamespaceLabel, v, o.Namespace)
				}
				if rule.Labels == nil {
					rule.Labels = map[string]string{}
				}
				rule.Labels[NamespaceLabel] = o.Namespace
			}
			rg.Rules = append(rg.Rules, rule)
		}
		pr.Spec.Groups = append(pr.Spec.Groups, rg)
	}
	return pr, nil
}

func prometheusRuleHeader(o Options) string {
	return o.Header + comment(
		"PrometheusRule for the Prometheus Operator, converted from",
		FileRules+".",
		fmt.Sprintf("Every alert carries %s=%q: the AlertmanagerConfig", NamespaceLabel, o.Namespace),
		"beside this file routes only the alerts of its own namespace. A",
		"Prometheus with enforcedNamespaceLabel sets the same label and also",
		"restricts every query to series of this namespace: the application",
		"must then be scraped in this namespace. The Prometheus resource's",
		"ruleSelector must select this resource's labels (kube-prometheus-stack:",
		"release=<Helm release>).",
	)
}

func ptr[T any](v T) *T { return &v }
