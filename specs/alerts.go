package specs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// latencyQuantile is the quantile the latency alerts watch: their names say
// p99, so it is part of their definition rather than a tunable threshold.
const latencyQuantile = 0.99

// RuleGroups returns the default pack's alerting rules: one group, named
// and evaluated as c.Alerting says. Every number, window, for duration,
// selector and link comes from c; every metric and label name comes from
// the middleware's contract.
func RuleGroups(c Config) []rules.Group { return Build(c).RuleGroups }

// ruleGroups renders the pack's alerts as one group.
func (p *Pack) ruleGroups() []rules.Group {
	c := p.Config
	rs := make([]rules.Rule, 0, len(p.Alerts))
	for _, a := range p.Alerts {
		rs = append(rs, ruleOf(c, a, p.variants))
	}
	alerts := rules.Group{
		Name:     c.Alerting.GroupName,
		Interval: c.Alerting.EvaluationInterval.Std(),
		Rules:    rs,
	}
	if c.Fleet() {
		// The recording groups first: promtool and rules.Run evaluate
		// groups in this order, so the alerts read this evaluation's
		// records (a server may read them one evaluation later).
		return append(fleetGroups(c), alerts)
	}
	return []rules.Group{alerts}
}

// ruleOf renders an alert as a rule: templated annotations (worded for
// each variant's services where a fleet's per-service thresholds change
// them), and the labels every alert carries (routing matches severity,
// inhibition matches family).
func ruleOf(c Config, a Alert, variants []textVariant) rules.Rule {
	summary, description := serviceText(a, variants)
	return rules.Rule{
		Alert:       a.Name,
		Expr:        a.Expr,
		For:         a.For.Std(),
		Labels:      ruleLabels(c, a),
		Annotations: annotations(c, a, summary, description),
	}
}

func ruleLabels(c Config, a Alert) map[string]string {
	if c.Fleet() {
		// The team of each service comes with its recorded series.
		return map[string]string{LabelSeverity: a.Severity, LabelFamily: a.Family}
	}
	return map[string]string{
		LabelSeverity: a.Severity,
		LabelTeam:     c.Alerting.Team,
		LabelFamily:   a.Family,
	}
}

func annotations(c Config, a Alert, summary, description string) map[string]string {
	return map[string]string{
		AnnotationSummary:      summary,
		AnnotationDescription:  description,
		AnnotationRunbookURL:   c.RunbookURL(a.Name),
		AnnotationDashboardURL: c.DashboardURL(a.Panel),
	}
}

// Query is the one PromQL builder of the alerts: it writes expressions from the contract's names, the identity labels and
// the user's selector.
type Query struct {
	identity []string
	selector string
	window   Duration
	baseline Duration
	minRate  float64
	// fleet: the alerts read the recorded series of a fleet (fleet.go),
	// which carry the service (named with the identity) and the team.
	fleet     bool
	carry     []string
	overrides map[string]bool
	// db: the statement metrics carry db_name (middleware.db_name_label),
	// so every aggregation keeps it and the descriptions name the
	// database.
	db bool
}

func newQuery(c Config) Query {
	q := Query{
		identity: c.Service.IdentityLabels,
		selector: strings.TrimSpace(c.Service.Selector),
		window:   c.Thresholds.RateWindow,
		baseline: c.Thresholds.BaselineWindow,
		minRate:  c.Thresholds.MinQueryRate,
		db:       c.Middleware.DBNameLabel,
	}
	if c.Fleet() {
		q.fleet = true
		q.identity = append([]string{LabelService}, c.Service.IdentityLabels...)
		q.carry = []string{LabelTeam}
		q.selector = ""
		q.overrides = overrides(c)
	}
	return q
}

// sel is a selector of metric restricted by the user's selector.
func (q Query) sel(metric string) string {
	if q.selector == "" {
		return metric
	}
	return metric + "{" + q.selector + "}"
}

// by is the grouping clause: identity labels, then extra; db_name last
// when the statement metrics carry it and extra does not name it.
func (q Query) by(extra ...string) string {
	ls := append(append(append([]string(nil), q.identity...), q.carry...), extra...)
	if q.db && !slices.Contains(extra, middleware.LabelDBName) {
		ls = append(ls, middleware.LabelDBName)
	}
	return "by (" + strings.Join(ls, ", ") + ")"
}

// sumRate is the per-second rate of a counter over window, summed by the
// identity labels and extra.
func (q Query) sumRate(metric string, window Duration, extra ...string) string {
	if q.fleet {
		return q.fleetSum(q.rateRecord(metric), extra...)
	}
	return fmt.Sprintf("sum %s (rate(%s[%s]))", q.by(extra...), q.sel(metric), window)
}

