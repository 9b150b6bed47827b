package specs

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// A fleet (services: in the config) is evaluated in two layers, so that
// the alerting rules do not multiply with the services:
//
//   - one recording group per service selects that service's raw series
//     with its selector, aggregates them to the identity labels (and
//     query_type, le, db_name) and records them with the service and team
//     labels; the group also records the service's overridden thresholds
//     as series, dbmon:threshold:<key>{service="…"};
//   - one alerting group, the same alerts as a single service, reads only
//     the recorded series, aggregated by service, team and the identity
//     labels, and compares with the default threshold, or with the
//     threshold series of the services that override it
//     (`> on(service) group_left()`).
//
// Selectors differ per service, so the selection is one set of rules per
// service; the alerts are one per alert for the whole fleet.

// levelKey names one alert level's threshold as a series key.
type levelKey struct {
	key   string
	level func(*Thresholds) *Level
}

// levelKeys are the levels whose threshold a service may override, in the
// order of the Thresholds fields.
var levelKeys = []levelKey{
	{"slow_rate_info", func(t *Thresholds) *Level { return &t.SlowRate.Info }},
	{"slow_rate_warning", func(t *Thresholds) *Level { return &t.SlowRate.Warning }},
	{"slow_rate_critical", func(t *Thresholds) *Level { return &t.SlowRate.Critical }},
	{"slow_rate_by_type", func(t *Thresholds) *Level { return &t.SlowRateByType }},
	{"latency_p99_warning", func(t *Thresholds) *Level { return &t.LatencyP99.Warning }},
	{"latency_p99_critical", func(t *Thresholds) *Level { return &t.LatencyP99.Critical }},
	{"error_rate", func(t *Thresholds) *Level { return &t.ErrorRate }},
	{"rate_spike", func(t *Thresholds) *Level { return &t.RateSpike }},
	{"traffic_drop", func(t *Thresholds) *Level { return &t.TrafficDrop }},
	{"pool_saturation", func(t *Thresholds) *Level { return &t.PoolSaturation }},
	{"pool_wait", func(t *Thresholds) *Level { return &t.PoolWait }},
}

// keyOf returns the key of the level l points into t, or "".
func keyOf(t *Thresholds, l *Level) string {
	for _, k := range levelKeys {
		if k.level(t) == l {
			return k.key
		}
	}
	return ""
}

// ThresholdSeries is the name of the recorded threshold of a level key,
// e.g. dbmon:threshold:latency_p99_critical.
func ThresholdSeries(key string) string { return thresholdPrefix + key }

const thresholdPrefix = "dbmon:threshold:"

// knownRecords extends k with the series a fleet records.
func knownRecords(c Config, k promcheck.Known) promcheck.Known {
	q := newQuery(c)
	carry := []string{LabelService, LabelTeam}
	for _, m := range rateMetrics {
		k = k.WithRecord(q.rateRecord(m), m, carry...)
	}
	k = k.WithRecord(q.baselineRecord(), middleware.MetricQueriesTotal, carry...)
	k = k.WithRecord(q.presentRecord(), middleware.MetricQueriesTotal, carry...)
	k = k.WithRecord(absentRecord(), middleware.MetricQueriesTotal, carry...)
	k = k.WithRecord(poolUseRecord(), middleware.MetricPoolInUse, carry...)
	k = k.WithRecord(q.rateRecord(middleware.MetricPoolWaitDuration), middleware.MetricPoolWaitDuration, carry...)
	k = k.WithRecord(q.rateRecord(middleware.MetricPoolWaitCount), middleware.MetricPoolWaitCount, carry...)
	for _, m := range poolGauges {
		k = k.WithRecord(recordName(m, poolSumOp), m, carry...)
	}
	for _, lk := range levelKeys {
		k = k.WithRecord(ThresholdSeries(lk.key), "", LabelService)
	}
	if c.Middleware.StatementLabel {
		k = k.WithRecord(q.statementP99Record(), middleware.MetricQueryDuration+"_count", carry...)
		k = k.WithRecord(q.statementSlowRecord(), middleware.MetricSlowQueriesTotal, carry...)
		k = k.WithRecord(q.overflowRecord(), middleware.MetricStatementOverflowTotal, carry...)
	}
	return k
}

// Recorded series of a fleet: level service, the raw metric, the operation.
func recordName(metric, op string) string { return LabelService + ":" + metric + ":" + op }

