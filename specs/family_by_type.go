package specs

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The slow share per query type: a slowdown of a minor type is not
// drowned by a dominant fast one; the minimum rate applies per type. The
// statistics table shows the slow share per type, coloured at this
// threshold (the Slow Query Rate panel has no share).
func byTypeFamily(e *Env) Family {
	q, t := e.Query, e.Config.Thresholds
	l := t.SlowRateByType
	slowest := FormatSeconds(t.SlowQuery.Std().Seconds())
	a := Alert{
		Name: AlertSlowQueryRateByType, Severity: SeverityWarning, Family: FamilySlowQueryRateByType, For: l.For, Panel: PanelStatisticsTable,
		By:       []string{middleware.LabelQueryType},
		Expr:     q.ratio(middleware.MetricSlowQueriesTotal, middleware.MetricQueriesTotal, []string{middleware.LabelQueryType}, ">", "slow_rate_by_type", l.Threshold),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			qt := lb(middleware.LabelQueryType)
			return fmt.Sprintf("Slow %s queries above %s for %s", qt, FormatPercent(l.Threshold), q.who(lb)),
				fmt.Sprintf("%s of the %s queries of %s took %s or longer over the last %s (warning above %s for %s, with %s of that type).",
					v, qt, q.who(lb), slowest, t.RateWindow, FormatPercent(l.Threshold), l.For, q.traffic())
		},
	}
	a.Runbook = e.rb.slowRateByType(a, l)
	a.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.byTypeCases(a) })
	return Family{Name: FamilySlowQueryRateByType, Alerts: []Alert{a}}
}

func (r *rbContext) slowRateByType(a Alert, l Level) Runbook {
	b := r.text("slow_query_rate_by_type", a, l)
	b.PromQL = []RunbookQuery{
		r.qSlowShareByType(),
		{"slow statements per second by type", r.rate(middleware.MetricSlowQueriesTotal, middleware.LabelQueryType)},
		r.qP99ByType(),
		r.qTraffic(),
	}
	b.Guide = []GuideLink{rbLinkFind, rbLinkPostgres, rbLinkMySQL, rbLinkIndexes, rbLinkLocks, rbLinkTx}
	b.Related = []string{AlertSlowQueryRateWarning, AlertSlowQueryRateCritical, AlertQueryLatencyP99Warning}
	return b
}

// byTypeCases: a dominant fast SELECT traffic and a smaller UPDATE traffic
// whose slow share is what is tested.
func (b *TestKit) byTypeCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.SlowRateByType
	name := a.Name
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	sel := map[string]string{middleware.LabelQueryType: string(middleware.QuerySelect)}
	upd := map[string]string{middleware.LabelQueryType: string(middleware.QueryUpdate)}
	series := func(selects, updates, share float64) []rules.Series {
		return []rules.Series{
			b.in(middleware.MetricQueriesTotal, sel, counterValues(counterPhase{selects, n})),
			b.in(middleware.MetricSlowQueriesTotal, sel, counterValues(counterPhase{0, n})),
			b.in(middleware.MetricQueriesTotal, upd, counterValues(counterPhase{updates, n})),
			b.in(middleware.MetricSlowQueriesTotal, upd, counterValues(counterPhase{updates * share, n})),
		}
	}
	hi, lo := shareAbove(l.Threshold), shareUnder(l.Threshold)
	low := b.c.Thresholds.MinQueryRate / 2 * b.step.Seconds()
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("%s slow UPDATEs among fast SELECTs fire for UPDATE after %s, not one evaluation earlier", FormatPercent(hi), l.For),
			series(9*b.perStep, b.perStep, hi), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, hi, upd))),
		b.tc(name, fmt.Sprintf("%s slow UPDATEs, just under %s, do not fire", FormatPercent(lo), FormatPercent(l.Threshold)),
			series(9*b.perStep, b.perStep, lo), alertCheck(name, fire)),
		b.tc(name, "zero traffic does not fire", series(0, 0, 0), alertCheck(name, fire)),
		b.tc(name, "UPDATE traffic under the minimum rate does not fire even when every UPDATE is slow",
			series(9*b.perStep, low, 1), alertCheck(name, fire)),
	}
}