// guardedRatio compares part/total with threshold, only where total runs at
// the minimum rate or more: 0/0 never evaluates, and a handful of queries
// is not a trend.
func (q Query) guardedRatio(part, total string, extra []string, op string, threshold float64) string {
	return fmt.Sprintf("%s\n  /\n%s\n  %s %s\nand\n%s >= %s",
		q.sumRate(part, q.window, extra...), q.sumRate(total, q.window, extra...), op, promNum(threshold),
		q.sumRate(total, q.window, extra...), promNum(q.minRate))
}

// againstBaseline compares the query rate with threshold × its baseline.
//
// The baseline is the average rate over BaselineWindow ending RateWindow
// ago, so the anomaly being measured never contaminates its own baseline.
// It counts only when it is at least the minimum rate (a ratio to nothing
// is noise) and when the counter already existed RateWindow before the
// baseline window started: a new series' baseline would be extrapolated
// from part of its window and understate the normal rate, so a freshly
// deployed application would "spike".
func (q Query) againstBaseline(op, key string, threshold float64) string {
	if q.fleet {
		rate, base := q.fleetSum(q.rateRecord(middleware.MetricQueriesTotal)), q.fleetSum(q.baselineRecord())
		var x string
		if !q.overrides[key] {
			x = fmt.Sprintf("%s\n  %s %s * %s", rate, op, promNum(threshold), base)
		} else {
			t := ThresholdSeries(key)
			x = fmt.Sprintf("(\n  %s\n    %s %s * on (%s) group_left () %s\nor\n  (%s unless on (%s) %s)\n    %s %s * %s\n)",
				rate, op, base, LabelService, t, rate, LabelService, t, op, promNum(threshold), base)
		}
		return fmt.Sprintf("%s\nand\n%s >= %s\nand\nmax %s (%s)", x, base, promNum(q.minRate), q.by(), q.presentRecord())
	}
	base := fmt.Sprintf("sum %s (rate(%s[%s] offset %s))", q.by(), q.sel(middleware.MetricQueriesTotal), q.baseline, q.window)
	return fmt.Sprintf("%s\n  %s %s * %s\nand\n%s >= %s\nand\nmax %s (present_over_time(%s[%s] offset %s))",
		q.sumRate(middleware.MetricQueriesTotal, q.window), op, promNum(threshold), base,
		base, promNum(q.minRate),
		q.by(), q.sel(middleware.MetricQueriesTotal), q.window, q.baseline+q.window)
}

// who names the alerting application by its identity labels, and the
// database when the statement metrics carry db_name: "database orders of
// job api".
func (q Query) who(label func(string) string) string {
	if q.db {
		return q.database(label)
	}
	return q.ident(label)
}

// database names one database of the application, as the pool alerts
// always do.
func (q Query) database(label func(string) string) string {
	return fmt.Sprintf("database %s of %s", label(middleware.LabelDBName), q.ident(label))
}

// ident names the application by its identity labels.
func (q Query) ident(label func(string) string) string {
	parts := make([]string, len(q.identity))
	for i, l := range q.identity {
		parts[i] = l + " " + label(l)
	}
	return strings.Join(parts, ", ")
}

// promNum writes a float the shortest way that parses back to it.
func promNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// traffic is the minimum-traffic guard as the descriptions quote it.
func (q Query) traffic() string { return fmt.Sprintf("at least %s queries/s", promNum(q.minRate)) }

// Select is metric restricted by the user's selector and matchers, e.g.
// Select("db_transaction_duration_seconds_count", `outcome="rollback"`).
func (q Query) Select(metric string, matchers ...string) string {
	var m []string
	if s := strings.TrimSuffix(q.selector, ","); s != "" {
		m = append(m, s)
	}
	m = append(m, matchers...)
	if len(m) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(m, ", ") + "}"
}

// SumRate is the per-second rate of the counters selector selects over the
// rate window, summed by the identity labels and extra.
func (q Query) SumRate(selector string, extra ...string) string {
	return fmt.Sprintf("sum %s (rate(%s[%s]))", q.by(extra...), selector, q.window)
}

// GuardedRatio compares SumRate(part)/SumRate(total) with threshold, only
// where total runs at thresholds.min_query_rate or more, as the pack's own
// ratio alerts do; part and total are selectors (see Select).
func (q Query) GuardedRatio(part, total string, extra []string, op string, threshold float64) string {
	return fmt.Sprintf("%s\n  /\n%s\n  %s %s\nand\n%s >= %s",
		q.SumRate(part, extra...), q.SumRate(total, extra...), op, promNum(threshold),
		q.SumRate(total, extra...), promNum(q.minRate))
}

// Who names the alerting application by its identity labels, each written
// by label (a template in the rule, a value in a test).
func (q Query) Who(label func(string) string) string { return q.who(label) }

// Traffic is the minimum-traffic guard as a description quotes it.
func (q Query) Traffic() string { return q.traffic() }
