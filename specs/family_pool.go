package specs

import (
	"fmt"
	"math"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The connection pool, from the DBStats collector: saturation and waits.
func poolFamily(e *Env) Family {
	q, t := e.Query, e.Config.Thresholds
	poolWho := q.database
	// Per instance, then the worst instance: one saturated pool matters
	// even if the job's other instances idle. Pools without a maximum
	// (max_open 0) are left out, so no division by zero.
	sat := Alert{
		Name: AlertConnectionPoolSaturated, Severity: SeverityWarning, Family: FamilyConnectionPool, For: t.PoolSaturation.For, Panel: PanelPool,
		By: []string{middleware.LabelDBName},
		Expr: fmt.Sprintf("max %s (\n  %s\n  /\n  (%s > 0)\n) > %s",
			q.by(middleware.LabelDBName), q.sel(middleware.MetricPoolInUse), q.sel(middleware.MetricPoolMaxOpen), promNum(t.PoolSaturation.Threshold)),
		Humanize: "humanizePercentage",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Connection pool of %s nearly exhausted", poolWho(lb)),
				fmt.Sprintf("%s of the maximum open connections to %s are in use (warning above %s for %s); queries will soon wait for a connection.",
					v, poolWho(lb), FormatPercent(t.PoolSaturation.Threshold), t.PoolSaturation.For)
		},
	}
	sat.Runbook = e.rb.poolSaturated(sat, t.PoolSaturation)
	if q.fleet {
		sat.Expr = q.cmp(fmt.Sprintf("max %s (%s)", q.by(middleware.LabelDBName), poolUseRecord()), ">", "pool_saturation", t.PoolSaturation.Threshold)
	}
	sat.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.poolSaturationCases(sat) })
	waits := Alert{
		Name: AlertConnectionPoolWaits, Severity: SeverityWarning, Family: FamilyConnectionPool, For: t.PoolWait.For, Panel: PanelPoolWaits,
		By: []string{middleware.LabelDBName},
		Expr: fmt.Sprintf("%s\n  > %s",
			q.sumRate(middleware.MetricPoolWaitDuration, t.RateWindow, middleware.LabelDBName), promNum(t.PoolWait.Threshold)),
		Humanize: "humanizeDuration",
		Text: func(v string, lb func(string) string) (string, string) {
			return fmt.Sprintf("Queries wait for connections to %s", poolWho(lb)),
				fmt.Sprintf("Goroutines waited %s per second for a connection to %s over the last %s (warning above %s per second for %s): the pool is too small or connections are held too long.",
					v, poolWho(lb), t.RateWindow, FormatSeconds(t.PoolWait.Threshold), t.PoolWait.For)
		},
	}
	waits.Runbook = e.rb.poolWaits(waits, t.PoolWait)
	if q.fleet {
		waits.Expr = q.cmp(q.sumRate(middleware.MetricPoolWaitDuration, t.RateWindow, middleware.LabelDBName), ">", "pool_wait", t.PoolWait.Threshold)
	}
	waits.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.poolWaitCases(waits) })
	return Family{Name: FamilyConnectionPool, Alerts: []Alert{sat, waits}}
}

func (r *rbContext) poolSaturated(a Alert, l Level) Runbook {
	b := r.text("pool_saturated", a, l)
	b.PromQL = []RunbookQuery{
		r.qPoolUse(),
		r.qPoolUseByInstance(),
		r.qInUse(),
		r.qExecuting(),
		r.qTxP99(),
		r.qWaitTime(),
	}
	b.Guide = []GuideLink{rbLinkPool, rbLinkTx, rbLinkNPlusOne, rbLinkFind}
	b.Related = []string{AlertConnectionPoolWaits, AlertQueryRateSpike, AlertSlowQueryRateCritical}
	return b
}

