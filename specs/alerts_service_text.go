package specs

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// In a fleet one alert rule serves every service, but a service that
// overrides a level's threshold is compared with its own value, and its
// alerts must quote that value, not the fleet's default. The texts are
// the families' own (Alert.Text, written with the pack's one formatter):
// the families are built once more for each distinct set of per-service
// thresholds, and where such a build words an alert differently from the
// default, the rule's annotation chooses the wording by the service
// label: {{ if eq $labels.service "a" "b" }}…{{ else }}…{{ end }}. That
// is plain text/template, so it renders the same on Prometheus (2.x and
// 3.x, promtool), vmalert and Cortex, needs no query at notification
// time, and costs nothing for a service that keeps the defaults.

// textVariant is the alerts of the services that share one set of
// thresholds different from the fleet's default.
type textVariant struct {
	// services are the names of the services with these thresholds, in
	// config order.
	services []string
	// first is the index of the first of them.
	first int
	// alerts are the families' alerts built with these thresholds, by name.
	alerts map[string]Alert
	// cases are the rule tests of the alerts whose text differs from the
	// default, on the series of the first service (nil unless tested).
	cases []rules.TestCase
}

// serviceVariants builds the alerts of every distinct set of per-service
// thresholds of a fleet. With tests, the first variant carries rule tests
// of its first service: of the alerts whose text differs from the
// default, or of every alert when no service keeps the defaults (then
// the default alerts have no tests of their own).
func serviceVariants(c Config, o buildOptions, panels []Panel, defaults map[string]Alert) []textVariant {
	if !c.Fleet() {
		return nil
	}
	var out []textVariant
	var ts []Thresholds
	for i, s := range c.Services {
		if s.Thresholds == nil {
			continue
		}
		t := c.ServiceThresholds(i)
		if reflect.DeepEqual(t, c.Thresholds) {
			continue
		}
		found := false
		for k := range ts {
			if reflect.DeepEqual(ts[k], t) {
				out[k].services = append(out[k].services, s.Name)
				found = true
			}
		}
		if found {
			continue
		}
		ts = append(ts, t)
		out = append(out, textVariant{services: []string{s.Name}, first: i})
	}
	for k := range out {
		v := &out[k]
		ci := c
		ci.Thresholds = ts[k]
		e := &Env{Config: ci, Query: newQuery(c), rb: rbNewContext(ci, panels)}
		test := !o.noTests && k == 0
		if test {
			e.tests = newFleetTestKit(ci, v.first)
		}
		all := fleetTestService(c) < 0
		v.alerts = map[string]Alert{}
		for _, f := range familiesOf(e, o.families) {
			for _, a := range f.Alerts {
				v.alerts[a.Name] = a
				if test && (all || textDiffers(a, defaults[a.Name])) {
					v.cases = append(v.cases, a.Cases...)
				}
			}
			if test && all {
				v.cases = append(v.cases, f.Cases...)
			}
		}
		for i := range v.cases {
			v.cases[i].Name = fmt.Sprintf("service %s, with its own thresholds: %s", v.services[0], v.cases[i].Name)
		}
	}
	return out
}

// valueTemplate and labelTemplate write the observed value and a label
// in a rule's annotations.
func valueTemplate(a Alert) string { return "{{ $value | " + a.Humanize + " }}" }

func labelTemplate(l string) string { return "{{ $labels." + l + " }}" }

// textDiffers reports whether a and b (the same alert built with
// different thresholds) word their annotations differently.
func textDiffers(a, b Alert) bool {
	as, ad := a.texts(valueTemplate(a), labelTemplate)
	bs, bd := b.texts(valueTemplate(b), labelTemplate)
	return as != bs || ad != bd
}

// serviceText is a's summary and description as rule templates: the
// default wording, or, for the services of a variant that words a
// differently, theirs.
func serviceText(a Alert, variants []textVariant) (summary, description string) {
	summary, description = a.texts(valueTemplate(a), labelTemplate)
	var sums, descs []string // "{{ if … }}text" branches
	for _, v := range variants {
		va, ok := v.alerts[a.Name]
		if !ok {
			continue
		}
		s, d := va.texts(valueTemplate(va), labelTemplate)
		cond := "{{ if eq $labels." + LabelService
		for _, name := range v.services {
			cond += fmt.Sprintf(" %q", name)
		}
		cond += " }}"
		if s != summary {
			sums = append(sums, cond+s)
		}
		if d != description {
			descs = append(descs, cond+d)
		}
	}
	return branches(sums, summary), branches(descs, description)
}

// branches joins "{{ if … }}text" branches into one if/else-if chain
// ending in def; with no branch it is def itself.
func branches(bs []string, def string) string {
	if len(bs) == 0 {
		return def
	}
	var b strings.Builder
	for i, br := range bs {
		if i > 0 {
			br = "{{ else " + strings.TrimPrefix(br, "{{ ")
		}
		b.WriteString(br)
	}
	b.WriteString("{{ else }}" + def + "{{ end }}")
	return b.String()
}
