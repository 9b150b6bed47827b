package specs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// latencyQuantile is the quantile the latency alerts watch: their names say
// p99, so it is part of their definition rather than a tunable threshold.
const latencyQuantile = 0.99

// alertDef is one alerting rule of the pack before rendering. Its texts are
// functions of the observed value and of the labels so that the rule gets
// Prometheus templates and the rule tests get the very same sentences with
// the values a test expects (see ruleAlert and expectAlert).
type alertDef struct {
	name     string
	severity string
	family   string
	// level holds the threshold the description quotes and the for duration.
	level Level
	// panel is the dashboard panel that plots the signal: its queries
	// select every metric of expr (validate checks it).
	panel int
	// by are the labels the alert aggregates by beyond the identity labels.
	by   []string
	expr string
	// text returns summary and description, given how the observed value
	// and a label's value are written.
	text func(value string, label func(name string) string) (summary, description string)
	// humanize names the template function that formats the observed value.
	humanize string
}

// RuleGroups returns the pack's alerting rules: one group, named and
// evaluated as c.Alerting says, holding the twelve alerts. Every number,
// window, for duration, selector and link comes from c; every metric and
// label name comes from the middleware's contract.
func RuleGroups(c Config) []rules.Group {
	defs := alertDefs(c)
	rs := make([]rules.Rule, 0, len(defs))
	for _, d := range defs {
		rs = append(rs, ruleOf(c, d))
	}
	return []rules.Group{{
		Name:     c.Alerting.GroupName,
		Interval: c.Alerting.EvaluationInterval.Std(),
		Rules:    rs,
	}}
}

// ruleOf renders a definition as a rule: templated annotations, and the
// labels every alert carries (routing matches severity, inhibition matches
// family).
func ruleOf(c Config, d alertDef) rules.Rule {
	summary, description := d.text("{{ $value | "+d.humanize+" }}", func(l string) string { return "{{ $labels." + l + " }}" })
	return rules.Rule{
		Alert:       d.name,
		Expr:        d.expr,
		For:         d.level.For.Std(),
		Labels:      ruleLabels(c, d),
		Annotations: annotations(c, d, summary, description),
	}
}

func ruleLabels(c Config, d alertDef) map[string]string {
	return map[string]string{
		LabelSeverity: d.severity,
		LabelTeam:     c.Alerting.Team,
		LabelFamily:   d.family,
	}
}

func annotations(c Config, d alertDef, summary, description string) map[string]string {
	return map[string]string{
		AnnotationSummary:      summary,
		AnnotationDescription:  description,
		AnnotationRunbookURL:   c.RunbookURL(d.name),
		AnnotationDashboardURL: c.DashboardURL(d.panel),
	}
}

