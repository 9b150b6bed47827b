// Package promcheck proves that a PromQL expression parses and names only
// series and labels the dbmonctl middleware exports. Rules, panels and the
// validate command share it, so "a panel or alert can only use a metric the
// middleware emits" is checked in one place.
package promcheck

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Known is the set of series a query may name.
type Known struct {
	// metrics maps every selectable metric name (histograms expanded to
	// _bucket, _sum and _count) to the label names it carries.
	metrics map[string]map[string]bool
	// histograms maps a _bucket series name to its family.
	buckets map[string]bool
	// target are labels every scraped series carries (job, instance) or
	// that the pack adds (identity labels).
	target map[string]bool
}

// FromContract builds Known from the middleware's contract. targetLabels are
// the labels Prometheus attaches to every scraped series (job and instance
// are always included) and the spec's identity labels.
func FromContract(descs []middleware.MetricDesc, targetLabels ...string) Known {
	k := Known{metrics: map[string]map[string]bool{}, buckets: map[string]bool{}, target: map[string]bool{"job": true, "instance": true}}
	for _, l := range targetLabels {
		k.target[l] = true
	}
	for _, d := range descs {
		ls := map[string]bool{}
		for _, l := range d.Labels {
			ls[l] = true
		}
		if d.Kind == middleware.KindHistogram {
			withLE := map[string]bool{middleware.LabelLE: true}
			for l := range ls {
				withLE[l] = true
			}
			k.metrics[d.Name+"_bucket"] = withLE
			k.buckets[d.Name+"_bucket"] = true
			k.metrics[d.Name+"_sum"] = ls
			k.metrics[d.Name+"_count"] = ls
			continue
		}
		k.metrics[d.Name] = ls
	}
	return k
}

// Default is Known for the middleware's contract with the default target labels.
func Default(identityLabels ...string) Known {
	return FromContract(middleware.Contract(), identityLabels...)
}

// Use is what one expression reads.
type Use struct {
	// Metrics are the metric names selected, sorted, deduplicated.
	Metrics []string
	// LE are the values of le matchers on histogram bucket series, as written.
	LE []string
}

var newParser = parser.NewParser(parser.Options{})

// Parse parses expr with the Prometheus parser.
func Parse(expr string) (parser.Expr, error) {
	return newParser.ParseExpr(expr)
}

// Check parses expr and reports, as plain messages, every metric that the
// middleware does not export and every label that the selected metrics do
// not carry (in matchers, by/without and on/ignoring clauses).
func (k Known) Check(expr string) (Use, []string) {
	e, err := Parse(expr)
	if err != nil {
		return Use{}, []string{fmt.Sprintf("PromQL does not parse: %v", err)}
	}
	var problems []string
	metrics := map[string]bool{}
	le := map[string]bool{}
	// labels carried by any metric of the expression: grouping clauses may
	// name any of them.
	carried := map[string]bool{}
	for l := range k.target {
		carried[l] = true
	}
	var grouping [][]string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name := n.Name
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				problems = append(problems, fmt.Sprintf("selector %s names no metric", n.String()))
				return nil
			}
			metrics[name] = true
			ls, ok := k.metrics[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("metric %q is not exported by any metric contract (the middleware's or an exporter's)", name))
				return nil
			}
			for l := range ls {
				carried[l] = true
			}
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName {
					continue
				}
				if !ls[m.Name] && !k.target[m.Name] {
					problems = append(problems, fmt.Sprintf("metric %q has no label %q", name, m.Name))
				}
				if m.Name == middleware.LabelLE && k.buckets[name] {
					le[m.Value] = true
				}
			}
		case *parser.AggregateExpr:
			grouping = append(grouping, n.Grouping)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				grouping = append(grouping, n.VectorMatching.MatchingLabels, n.VectorMatching.Include)
			}
		}
		return nil
	})
	for _, g := range grouping {
		for _, l := range g {
			if !carried[l] {
				problems = append(problems, fmt.Sprintf("label %q is not carried by any metric of the expression", l))
			}
		}
	}
	return Use{Metrics: sortedKeys(metrics), LE: sortedKeys(le)}, dedupe(problems)
}

func sortedKeys(m map[string]bool) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

var grafanaVar = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{[A-Za-z0-9_]+(?::[a-z]+)?\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_]+\]\]`)

// SubstituteGrafanaVars replaces Grafana template variables in a panel query
// so that it can be parsed as PromQL: interval variables become window (a
// PromQL duration such as "5m") and every other variable becomes ".*", which
// is what "All" selects in a regex matcher.
func SubstituteGrafanaVars(expr, window string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.HasPrefix(v, "$__") {
			return window
		}
		return ".*"
	})
}

// WithRecord returns k extended with a recorded series name that carries
// the labels of the series from (which must be known) plus extra, as a
// recording rule over from that keeps its labels and adds extra does. A
// record of a histogram's buckets keeps le, and its le matchers are
// checked like the buckets'.
func (k Known) WithRecord(name, from string, extra ...string) Known {
	out := Known{metrics: make(map[string]map[string]bool, len(k.metrics)+1), buckets: make(map[string]bool, len(k.buckets)+1), target: k.target}
	for m, ls := range k.metrics {
		out.metrics[m] = ls
	}
	for b := range k.buckets {
		out.buckets[b] = true
	}
	ls := map[string]bool{}
	for l := range k.metrics[from] {
		ls[l] = true
	}
	for _, l := range extra {
		ls[l] = true
	}
	out.metrics[name] = ls
	if k.buckets[from] {
		out.buckets[name] = true
	}
	return out
}
