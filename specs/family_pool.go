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
	poolWho := func(lb func(string) string) string {
		return fmt.Sprintf("database %s of %s", lb(middleware.LabelDBName), q.who(lb))
	}
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
		Runbook: e.rb.poolSaturated(),
	}
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
		Runbook: e.rb.poolWaits(),
	}
	if q.fleet {
		waits.Expr = q.cmp(q.sumRate(middleware.MetricPoolWaitDuration, t.RateWindow, middleware.LabelDBName), ">", "pool_wait", t.PoolWait.Threshold)
	}
	waits.Cases = e.Tests(func(k *TestKit) []rules.TestCase { return k.poolWaitCases(waits) })
	return Family{Name: FamilyConnectionPool, Alerts: []Alert{sat, waits}}
}

func (r rbContext) poolSaturated() Runbook {
	l := r.c.Thresholds.PoolSaturation
	p := FormatPercent(l.Threshold)
	return Runbook{
		Summary: fmt.Sprintf("More than %s of the connection pool is in use.", p),
		Fires: fmt.Sprintf("%s / %s is above %s on at least one instance, for %s",
			rbCode(middleware.MetricPoolInUse), rbCode(middleware.MetricPoolMaxOpen), p, l.For),
		Meaning: []string{
			fmt.Sprintf("On at least one instance, the application's %s pool (label %s) has almost every connection allowed by %s busy; the alert reports the worst instance, because one saturated pool hurts even when the others idle. Pools without a limit (%s is 0) never fire: they fail later, at the server's %s.",
				rbCode("*sql.DB"), rbCode(middleware.LabelDBName), rbCode("SetMaxOpenConns"), rbCode(middleware.MetricPoolMaxOpen), rbCode("max_connections")),
			fmt.Sprintf("At 100%% the next caller blocks in database/sql until a connection is released: %s.", AlertConnectionPoolWaits),
		},
		Impact: "No headroom: the next burst queues inside the application, adding latency that query durations do not show.",
		Causes: []string{
			"Statements got slower. Connections busy ≈ query rate × duration (Little's law), so the slow-query alerts often fire too.",
			"More statements: a traffic spike or an N+1 loop.",
			"Connections held with no statement running: `rows` not closed, a transaction kept open across an HTTP call or slow computation, a `*sql.Conn` never closed.",
			"`SetMaxOpenConns` too small for the concurrency the service now has.",
		},
		Checks: []string{
			"Compare connections in use with statements executing (PromQL below). In use far above executing: connections are held idle (open rows, long transactions), a code problem. About equal: statements are slow or many.",
			fmt.Sprintf("Check transaction durations (PromQL below) and the statements themselves in %s and %s.",
				r.panelLink(PanelQueryRate), r.panelLink(PanelLatencyP99)),
			"On the database, look for transactions left open (SQL below).",
		},
		PromQL: []RunbookQuery{
			r.qPoolUse(),
			r.qPoolUseByInstance(),
			r.qInUse(),
			r.qExecuting(),
			r.qTxP99(),
			r.qWaitTime(),
		},
		SQL: rbSQLHeld,
		Mitigate: []string{
			"Slow or too many statements: fix those first. Raising the limit only moves the queue into the database.",
			"Leaks: `defer rows.Close()` and `defer tx.Rollback()` right after a successful call; no network calls inside a transaction. On PostgreSQL, `idle_in_transaction_session_timeout` is a backstop.",
			"Raise `SetMaxOpenConns` only if the server has room: instances × `SetMaxOpenConns` must stay below `max_connections` minus the admin and replication reserve.",
		},
		Guide:   []GuideLink{rbLinkPool, rbLinkTx, rbLinkNPlusOne, rbLinkFind},
		Related: []string{AlertConnectionPoolWaits, AlertQueryRateSpike, AlertSlowQueryRateCritical},
	}
}

func (r rbContext) poolWaits() Runbook {
	l := r.c.Thresholds.PoolWait
	perSec := FormatNumber(l.Threshold) + " s/s"
	return Runbook{
		Summary: "Goroutines wait for a database connection from the pool.",
		Fires: fmt.Sprintf("%s grows faster than %s over %s, for %s",
			rbCode(middleware.MetricPoolWaitDuration), perSec, r.w, l.For),
		Meaning: []string{
			fmt.Sprintf("The pool was at its %s limit and callers blocked in database/sql waiting for a connection. %s means that on average %s goroutines were waiting at any instant, for example 10 calls a second waiting %s each.",
				rbCode("SetMaxOpenConns"), perSec, FormatNumber(l.Threshold), FormatSeconds(l.Threshold/10)),
			fmt.Sprintf("The wait happens before the driver is called, so it is not in %s: query latency can look healthy while requests are slow.",
				rbCode(middleware.MetricQueryDuration)),
		},
		Impact: "Every waiting request is slower by the wait; if the wait outlasts the caller's context deadline, it fails with `context deadline exceeded` without reaching the database.",
		Causes: []string{
			fmt.Sprintf("The pool is saturated (see %s): slower statements, more statements, or connections held by open rows and long transactions.", AlertConnectionPoolSaturated),
			"Bursts: many goroutines start statements at once (fan-out per request, a batch started in parallel).",
			"`SetMaxOpenConns` set low on purpose to protect the database, and the load outgrew it.",
		},
		Checks: []string{
			"Mean wait per waiting call (PromQL below): milliseconds is queueing under bursts; seconds is starvation.",
			"Pool use, connections in use against statements executing, transaction durations: as in " + AlertConnectionPoolSaturated + ".",
			fmt.Sprintf("Open %s and %s: did more or slower statements start it?", r.panelLink(PanelQueryRate), r.panelLink(PanelLatencyP99)),
		},
		PromQL: []RunbookQuery{
			{"wait seconds per second (the alert's expression)", r.sumRate(middleware.MetricPoolWaitDuration, r.w, middleware.LabelDBName)},
			r.qMeanWait(),
			r.qPoolUse(),
			r.qExecuting(),
			{"connections closed because SetMaxIdleConns is too low (reconnect churn)", r.sumRate(middleware.MetricPoolMaxIdleClosed, r.w, middleware.LabelDBName)},
		},
		SQL: rbSQLHeld,
		Mitigate: []string{
			"Find what holds the connections and fix it, as for " + AlertConnectionPoolSaturated + ".",
			"Bound fan-out per request (a semaphore or errgroup limit) so one request cannot take the whole pool.",
			"Raise `SetMaxOpenConns` only if the database has room; set `SetMaxIdleConns` equal to it so steady load does not reconnect.",
		},
		Guide:   []GuideLink{rbLinkPool, rbLinkTx, rbLinkTimeouts},
		Related: []string{AlertConnectionPoolSaturated, AlertQueryLatencyP99Warning},
	}
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