// alertDefs defines the twelve alerts, in the order of the rule file.
func alertDefs(c Config) []alertDef {
	t := c.Thresholds
	q := newAlertQuery(c)
	w := t.RateWindow
	slowest := secondsText(t.SlowQuery.Std().Seconds())
	traffic := fmt.Sprintf("at least %s queries/s", promNum(t.MinQueryRate))

	slowRate := func(name, severity string, l Level) alertDef {
		return alertDef{
			name: name, severity: severity, family: FamilySlowQueryRate, level: l, panel: PanelSlowPercentage,
			expr:     q.guardedRatio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, nil, ">", l.Threshold),
			humanize: "humanizePercentage",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("Slow database queries above %s for %s", percentText(l.Threshold), q.who(lb)),
					fmt.Sprintf("%s of the database queries of %s took %s or longer over the last %s (%s above %s for %s, with %s).",
						v, q.who(lb), slowest, w, severity, percentText(l.Threshold), l.For, traffic)
			},
		}
	}
	latency := func(name, severity string, l Level) alertDef {
		// The threshold is a bucket bound (validation insists), so
		// histogram_quantile is exact there: the p99 is above the bound
		// only when more than 1 % of the queries fall in a higher bucket,
		// and exactly 1 % puts it on the bound. Hence `>`: the alert means
		// "more than 1 % of queries are slower than the threshold".
		return alertDef{
			name: name, severity: severity, family: FamilyQueryLatencyP99, level: l, panel: PanelLatencyP99,
			expr: fmt.Sprintf("histogram_quantile(%s, %s)\n  > %s\nand\n  %s >= %s",
				promNum(latencyQuantile), q.sumRate(middleware.MetricQueryDuration+"_bucket", w, middleware.LabelLE), promNum(l.Threshold),
				q.sumRate(middleware.MetricQueryDuration+"_count", w), promNum(t.MinQueryRate)),
			humanize: "humanizeDuration",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("Database query p99 latency above %s for %s", secondsText(l.Threshold), q.who(lb)),
					fmt.Sprintf("The 99th percentile of the database query duration of %s is %s over the last %s (%s above %s for %s, with %s).",
						q.who(lb), v, w, severity, secondsText(l.Threshold), l.For, traffic)
			},
		}
	}
	baseline := fmt.Sprintf("the average rate over the %s that ended %s ago", t.BaselineWindow, w)
	rateChange := func(name, op string, l Level, summary, verb string) alertDef {
		return alertDef{
			name: name, severity: SeverityWarning, family: FamilyQueryRate, level: l, panel: PanelQueryRate,
			expr:     q.againstBaseline(op, l.Threshold),
			humanize: "humanize",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("%s for %s", summary, q.who(lb)),
					fmt.Sprintf("The database queries of %s run at %s/s, %s %s× their baseline, %s (warning for %s; the baseline must be %s and cover its whole window).",
						q.who(lb), v, verb, promNum(l.Threshold), baseline, l.For, traffic)
			},
		}
	}
	absentSel := q.sel(middleware.MetricQueriesTotal)
	poolWho := func(lb func(string) string) string {
		return fmt.Sprintf("database %s of %s", lb(middleware.LabelDBName), q.who(lb))
	}

	return []alertDef{
		slowRate(AlertSlowQueryRateCritical, SeverityCritical, t.SlowRate.Critical),
		slowRate(AlertSlowQueryRateWarning, SeverityWarning, t.SlowRate.Warning),
		slowRate(AlertSlowQueryRateInfo, SeverityInfo, t.SlowRate.Info),
		latency(AlertQueryLatencyP99Critical, SeverityCritical, t.LatencyP99.Critical),
		latency(AlertQueryLatencyP99Warning, SeverityWarning, t.LatencyP99.Warning),
		rateChange(AlertQueryRateSpike, ">", t.RateSpike, "Database query rate spike", "more than"),
		rateChange(AlertQueryTrafficDrop, "<", t.TrafficDrop, "Database query traffic drop", "less than"),
		{
			// The dead man's switch: every other alert is silent when the
			// metrics are missing, so their absence must page. absent()
			// carries the selector's equality matchers as labels.
			name: AlertQueryMetricsAbsent, severity: SeverityCritical, family: FamilyQueryMetrics, level: t.MetricsAbsent, panel: PanelQueryRate,
			expr:     fmt.Sprintf("absent(%s)", absentSel),
			humanize: "humanize",
			text: func(string, func(string) string) (string, string) {
				return "Database query metrics are absent",
					fmt.Sprintf("No %s series has been scraped for %s: the application is down, not scraped, or no longer instrumented, and no other database query alert can fire meanwhile.",
						absentSel, t.MetricsAbsent.For)
			},
		},
		{
			name: AlertQueryErrorRateHigh, severity: SeverityWarning, family: FamilyQueryErrors, level: t.ErrorRate, panel: PanelErrorRate,
			expr:     q.guardedRatio(middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal, nil, ">", t.ErrorRate.Threshold),
			humanize: "humanizePercentage",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("Database query errors above %s for %s", percentText(t.ErrorRate.Threshold), q.who(lb)),
					fmt.Sprintf("%s of the database queries of %s returned an error over the last %s (warning above %s for %s, with %s).",
						v, q.who(lb), w, percentText(t.ErrorRate.Threshold), t.ErrorRate.For, traffic)
			},
		},
		{
			// Per query type, a slowdown of a minor type is not drowned by
			// a dominant fast one; the minimum rate applies per type. The
			// statistics table shows the slow share per type, coloured at
			// this threshold (the Slow Query Rate panel has no share).
			name: AlertSlowQueryRateByType, severity: SeverityWarning, family: FamilySlowQueryRateByType, level: t.SlowRateByType, panel: PanelStatisticsTable,
			by:       []string{middleware.LabelQueryType},
			expr:     q.guardedRatio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, []string{middleware.LabelQueryType}, ">", t.SlowRateByType.Threshold),
			humanize: "humanizePercentage",
			text: func(v string, lb func(string) string) (string, string) {
				qt := lb(middleware.LabelQueryType)
				return fmt.Sprintf("Slow %s queries above %s for %s", qt, percentText(t.SlowRateByType.Threshold), q.who(lb)),
					fmt.Sprintf("%s of the %s queries of %s took %s or longer over the last %s (warning above %s for %s, with %s of that type).",
						v, qt, q.who(lb), slowest, w, percentText(t.SlowRateByType.Threshold), t.SlowRateByType.For, traffic)
			},
		},
		{
			// Per instance, then the worst instance: one saturated pool
			// matters even if the job's other instances idle. Pools without
			// a maximum (max_open 0) are left out, so no division by zero.
			name: AlertConnectionPoolSaturated, severity: SeverityWarning, family: FamilyConnectionPool, level: t.PoolSaturation, panel: PanelPool,
			by: []string{middleware.LabelDBName},
			expr: fmt.Sprintf("max %s (\n  %s\n  /\n  (%s > 0)\n) > %s",
				q.by(middleware.LabelDBName), q.sel(middleware.MetricPoolInUse), q.sel(middleware.MetricPoolMaxOpen), promNum(t.PoolSaturation.Threshold)),
			humanize: "humanizePercentage",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("Connection pool of %s nearly exhausted", poolWho(lb)),
					fmt.Sprintf("%s of the maximum open connections to %s are in use (warning above %s for %s); queries will soon wait for a connection.",
						v, poolWho(lb), percentText(t.PoolSaturation.Threshold), t.PoolSaturation.For)
			},
		},
		{
			name: AlertConnectionPoolWaits, severity: SeverityWarning, family: FamilyConnectionPool, level: t.PoolWait, panel: PanelPoolWaits,
			by: []string{middleware.LabelDBName},
			expr: fmt.Sprintf("%s\n  > %s",
				q.sumRate(middleware.MetricPoolWaitDuration, w, middleware.LabelDBName), promNum(t.PoolWait.Threshold)),
			humanize: "humanizeDuration",
			text: func(v string, lb func(string) string) (string, string) {
				return fmt.Sprintf("Queries wait for connections to %s", poolWho(lb)),
					fmt.Sprintf("Goroutines waited %s per second for a connection to %s over the last %s (warning above %s per second for %s): the pool is too small or connections are held too long.",
						v, poolWho(lb), w, secondsText(t.PoolWait.Threshold), t.PoolWait.For)
			},
		},
	}
}

