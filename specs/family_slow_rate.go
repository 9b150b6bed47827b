package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The slow query rate: the share of statements at or above
// thresholds.slow_query, at three levels. A share between the warning and
// the critical level fires the warning only.
func slowRateFamily(e *Env) Family {
	t := e.Config.Thresholds.SlowRate
	warn := e.slowRateAlert(AlertSlowQueryRateWarning, SeverityWarning, "slow_rate_warning", t.Warning)
	return Family{
		Name: FamilySlowQueryRate,
		Alerts: []Alert{
			e.slowRateAlert(AlertSlowQueryRateCritical, SeverityCritical, "slow_rate_critical", t.Critical),
			warn,
			e.slowRateAlert(AlertSlowQueryRateInfo, SeverityInfo, "slow_rate_info", t.Info),
		},
		Cases: e.Tests(func(k *TestKit) []rules.TestCase { return []rules.TestCase{k.betweenWarningAndCritical(warn)} }),
	}
}

func (e *Env) slowRateAlert(name, severity, key string, l Level) Alert {
	q, w := e.Query, e.Config.Thresholds.RateWindow
	slowest := FormatSeconds(e.Config.Thresholds.SlowQuery.Std().Seconds())
	a := Alert{
		Name: name, Severity: severity, Family: FamilySlowQueryRate, For: l.For, Panel: PanelSlowPercentage,
		Expr:     q.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, nil, ">", key, l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Slow database queries above %s for %s", FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the database queries of %s took %s or longer over the last %s (%s above %s for %s, with %s).",
					v, q.who(lb), slowest, w, severity, FormatPercent(l.Threshold), l.For, q.traffic())
		},
	}
	a.Runbook = e.rb.slowRate(a, l)
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase {
		return k.ratioCases(a, middleware.MetricSlowQueriesTotal, "slow", l)
	})
	return a
}

func (r *rbContext) slowRate(a Alert, l Level) Runbook {
	b := r.text("slow_query_rate", a, l)
	b.PromQL = []RunbookQuery{
		{"share of slow statements, 0–1 (the alert's expression, without the traffic guard)",
			r.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal)},
		r.qSlowShareByType(),
		r.qP99ByType(),
		r.qTraffic(),
	}
	b.PromQL = append(b.PromQL, r.qStatements()...)
	b.Guide = []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkIndexes, rbLinkLocks, rbLinkTimeouts}
	b.Related = []string{AlertSlowQueryRateCritical, AlertSlowQueryRateWarning, AlertSlowQueryRateInfo, AlertSlowQueryRateByType, AlertQueryLatencyP99Critical}
	return b
}

// betweenWarningAndCritical is a slow share between the two levels (7 %
// with the defaults): the warning fires and the critical stays silent.
func (b *TestKit) betweenWarningAndCritical(warn Alert) rules.TestCase {
	w, c := b.c.Thresholds.SlowRate.Warning, b.c.Thresholds.SlowRate.Critical
	share := w.Threshold + 0.4*(c.Threshold-w.Threshold)
	active := b.firstRate()
	fireW := active + b.evalCeil(w.For.Std())
	fireC := active + b.evalCeil(c.For.Std())
	n := b.steps(max(fireW, fireC))
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	return b.tc(AlertSlowQueryRateWarning, fmt.Sprintf("%s slow queries fire the warning and not the critical", FormatPercent(share)),
		[]rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{b.perStep, n})),
			b.in(middleware.MetricSlowQueriesTotal, sel, counterValues(counterPhase{b.perStep * share, n})),
		},
		alertCheck(AlertSlowQueryRateCritical, fireC),
		alertCheck(AlertSlowQueryRateWarning, fireW, b.expect(warn, share, nil)),
		alertCheck(AlertSlowQueryRateCritical, fireW),
	)
}