func (r *rbContext) poolWaits(a Alert, l Level) Runbook {
	b := r.text("pool_waits", a, l)
	b.PromQL = []RunbookQuery{
		{"wait seconds per second (the alert's expression)", r.rate(middleware.MetricPoolWaitDuration, middleware.LabelDBName)},
		r.qMeanWait(),
		r.qPoolUse(),
		r.qExecuting(),
		{"connections closed because SetMaxIdleConns is too low (reconnect churn)", r.rate(middleware.MetricPoolMaxIdleClosed, middleware.LabelDBName)},
	}
	b.Guide = []GuideLink{rbLinkPool, rbLinkTx, rbLinkTimeouts}
	b.Related = []string{AlertConnectionPoolSaturated, AlertQueryLatencyP99Warning}
	return b
}

// poolSaturationCases: constant pool gauges, so the condition holds from
// the first evaluation.
func (b *TestKit) poolSaturationCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.PoolSaturation
	name := a.Name
	fire := b.evalCeil(l.For.Std())
	n := b.steps(fire)
	db := map[string]string{middleware.LabelDBName: testDBName}
	series := func(maxOpen, inUse float64) []rules.Series {
		return []rules.Series{
			b.in(middleware.MetricPoolMaxOpen, db, gaugeValues(maxOpen, n)),
			b.in(middleware.MetricPoolInUse, db, gaugeValues(inUse, n)),
		}
	}
	// The most connections that are not above the threshold (the threshold
	// itself when it is a whole number of them), and a few more.
	atMost := math.Floor(l.Threshold * poolMaxOpen)
	for atMost > 0 && atMost/poolMaxOpen > l.Threshold {
		atMost--
	}
	over := atMost + 5
	if over > poolMaxOpen {
		over = atMost + 1
	}
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("%s of %d connections in use fire after %s, not one evaluation earlier", fnum(over), poolMaxOpen, l.For),
			series(poolMaxOpen, over), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, over/poolMaxOpen, db))),
		b.tc(name, fmt.Sprintf("%s of %d connections in use, not above %s, do not fire", fnum(atMost), poolMaxOpen, FormatPercent(l.Threshold)),
			series(poolMaxOpen, atMost), alertCheck(name, fire)),
		b.tc(name, "an idle pool does not fire", series(poolMaxOpen, 0), alertCheck(name, fire)),
		b.tc(name, "a pool without a maximum (max_open 0) does not fire", series(0, 50), alertCheck(name, fire)),
	}
}

// poolWaitCases: the wait-time counter grows from zero fast enough that
// its rate is above the threshold from the second sample on.
func (b *TestKit) poolWaitCases(a Alert) []rules.TestCase {
	l := b.c.Thresholds.PoolWait
	name := a.Name
	active := b.firstRate()
	fire := active + b.evalCeil(l.For.Std())
	n := b.steps(fire)
	db := map[string]string{middleware.LabelDBName: testDBName}
	series := func(perStep float64) []rules.Series {
		return []rules.Series{b.in(middleware.MetricPoolWaitDuration, db, counterValues(counterPhase{perStep, n}))}
	}
	// rate ≥ perStep / window from the second sample on.
	waiting := niceCeil(2 * l.Threshold * b.window.Seconds())
	perSecond := waiting / b.step.Seconds()
	lo := shareUnder(l.Threshold) * b.step.Seconds()
	return []rules.TestCase{
		b.tc(name, fmt.Sprintf("waiting %s per second fires after %s, not one evaluation earlier", FormatSeconds(perSecond), l.For),
			series(waiting), alertCheck(name, fire-b.eval), alertCheck(name, fire, b.expect(a, b.rateAt(perSecond, fire), db))),
		b.tc(name, fmt.Sprintf("waiting %s per second, just under %s, does not fire", FormatSeconds(shareUnder(l.Threshold)), FormatSeconds(l.Threshold)),
			series(lo), alertCheck(name, fire)),
		b.tc(name, "no waiting does not fire", series(0), alertCheck(name, fire)),
		b.tc(name, "waiting for one of two pools fires for that pool only",
			append(series(waiting), b.in(middleware.MetricPoolWaitDuration, map[string]string{middleware.LabelDBName: testOtherDBName}, counterValues(counterPhase{0, n}))),
			alertCheck(name, fire, b.expect(a, b.rateAt(perSecond, fire), db))),
	}
}