// alertQuery builds PromQL from the contract's names, the identity labels and
// the user's selector.
type alertQuery struct {
	identity []string
	selector string
	window   Duration
	baseline Duration
	minRate  float64
}

func newAlertQuery(c Config) alertQuery {
	return alertQuery{
		identity: c.Service.IdentityLabels,
		selector: strings.TrimSpace(c.Service.Selector),
		window:   c.Thresholds.RateWindow,
		baseline: c.Thresholds.BaselineWindow,
		minRate:  c.Thresholds.MinQueryRate,
	}
}

// sel is a selector of metric restricted by the user's selector.
func (q alertQuery) sel(metric string) string {
	if q.selector == "" {
		return metric
	}
	return metric + "{" + q.selector + "}"
}

// by is the grouping clause: identity labels, then extra.
func (q alertQuery) by(extra ...string) string {
	return "by (" + strings.Join(append(append([]string(nil), q.identity...), extra...), ", ") + ")"
}

// sumRate is the per-second rate of a counter over window, summed by the
// identity labels and extra.
func (q alertQuery) sumRate(metric string, window Duration, extra ...string) string {
	return fmt.Sprintf("sum %s (rate(%s[%s]))", q.by(extra...), q.sel(metric), window)
}

// guardedRatio compares part/total with threshold, only where total runs at
// the minimum rate or more: 0/0 never evaluates, and a handful of queries
// is not a trend.
func (q alertQuery) guardedRatio(part, total string, extra []string, op string, threshold float64) string {
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
func (q alertQuery) againstBaseline(op string, threshold float64) string {
	base := fmt.Sprintf("sum %s (rate(%s[%s] offset %s))", q.by(), q.sel(middleware.MetricQueriesTotal), q.baseline, q.window)
	return fmt.Sprintf("%s\n  %s %s * %s\nand\n%s >= %s\nand\nmax %s (present_over_time(%s[%s] offset %s))",
		q.sumRate(middleware.MetricQueriesTotal, q.window), op, promNum(threshold), base,
		base, promNum(q.minRate),
		q.by(), q.sel(middleware.MetricQueriesTotal), q.window, q.baseline+q.window)
}

// who names the alerting application by its identity labels.
func (q alertQuery) who(label func(string) string) string {
	parts := make([]string, len(q.identity))
	for i, l := range q.identity {
		parts[i] = l + " " + label(l)
	}
	return strings.Join(parts, ", ")
}

// promNum writes a float the shortest way that parses back to it.
func promNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// percentText writes a share as a percentage: 0.05 → "5%".
func percentText(v float64) string { return fmt.Sprintf("%.4g%%", v*100) }

// secondsText writes seconds for humans: 0.5 → "500ms", 1 → "1s".
func secondsText(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.4gms", s*1000)
	}
	return fmt.Sprintf("%.4gs", s)
}
