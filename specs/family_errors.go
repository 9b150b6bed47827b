package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The share of statements that returned an error.
func errorsFamily(e *Env) Family {
	q, t := e.Query, e.Config.Thresholds
	l := t.ErrorRate
	a := Alert{
		Name: AlertQueryErrorRateHigh, Severity: SeverityWarning, Family: FamilyQueryErrors, For: l.For, Panel: PanelErrorRate,
		Expr:     q.ratio(middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal, nil, ">", "error_rate", l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Database query errors above %s for %s", FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the database queries of %s returned an error over the last %s (warning above %s for %s, with %s).",
					v, q.who(lb), t.RateWindow, FormatPercent(l.Threshold), l.For, q.traffic())
		},
	}
	a.Runbook = e.rb.errorRate(a, l)
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase {
		return k.ratioCases(a, middleware.MetricQueryErrorsTotal, "failing", l)
	})
	return Family{Name: FamilyQueryErrors, Alerts: []Alert{a}}
}

func (r *rbContext) errorRate(a Alert, l Level) Runbook {
	b := r.text("query_errors", a, l)
	b.PromQL = []RunbookQuery{
		{"share of statements that returned an error, 0–1 (the alert's expression, without the traffic guard)",
			r.ratio(middleware.MetricQueryErrorsTotal, middleware.MetricQueriesTotal)},
		r.qErrorShareByType(),
		{"errors per second by type", r.rate(middleware.MetricQueryErrorsTotal, middleware.LabelQueryType)},
	}
	b.Guide = []GuideLink{rbLinkTimeouts, rbLinkTx, rbLinkLocks, rbLinkPool}
	b.Related = []string{AlertQueryRateSpike, AlertSlowQueryRateCritical, AlertConnectionPoolSaturated}
	return b
}
