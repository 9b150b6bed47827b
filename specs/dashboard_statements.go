package specs

import (
	"fmt"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// The statement panels exist when the statement metrics carry the
// statement label (middleware.statement_label): the slowest statements,
// and how many statements are folded into the overflow name because the
// application's WithStatementLabel(max) was reached.

// Panel ids of the statement panels.
const (
	PanelSlowestStatements = 11 // Slowest Statements
	PanelStatementOverflow = 12 // Statement Names Folded
)

// TopStatements is the number of statements each list of the slowest
// statements table shows: the top N by p99 and the top N by slow rate.
const TopStatements = 10

// Column names of the slowest statements table.
const (
	dashColumnStatement = "Statement"
	dashColumnService   = "Service"
	dashColumnSlowRate  = "Slow/s"
)

// statementP99Record is the recorded p99 per statement of a fleet, e.g.
// service:db_query_duration_seconds:p99_rate5m_by_statement.
func (q Query) statementP99Record() string {
	return recordName(middleware.MetricQueryDuration, "p"+dashPercent(dashP99)+"_rate"+q.window.String()+"_by_"+middleware.LabelStatement)
}

// statementSlowRecord is the recorded slow rate per statement of a fleet.
func (q Query) statementSlowRecord() string {
	return recordName(middleware.MetricSlowQueriesTotal, "rate"+q.window.String()+"_by_"+middleware.LabelStatement)
}

// overflowRecord is the recorded rate of folded statements of a fleet.
func (q Query) overflowRecord() string { return q.rateRecord(middleware.MetricStatementOverflowTotal) }

// statementRecords are the rules a fleet's service group adds when the
// statement label is on: the p99 and the slow rate per statement (by the
// identity labels and db_name where kept), and the overflow rate. The
// table reads them, as every panel of a fleet reads records; a p99 is
// recorded rather than the buckets per statement, which would be
// buckets + 1 series per statement and service.
func statementRecords(c Config, sel func(string) string, rec func(name, expr string) rules.Rule) []rules.Rule {
	if !c.Middleware.StatementLabel {
		return nil
	}
	q := newQuery(c)
	ident := append([]string(nil), c.Service.IdentityLabels...)
	if c.Middleware.DBNameLabel {
		ident = append(ident, middleware.LabelDBName)
	}
	by := strings.Join(append(append([]string(nil), ident...), middleware.LabelStatement), ", ")
	// The overflow counter carries db_name only when the statement
	// metrics do (middleware.ContractWith).
	return []rules.Rule{
		rec(q.statementP99Record(), fmt.Sprintf("histogram_quantile(%s, sum by (%s, %s) (rate(%s[%s])))\n  > 0",
			promNum(dashP99), by, middleware.LabelLE, sel(middleware.MetricQueryDuration+"_bucket"), q.window)),
		rec(q.statementSlowRecord(), fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, sel(middleware.MetricSlowQueriesTotal), q.window)),
		rec(q.overflowRecord(), fmt.Sprintf("sum by (%s) (rate(%s[%s]))", strings.Join(ident, ", "), sel(middleware.MetricStatementOverflowTotal), q.window)),
	}
}