// overrides returns, per level key, whether any service overrides it.
func overrides(c Config) map[string]bool {
	out := map[string]bool{}
	for i := range c.Services {
		if c.Services[i].Thresholds == nil {
			continue
		}
		t, def := c.ServiceThresholds(i), c.Thresholds
		for _, k := range levelKeys {
			if k.level(&t).Threshold != k.level(&def).Threshold {
				out[k.key] = true
			}
		}
	}
	return out
}

// rateMetrics are the counters the alerts read as rates, recorded per
// service by the identity labels and query_type (le for the buckets).
var rateMetrics = []string{
	middleware.MetricQueriesTotal,
	middleware.MetricSlowQueriesTotal,
	middleware.MetricQueryErrorsTotal,
	middleware.MetricQueryDuration + "_bucket",
	middleware.MetricQueryDuration + "_count",
}

// rateRecord is the recorded rate of metric over the rate window.
func (q Query) rateRecord(metric string) string { return recordName(metric, "rate"+q.window.String()) }

func (q Query) baselineRecord() string {
	return recordName(middleware.MetricQueriesTotal, fmt.Sprintf("rate%s_offset%s", q.baseline, q.window))
}

func (q Query) presentRecord() string {
	return recordName(middleware.MetricQueriesTotal, fmt.Sprintf("present_over_time%s_offset%s", q.window, q.baseline+q.window))
}

// poolGauges are the pool gauges the dashboard plots, recorded per
// service summed per pool (poolSumOp).
var poolGauges = []string{middleware.MetricPoolInUse, middleware.MetricPoolIdle, middleware.MetricPoolMaxOpen}

const poolSumOp = "sum"

func poolUseRecord() string { return recordName(middleware.MetricPoolInUse, "ratio_max_open") }

func absentRecord() string { return recordName(middleware.MetricQueriesTotal, "absent") }

// recordedFrom maps a recorded series name to the raw metric it reads, so
// that the checks of what an alert reads (absent inhibition, panels) see
// through the recording layer.
func recordedFrom(name string) string {
	if strings.HasPrefix(name, LabelService+":") {
		parts := strings.SplitN(name, ":", 3)
		if len(parts) == 3 {
			return parts[1]
		}
	}
	return name
}

// serviceGroupName is the recording group of service s.
func serviceGroupName(c Config, s string) string { return c.Alerting.GroupName + ":" + s }

// fleetGroups are the recording groups of the fleet, one per service.
func fleetGroups(c Config) []rules.Group {
	q := newQuery(c)
	ident := strings.Join(c.Service.IdentityLabels, ", ")
	db := ident + ", " + middleware.LabelDBName
	if c.Middleware.DBNameLabel {
		// The statement metrics carry db_name: keep it, so two
		// databases of one service alert and plot separately.
		ident = db
	}
	qt := ident + ", " + middleware.LabelQueryType
	groups := make([]rules.Group, 0, len(c.Services))
	for i, s := range c.Services {
		sel := func(metric string) string {
			return metric + "{" + strings.TrimSuffix(strings.TrimSpace(s.Selector), ",") + "}"
		}
		ls := map[string]string{LabelService: s.Name, LabelTeam: c.ServiceTeam(i)}
		rec := func(name, expr string) rules.Rule { return rules.Rule{Record: name, Expr: expr, Labels: ls} }
		var rs []rules.Rule
		for _, m := range rateMetrics {
			by := qt
			if strings.HasSuffix(m, "_bucket") {
				by += ", " + middleware.LabelLE
			}
			rs = append(rs, rec(q.rateRecord(m), fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, sel(m), q.window)))
		}
		rs = append(rs,
			rec(q.baselineRecord(), fmt.Sprintf("sum by (%s) (rate(%s[%s] offset %s))", ident, sel(middleware.MetricQueriesTotal), q.baseline, q.window)),
			rec(q.presentRecord(), fmt.Sprintf("max by (%s) (present_over_time(%s[%s] offset %s))", ident, sel(middleware.MetricQueriesTotal), q.window, q.baseline+q.window)),
			rec(absentRecord(), fmt.Sprintf("absent(%s)", sel(middleware.MetricQueriesTotal))),
			rec(poolUseRecord(), fmt.Sprintf("max by (%s) (\n  %s\n  /\n  (%s > 0)\n)", db, sel(middleware.MetricPoolInUse), sel(middleware.MetricPoolMaxOpen))),
			rec(q.rateRecord(middleware.MetricPoolWaitDuration), fmt.Sprintf("sum by (%s) (rate(%s[%s]))", db, sel(middleware.MetricPoolWaitDuration), q.window)),
		)
		// What the dashboard's pool panels plot, which no alert reads.
		rs = append(rs, rec(q.rateRecord(middleware.MetricPoolWaitCount), fmt.Sprintf("sum by (%s) (rate(%s[%s]))", db, sel(middleware.MetricPoolWaitCount), q.window)))
		for _, m := range poolGauges {
			rs = append(rs, rec(recordName(m, poolSumOp), fmt.Sprintf("sum by (%s) (%s)", db, sel(m))))
		}
		rs = append(rs, statementRecords(c, sel, rec)...)
		if s.Thresholds != nil {
			t, def := c.ServiceThresholds(i), c.Thresholds
			for _, k := range levelKeys {
				if v := k.level(&t).Threshold; v != k.level(&def).Threshold {
					rs = append(rs, rules.Rule{Record: ThresholdSeries(k.key), Expr: fmt.Sprintf("vector(%s)", promNum(v)), Labels: map[string]string{LabelService: s.Name}})
				}
			}
		}
		groups = append(groups, rules.Group{Name: serviceGroupName(c, s.Name), Interval: c.Alerting.EvaluationInterval.Std(), Rules: rs})
	}
	return groups
}

