package target

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The targets.
const (
	Prometheus         = "prometheus"
	PrometheusOperator = "prometheus-operator"
	VMAlert            = "vmalert"
	ThanosRuler        = "thanos-ruler"
)

// Names lists every target, in the order help text shows them.
func Names() []string {
	return []string{Prometheus, PrometheusOperator, VMAlert, ThanosRuler}
}

// The rendered files the targets are built from, relative to the output
// directory.
const (
	FileRules        = "prometheus/alerts.yml"
	FileRuleTests    = "prometheus/alerts_test.yml"
	FilePrometheus   = "prometheus/prometheus.yml"
	FileAlertmanager = "alertmanager/alertmanager.yml"
)

// The files the other targets write.
const (
	FilePrometheusRule     = "prometheus-operator/prometheusrule.yaml"
	FileAlertmanagerConfig = "prometheus-operator/alertmanagerconfig.yaml"
	FileVMAlertRules       = "vmalert/alerts.yml"
	FileVMAlertTests       = "vmalert/alerts_test.yml"
	FileThanosRules        = "thanos-ruler/alerts.yml"
)

// The directories of the prometheus target: the engine files every other
// target converts or replaces.
const (
	dirPrometheus   = "prometheus/"
	dirAlertmanager = "alertmanager/"
)

// Defaults of Options.
const (
	DefaultName       = "dbmonctl"
	DefaultNamespace  = "monitoring"
	DefaultSecretName = "dbmonctl-alertmanager"
)

// managedBy is the Kubernetes recommended label every manifest carries, so
// `kubectl get prometheusrule -l app.kubernetes.io/managed-by=dbmonctl`
// finds them; a label given in Options replaces it.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "dbmonctl"
)

// Options are the settings the targets need besides the rendered files.
type Options struct {
	// Name is metadata.name of the PrometheusRule and the
	// AlertmanagerConfig; the operator prefixes every receiver with
	// "<namespace>/<name>/". Empty means DefaultName.
	Name string
	// Namespace is the namespace of both resources, and so the value of
	// the namespace label the operator's OnNamespace matcher strategy
	// routes on. Empty means DefaultNamespace.
	Namespace string
	// Labels are added to the metadata of both resources: what the
	// Prometheus ruleSelector (kube-prometheus-stack: release=<release>)
	// and the Alertmanager alertmanagerConfigSelector select on.
	Labels map[string]string
	// SecretName is the Kubernetes Secret the AlertmanagerConfig's
	// receivers read their secrets from, one key per secret file the
	// Alertmanager config references. Empty means DefaultSecretName.
	SecretName string
	// EvaluationInterval is the pack's rule evaluation interval (Prometheus'
	// global evaluation_interval). Engines default to other intervals, so
	// a group without its own interval gets this one in their files.
	EvaluationInterval time.Duration
	// ScrapeInterval is how often the pack's metrics are scraped; vmalert's
	// -datasource.queryStep must be at least twice it.
	ScrapeInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.SecretName == "" {
		o.SecretName = DefaultSecretName
	}
	return o
}

// Check reports every problem with the target names and options, in the
// words of a command-line user: an unknown target, a namespace, name,
// label or Secret name Kubernetes would refuse.
func Check(names []string, o Options) error {
	o = o.withDefaults()
	var errs []error
	if len(names) == 0 {
		errs = append(errs, errors.New("no target given; known targets: "+strings.Join(Names(), ", ")))
	}
	for _, n := range names {
		if !slices.Contains(Names(), n) {
			errs = append(errs, fmt.Errorf("unknown target %q; known targets: %s", n, strings.Join(Names(), ", ")))
		}
	}
	for _, msg := range validation.IsDNS1123Label(o.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: %s", o.Namespace, msg))
	}
	for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
		errs = append(errs, fmt.Errorf("name %q: %s", o.Name, msg))
	}
	for _, msg := range validation.IsDNS1123Subdomain(o.SecretName) {
		errs = append(errs, fmt.Errorf("secret name %q: %s", o.SecretName, msg))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(o.Labels[k]) {
			errs = append(errs, fmt.Errorf("label %s value %q: %s", k, o.Labels[k], msg))
		}
	}
	if o.EvaluationInterval < 0 {
		errs = append(errs, fmt.Errorf("evaluation interval must not be negative, got %s", o.EvaluationInterval))
	}
	if o.ScrapeInterval < 0 {
		errs = append(errs, fmt.Errorf("scrape interval must not be negative, got %s", o.ScrapeInterval))
	}
	return errors.Join(errs...)
}

// Apply returns the files of the named targets, built from files, the
// rendered pack (relative path → content) that the prometheus target is.
// Files of no engine pass through; the prometheus/ and alertmanager/
// files are kept only when a selected target uses them. With only the
// prometheus target, the result holds exactly the bytes of files.
//
// A conversion that cannot carry a field over fails with an error naming
// the rendered file, line, column and field; nothing is dropped silently.
func Apply(files map[string][]byte, names []string, o Options) (map[string][]byte, error) {
	if err := Check(names, o); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	out := map[string][]byte{}
	for p, data := range files {
		if !strings.HasPrefix(p, dirPrometheus) && !strings.HasPrefix(p, dirAlertmanager) {
			out[p] = data
		}
	}
	keep := func(dir string) {
		for p, data := range files {
			if strings.HasPrefix(p, dir) {
				out[p] = data
			}
		}
	}
	for _, n := range Names() { // a fixed order, and each target once
		if !slices.Contains(names, n) {
			continue
		}
		var made map[string][]byte
		var err error
		switch n {
		case Prometheus:
			keep(dirPrometheus)
			keep(dirAlertmanager)
			continue
		case PrometheusOperator:
			made, err = operatorFiles(files, o)
		case VMAlert:
			keep(dirAlertmanager)
			made, err = vmalertFiles(files, o)
		case ThanosRuler:
			keep(dirAlertmanager)
			made, err = thanosFiles(files, o)
		}
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", n, err)
		}
		maps.Copy(out, made)
	}
	return out, nil
}

// known are the engine files the other targets were written for: the
// rules, their tests and the Alertmanager config they convert, and the
// Prometheus server's own config, which the other engines replace with
// their flags. Any other file in the engine directories would be left
// behind by a conversion without a word, so it stops the conversion.
var known = []string{FileRules, FileRuleTests, FilePrometheus, FileAlertmanager}

// input returns the rendered file name, after checking that the engine
// directories hold no file the conversions do not know.
func input(files map[string][]byte, name string) ([]byte, error) {
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if (strings.HasPrefix(p, dirPrometheus) || strings.HasPrefix(p, dirAlertmanager)) && !slices.Contains(known, p) {
			return nil, fmt.Errorf("%s has no conversion (known files: %s); it would be left out", p, strings.Join(known, ", "))
		}
	}
	data, ok := files[name]
	if !ok {
		return nil, fmt.Errorf("the rendered pack has no %s to convert", name)
	}
	return data, nil
}

// ruleFileName is the name the rules have beside their tests: tests name
// their rule files relative to themselves.
var ruleFileName = path.Base(FileRules)