// statementPanels are the slowest statements table and the overflow
// panel, from grid row y, when the statement label is on.
func statementPanels(c Config, y uint32) []Panel {
	if !c.Middleware.StatementLabel {
		return nil
	}
	// Over every query type: a statement has one, and the per-statement
	// records of a fleet do not keep query_type.
	sel := dashPoolSelector(c)
	db := c.Middleware.DBNameLabel
	t := c.Thresholds
	slow := t.SlowQuery.Std().Seconds()
	latencySteps := dashLatencySteps(c)
	keys := []string{middleware.LabelStatement}
	if db {
		keys = append([]string{middleware.LabelDBName}, keys...)
	}
	if c.Fleet() {
		keys = append([]string{LabelService}, keys...)
	}
	by := strings.Join(keys, ", ")
	var p99, slowRate, overflow string
	if c.Fleet() {
		q := newQuery(c)
		// Each service's p99 of a statement; the services of the fleet
		// are rows of their own, since quantiles do not add up.
		p99 = fmt.Sprintf("topk(%d, max by (%s) (%s{%s}))", TopStatements, by, q.statementP99Record(), sel)
		slowRate = fmt.Sprintf("topk(%d, sum by (%s) (%s{%s}) > 0)", TopStatements, by, q.statementSlowRecord(), sel)
		overflow = fmt.Sprintf("sum by (%s) (%s{%s})", strings.Join(keys[:len(keys)-1], ", "), q.overflowRecord(), sel)
	} else {
		rate := func(metric string) string { return fmt.Sprintf("rate(%s{%s}[$__rate_interval])", metric, sel) }
		p99 = fmt.Sprintf("topk(%d, histogram_quantile(%s, sum by (%s, %s) (%s)) > 0)",
			TopStatements, dashFloat(dashP99), by, middleware.LabelLE, rate(middleware.MetricQueryDuration+"_bucket"))
		slowRate = fmt.Sprintf("topk(%d, sum by (%s) (%s) > 0)", TopStatements, by, rate(middleware.MetricSlowQueriesTotal))
		if db {
			overflow = fmt.Sprintf("sum by (%s) (%s)", middleware.LabelDBName, rate(middleware.MetricStatementOverflowTotal))
		} else {
			overflow = fmt.Sprintf("sum(%s)", rate(middleware.MetricStatementOverflowTotal))
		}
	}
	index := map[string]any{}
	rename := map[string]any{middleware.LabelStatement: dashColumnStatement, "Value #A": dashColumnP99, "Value #B": dashColumnSlowRate}
	for i, k := range append(append([]string(nil), keys...), "Value #A", "Value #B") {
		index[k] = i
	}
	if db {
		rename[middleware.LabelDBName] = dashColumnDatabase
	}
	if c.Fleet() {
		rename[LabelService] = dashColumnService
	}
	folded := "folded"
	for i := len(keys) - 2; i >= 0; i-- {
		folded = "{{" + keys[i] + "}} " + folded
	}
	return []Panel{
		{
			About: fmt.Sprintf("The %d statements (%s label) with the highest p99 duration, from the %s histogram, and the %d with the most statements per second at or above the slow-query threshold (%s), from %s, over every query type, now. "+
				"A statement in one list but not the other has an empty cell. p99 is yellow from %s and red from %s. "+
				"%s holds the statements without a name, %s those named after the application's maximum number of names was reached.",
				TopStatements, middleware.LabelStatement, middleware.MetricQueryDuration, TopStatements, FormatSeconds(slow), middleware.MetricSlowQueriesTotal,
				FormatSeconds(slow), FormatSeconds(t.LatencyP99.Warning.Threshold), middleware.StatementUnnamed, middleware.StatementOverflow),
			Signals: []string{FamilyQueryLatencyP99, FamilySlowQueryRate},
			Panel: dashboard.Panel{
				ID:    PanelSlowestStatements,
				Title: "Slowest Statements",
				Kind:  dashboard.KindTable,
				Grid:  dashboard.GridPos{X: 0, Y: y, W: 16, H: 10},
				Queries: []dashboard.Query{
					{RefID: "A", Expr: p99, Instant: true, Format: dashboard.FormatTable},
					{RefID: "B", Expr: slowRate, Instant: true, Format: dashboard.FormatTable},
				},
				// One frame per query: merge joins them on the statement
				// (and database, service) columns, organize drops Time and
				// names the columns, sortBy puts the slowest first.
				Transformations: []dashboard.Transformation{
					{ID: "merge", Options: map[string]any{}},
					{ID: "organize", Options: map[string]any{
						"excludeByName": map[string]any{"Time": true},
						"indexByName":   index,
						"renameByName":  rename,
					}},
					{ID: "sortBy", Options: map[string]any{"sort": []any{map[string]any{"field": dashColumnP99, "desc": true}}}},
				},
				Overrides: []dashboard.FieldOverride{
					{Field: dashColumnP99, Unit: dashUnitSeconds, Decimals: dashboard.Int(3), Thresholds: latencySteps, CellColor: true},
					{Field: dashColumnSlowRate, Unit: dashUnitOpsPerSec, Decimals: dashboard.Int(2)},
				},
			},
		},
		{
			About: fmt.Sprintf("Statements per second recorded under the name %s because the application already had its maximum number of statement names (WithStatementLabel(%d), middleware.max_statements), from %s. "+
				"Above zero, the slowest statements table cannot name every statement: raise the maximum in the application and in the config, or name fewer statements.",
				middleware.StatementOverflow, c.Middleware.MaxStatements, middleware.MetricStatementOverflowTotal),
			Panel: dashboard.Panel{
				ID:      PanelStatementOverflow,
				Title:   "Statement Names Folded",
				Kind:    dashboard.KindTimeseries,
				Grid:    dashboard.GridPos{X: 16, Y: y, W: 8, H: 10},
				Unit:    dashUnitOpsPerSec,
				Min:     dashboard.Float(0),
				Legend:  dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}},
				Tooltip: dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
				Queries: []dashboard.Query{{RefID: "A", Expr: overflow, LegendFormat: folded}},
			},
		},
	}
}