// cmp compares x with the threshold of level key: v for every service, or
// the recorded threshold of the services that override it.
func (q Query) cmp(x, op, key string, v float64) string {
	if !q.overrides[key] {
		return fmt.Sprintf("%s\n  %s %s", x, op, promNum(v))
	}
	t := ThresholdSeries(key)
	return fmt.Sprintf("(\n  %s\n    %s on (%s) group_left ()\n  %s\nor\n  (%s unless on (%s) %s)\n    %s %s\n)",
		x, op, LabelService, t, x, LabelService, t, op, promNum(v))
}

// fleetSum re-aggregates a recorded series by the alert's labels.
func (q Query) fleetSum(record string, extra ...string) string {
	return fmt.Sprintf("sum %s (%s)", q.by(extra...), record)
}

// ratio is the guarded share of part in total compared with the level key
// (single service: guardedRatio over the raw series).
func (q Query) ratio(part, total string, extra []string, op, key string, threshold float64) string {
	if !q.fleet {
		return q.guardedRatio(part, total, extra, op, threshold)
	}
	x := fmt.Sprintf("%s\n  /\n%s", q.fleetSum(q.rateRecord(part), extra...), q.fleetSum(q.rateRecord(total), extra...))
	return fmt.Sprintf("%s\nand\n%s >= %s", q.cmp(x, op, key, threshold), q.fleetSum(q.rateRecord(total), extra...), promNum(q.minRate))
}

// serviceSample is sampleLabels for service i of a fleet: its identity
// labels (the selector's values where it pins them), service and team.
func serviceSample(c Config, i int) map[string]string {
	one := c
	one.Services = nil
	one.Service.Selector = c.Services[i].Selector
	out := sampleLabels(one)
	out[LabelService] = c.Services[i].Name
	out[LabelTeam] = c.ServiceTeam(i)
	return out
}

// fleetTestService is the service whose series the rule tests of a fleet
// use: the first with the fleet's default thresholds; -1 when every
// service overrides some. The services that override are tested on their
// own thresholds too (serviceVariants).
func fleetTestService(c Config) int {
	for i := range c.Services {
		if t := c.ServiceThresholds(i); reflect.DeepEqual(t, c.Thresholds) {
			return i
		}
	}
	return -1
}

// newFleetTestKit is the test kit of a fleet: the series of service i, and
// alerts that carry its service and team labels.
func newFleetTestKit(c Config, i int) *TestKit {
	one := c
	one.Service.Selector = c.Services[i].Selector
	b := newTestKit(one)
	b.identity[LabelService] = c.Services[i].Name
	b.identity[LabelTeam] = c.ServiceTeam(i)
	b.service = i
	return b
}

// othersAbsent are the absence alerts of every service but the tested one
// at t: their series are missing from the first evaluation, so they fire
// from fire on.
func (b *TestKit) othersAbsent(a Alert, t, fire time.Duration) []rules.Alert {
	if t < fire {
		return nil
	}
	var out []rules.Alert
	for j, s := range b.c.Services {
		if j == b.service {
			continue
		}
		ls := ruleLabels(b.c, a)
		for k, v := range selectorEqualities(s.Selector) {
			ls[k] = v
		}
		ls[LabelService], ls[LabelTeam] = s.Name, b.c.ServiceTeam(j)
		summary, description := a.texts(humanizeAs(a.Humanize, 1), func(l string) string { return ls[l] })
		out = append(out, rules.Alert{Labels: ls, Annotations: annotations(b.c, a, summary, description)})
	}
	return out
}
