package target

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// parseRules parses the rendered rule file the way Prometheus loads it:
// unknown fields, bad PromQL and bad templates are errors with their line.
func parseRules(files map[string][]byte) ([]rulefmt.RuleGroup, error) {
	data, err := input(files, FileRules)
	if err != nil {
		return nil, err
	}
	if errs := rules.Validate(FileRules, data); len(errs) > 0 {
		return nil, diag.Join(errs)
	}
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", FileRules, errs[0])
	}
	return groups.Groups, nil
}

// interval is g's evaluation interval, written out: engines other than
// Prometheus (whose global evaluation_interval the pack sets) default to
// intervals of their own (vmalert and Thanos Ruler: 1m).
func interval(g rulefmt.RuleGroup, o Options) (model.Duration, error) {
	if g.Interval != 0 {
		return g.Interval, nil
	}
	if o.EvaluationInterval <= 0 {
		return 0, fmt.Errorf("%s: group %q has no interval and no evaluation interval was given; the engine would evaluate it at its own default", FileRules, g.Name)
	}
	return model.Duration(o.EvaluationInterval), nil
}

// vmalertGroup is a rule group in vmalert's dialect
// (app/vmalert/config.Group): Prometheus' query_offset is its eval_delay,
// and type says which datasource the expressions are for.
type vmalertGroup struct {
	Name      string            `yaml:"name"`
	Type      string            `yaml:"type"`
	Interval  model.Duration    `yaml:"interval"`
	EvalDelay *model.Duration   `yaml:"eval_delay,omitempty"`
	Limit     int               `yaml:"limit,omitempty"`
	Labels    map[string]string `yaml:"labels,omitempty"`
	Rules     []rulefmt.Rule    `yaml:"rules"`
}

// vmalertRules renders the rule file for vmalert. Every group is typed
// prometheus (PromQL and MetricsQL), so a deployment whose
// -rule.defaultRuleType is another datasource still reads them as PromQL.
func vmalertRules(groups []rulefmt.RuleGroup, o Options) ([]byte, error) {
	out := struct {
		Groups []vmalertGroup `yaml:"groups"`
	}{}
	for _, g := range groups {
		iv, err := interval(g, o)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, vmalertGroup{
			Name:      g.Name,
			Type:      "prometheus",
			Interval:  iv,
			EvalDelay: g.QueryOffset,
			Limit:     g.Limit,
			Labels:    g.Labels,
			Rules:     g.Rules,
		})
	}
	var b bytes.Buffer
	b.WriteString(o.Header)
	fmt.Fprintf(&b, `# Alert rules for vmalert (VictoriaMetrics):
#   vmalert -rule=alerts.yml -datasource.url=<VictoriaMetrics or Prometheus> -notifier.url=<Alertmanager>
# vmalert adds an alertgroup label (the group name) to every alert and, by
# default, evaluates %s in the past (-rule.evalDelay), so alerts fire that
# much later than on Prometheus. Keep -datasource.queryStep (default 5m) at
# least %s, twice the scrape interval, so a query still finds a sample
# after a missed scrape.
`, vmalertEvalDelay, queryStep(o))
	if err := encodeYAML(&b, out); err != nil {
		return nil, fmt.Errorf("render %s: %w", FileVMAlertRules, err)
	}
	return b.Bytes(), nil
}

// vmalertEvalDelay is vmalert's default -rule.evalDelay.
const vmalertEvalDelay = 30 * time.Second

// queryStep is the smallest -datasource.queryStep vmalert should run with.
func queryStep(o Options) string {
	if o.ScrapeInterval <= 0 {
		return "twice the scrape interval"
	}
	return model.Duration(2 * o.ScrapeInterval).String()
}

// thanosGroup is a rule group in Thanos Ruler's dialect: Prometheus' plus
// partial_response_strategy, which promtool and vmalert reject.
type thanosGroup struct {
	Name                    string            `yaml:"name"`
	Interval                model.Duration    `yaml:"interval"`
	QueryOffset             *model.Duration   `yaml:"query_offset,omitempty"`
	Limit                   int               `yaml:"limit,omitempty"`
	Labels                  map[string]string `yaml:"labels,omitempty"`
	PartialResponseStrategy string            `yaml:"partial_response_strategy"`
	Rules                   []rulefmt.Rule    `yaml:"rules"`
}

// thanosRules renders the rule file for Thanos Ruler. Every group aborts
// on a partial response: an alert evaluated on the data of only some
// stores could fire (QueryMetricsAbsent) or resolve on missing data.
func thanosRules(groups []rulefmt.RuleGroup, o Options) ([]byte, error) {
	out := struct {
		Groups []thanosGroup `yaml:"groups"`
	}{}
	for _, g := range groups {
		iv, err := interval(g, o)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, thanosGroup{
			Name:                    g.Name,
			Interval:                iv,
			QueryOffset:             g.QueryOffset,
			Limit:                   g.Limit,
			Labels:                  g.Labels,
			PartialResponseStrategy: "abort",
			Rules:                   g.Rules,
		})
	}
	var b bytes.Buffer
	b.WriteString(o.Header)
	b.WriteString(`# Alert rules for Thanos Ruler:
#   thanos rule --rule-file=alerts.yml --query=<Querier> --alertmanagers.url=<Alertmanager> \
#     --label='ruler_replica="<replica>"' --alert.label-drop=ruler_replica
# Run two or more replicas with distinct replica labels; --alert.label-drop
# removes that label from the alerts so Alertmanager deduplicates them.
`)
	if err := encodeYAML(&b, out); err != nil {
		return nil, fmt.Errorf("render %s: %w", FileThanosRules, err)
	}
	return b.Bytes(), nil
}

func thanosFiles(files map[string][]byte, o Options) (map[string][]byte, error) {
	groups, err := parseRules(files)
	if err != nil {
		return nil, err
	}
	data, err := thanosRules(groups, o)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{FileThanosRules: data}, nil
}

// encodeYAML writes v with the two-space indent of the other rendered files.
func encodeYAML(b *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}
