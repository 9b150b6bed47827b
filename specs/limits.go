package specs

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// CheckLimits is the ID of the warnings about engine limits (limits:) the
// pack's rules or projected series exceed.
const CheckLimits = "limits"

// AssumedDatabases is the number of databases (*sql.DB with WithDBName)
// per instance the projection assumes when middleware.db_name_label is on:
// the label is turned on because an application talks to several, and two
// is the least that needs it. Without the label, one.
const AssumedDatabases = 2

// labelValues is the number of values each label of the middleware's
// metrics takes for one instance, with the opt-in labels of m: every
// query type and outcome, the databases, and the statement names plus
// _unnamed and _overflow.
func labelValues(l string, m MiddlewareLabels) int {
	switch l {
	case middleware.LabelQueryType:
		return len(middleware.QueryTypes)
	case middleware.LabelOutcome:
		return len(middleware.TxOutcomes)
	case middleware.LabelStatement:
		return m.MaxStatements + 2
	default: // db_name
		if m.DBNameLabel {
			return AssumedDatabases
		}
		return 1 // one *sql.DB
	}
}

// SeriesPerInstance is the number of series one instance with one *sql.DB
// exports with buckets histogram bounds, by metric name as a store counts
// them (a histogram's _bucket, _sum and _count are three names): every
// query type and transaction outcome, whether or not it ever occurred,
// since the store keeps a series for as long as it is scraped.
func SeriesPerInstance(buckets int) map[string]int {
	return SeriesPerInstanceWith(buckets, MiddlewareLabels{})
}

// SeriesPerInstanceWith is SeriesPerInstance for a middleware with the
// opt-in labels of m: the statement metrics times (max_statements + 2)
// with the statement label, an upper bound (it counts every name under
// every query type, while a name usually has one), and every metric that
// carries db_name times AssumedDatabases with the db_name label.
func SeriesPerInstanceWith(buckets int, m MiddlewareLabels) map[string]int {
	out := map[string]int{}
	for _, d := range middleware.ContractWith(middleware.ContractOptions{DBName: m.DBNameLabel, Statement: m.StatementLabel}) {
		n := 1
		for _, l := range d.Labels {
			n *= labelValues(l, m)
		}
		if d.Kind == middleware.KindHistogram {
			out[d.Name+"_bucket"] = n * (buckets + 1) // +Inf
			out[d.Name+"_sum"] = n
			out[d.Name+"_count"] = n
			continue
		}
		out[d.Name] = n
	}
	return out
}

// perInstanceBasis says what the series per instance assume, for the
// limit warnings: the buckets, and the opt-in labels when on.
func perInstanceBasis(c Config) string {
	s := fmt.Sprintf("%d buckets", len(c.Thresholds.Buckets))
	m := c.Middleware
	if m.DBNameLabel {
		s += fmt.Sprintf(", %d databases per instance (assumed with middleware.db_name_label)", AssumedDatabases)
	}
	if m.StatementLabel {
		s += fmt.Sprintf(", %d statement values per query type (middleware.max_statements + _unnamed + _overflow, an upper bound)", m.MaxStatements+2)
	}
	return s
}

// limitRelated are the config paths that set the series per instance.
func limitRelated(limit string, c Config) []string {
	out := []string{limit, "thresholds.buckets"}
	if c.Middleware.StatementLabel {
		out = append(out, "middleware.max_statements")
	}
	return out
}

// instances is the number of instances of service i, or of the single
// service (the generated scrape targets) when i < 0.
func (c Config) instances(i int) int {
	if i < 0 {
		return max(len(c.Prometheus.Targets), 1)
	}
	return max(c.Services[i].Instances, 1)
}

// validateLimits checks the limits' own values and each service's
// instances.
func validateLimits(c Config) []error {
	var errs []error
	for _, l := range []struct {
		path string
		v    int
	}{
		{"limits.rules_per_group", c.Limits.RulesPerGroup},
		{"limits.groups", c.Limits.Groups},
		{"limits.series", c.Limits.Series},
		{"limits.series_per_metric", c.Limits.SeriesPerMetric},
	} {
		if l.v < 0 {
			errs = append(errs, diag.New(CheckRange, l.path, "must be 0 (no check) or positive, got %d", l.v))
		}
	}
	for i, s := range c.Services {
		if s.Instances < 0 {
			errs = append(errs, diag.New(CheckRange, fmt.Sprintf("services[%d].instances", i), "must be positive (0 or unset means 1), got %d", s.Instances))
		}
	}
	return errs
}

// limitFindings warns where the pack exceeds limits: rules in one group,
// rule groups, and the active series the middleware's metrics and a
// fleet's recording groups will project (series per instance × instances
// plus the service's recorded series, per service and in total, and for
// the largest metric name).
func (p *Pack) limitFindings() []error {
	c := p.Config
	lim := c.Limits
	var errs []error
	// groupPath is where the file says what makes group g large.
	groupPath := func(name string) string {
		for i, s := range c.Services {
			if name == serviceGroupName(c, s.Name) {
				return fmt.Sprintf("services[%d]", i)
			}
		}
		return "alerting.group_name"
	}
	if lim.RulesPerGroup > 0 {
		for _, g := range p.RuleGroups {
			if n := len(g.Rules); n > lim.RulesPerGroup {
				errs = append(errs, diag.Warn(CheckLimits, groupPath(g.Name),
					"rule group %q has %d rules, above limits.rules_per_group (%d, Mimir's ruler_max_rules_per_rule_group): the ruler rejects the group; raise the tenant's limit and limits.rules_per_group",
					g.Name, n, lim.RulesPerGroup).Relate("limits.rules_per_group"))
			}
		}
	}
	if n := len(p.RuleGroups); lim.Groups > 0 && n > lim.Groups {
		errs = append(errs, diag.Warn(CheckLimits, "services",
			"the pack has %d rule groups (%d services + the alert group and packs), above limits.groups (%d, Mimir's ruler_max_rule_groups_per_tenant): the ruler rejects the groups beyond it; raise the tenant's limit and limits.groups, or split the fleet into tenants",
			n, len(c.Services), lim.Groups).Relate("limits.groups"))
	}

	per := SeriesPerInstanceWith(len(c.Thresholds.Buckets), c.Middleware)
	perInstance, largest := 0, ""
	for m, n := range per {
		perInstance += n
		if largest == "" || n > per[largest] || (n == per[largest] && m < largest) {
			largest = m
		}
	}
	type svc struct {
		path, name string
		instances  int
		recorded   int // series its recording group writes
	}
	var svcs []svc
	if c.Fleet() {
		groups := map[string][]rules.Rule{}
		for _, g := range p.RuleGroups {
			groups[g.Name] = g.Rules
		}
		for i, s := range c.Services {
			path := fmt.Sprintf("services[%d].instances", i)
			n := 0
			for _, r := range groups[serviceGroupName(c, s.Name)] {
				n += recordedSeries(c, i, r.Expr)
			}
			svcs = append(svcs, svc{path, s.Name, c.instances(i), n})
		}
	} else {
		svcs = []svc{{"prometheus.targets", "the service", c.instances(-1), 0}}
	}
	total, recorded := 0, 0
	for _, s := range svcs {
		n := s.instances*perInstance + s.recorded
		total += n
		recorded += s.recorded
		if lim.Series > 0 && n > lim.Series {
			errs = append(errs, diag.Warn(CheckLimits, s.path,
				"%s projects %d active series (%d instances × %d series per instance with %s%s), above limits.series (%d, Mimir's max_global_series_per_user) on its own",
				s.name, n, s.instances, perInstance, perInstanceBasis(c), plusRecorded(s.recorded), lim.Series).Relate(limitRelated("limits.series", c)...))
		}
	}
	instances := (total - recorded) / max(perInstance, 1)
	if lim.Series > 0 && total > lim.Series && len(svcs) > 1 {
		errs = append(errs, diag.Warn(CheckLimits, "services",
			"the fleet projects %d active series (%d instances in %d services × %d series per instance with %s%s), above limits.series (%d, Mimir's max_global_series_per_user): the store refuses new series beyond it; raise the tenant's limit and limits.series, use fewer buckets%s, or split the fleet into tenants",
			total, instances, len(svcs), perInstance, perInstanceBasis(c), plusRecorded(recorded), lim.Series, fewerStatements(c)).Relate(limitRelated("limits.series", c)...))
	}
	if n := instances * per[largest]; lim.SeriesPerMetric > 0 && n > lim.SeriesPerMetric {
		path := "services"
		if !c.Fleet() {
			path = "prometheus.targets"
		}
		errs = append(errs, diag.Warn(CheckLimits, path,
			"%s projects %d active series (%d instances × %d), above limits.series_per_metric (%d, Mimir's max_global_series_per_metric): the store refuses new series of it; raise the tenant's limit and limits.series_per_metric, or use fewer buckets%s",
			largest, n, instances, per[largest], lim.SeriesPerMetric, fewerStatements(c)).Relate(limitRelated("limits.series_per_metric", c)...))
	}
	// Records are not compared with series_per_metric: each aggregates
	// one raw metric to at most as many series (as many when instance is
	// an identity label), so the raw metric reaches the limit first.
	return errs
}

// fewerStatements is the advice to lower max_statements, when the
// statement label is on.
func fewerStatements(c Config) string {
	if !c.Middleware.StatementLabel {
		return ""
	}
	return " or fewer statement names (middleware.max_statements and the application's WithStatementLabel)"
}

func plusRecorded(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" + %d recorded", n)
}

// recordedSeries projects the series one recording rule of service i's
// group writes while the service reports: one per combination of the
// labels it aggregates by. query_type and le take every value the
// middleware exports (le: the buckets and +Inf), db_name one per *sql.DB;
// of the identity labels, instance takes one value per instance of the
// service and any other (job, cluster) one value per service. absent()
// writes nothing while the service reports, vector() (a threshold) one
// series.
func recordedSeries(c Config, i int, expr string) int {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return 0 // the rule checks report it
	}
	return seriesOf(c, i, e, false)
}

// seriesOf is recordedSeries of e; noLE leaves le out of its groupings
// (the argument of histogram_quantile, which consumes le). A comparison
// with a number keeps at most the series of its vector side.
func seriesOf(c Config, i int, e parser.Expr, noLE bool) int {
	switch e := e.(type) {
	case *parser.ParenExpr:
		return seriesOf(c, i, e.Expr, noLE)
	case *parser.BinaryExpr:
		if _, ok := e.RHS.(*parser.NumberLiteral); ok {
			return seriesOf(c, i, e.LHS, noLE)
		}
		return 1
	case *parser.Call:
		switch e.Func.Name {
		case "absent":
			return 0
		case "histogram_quantile":
			if len(e.Args) == 2 {
				return seriesOf(c, i, e.Args[1], true)
			}
		}
		return 1
	case *parser.AggregateExpr:
		if e.Without {
			break
		}
		n := 1
		for _, l := range e.Grouping {
			switch l {
			case middleware.LabelLE:
				if !noLE {
					n *= len(c.Thresholds.Buckets) + 1
				}
			case model.InstanceLabel:
				n *= c.instances(i)
			case middleware.LabelQueryType, middleware.LabelOutcome, middleware.LabelDBName, middleware.LabelStatement:
				n *= labelValues(l, c.Middleware)
			}
		}
		return n
	}
	return 1
}
