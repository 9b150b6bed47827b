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

// labelValues is the number of values each label of the middleware's
// metrics takes for one instance with one *sql.DB.
func labelValues(l string) int {
	switch l {
	case middleware.LabelQueryType:
		return len(middleware.QueryTypes)
	case middleware.LabelOutcome:
		return len(middleware.TxOutcomes)
	default: // db_name: one *sql.DB
		return 1
	}
}

// SeriesPerInstance is the number of series one instance with one *sql.DB
// exports with buckets histogram bounds, by metric name as a store counts
// them (a histogram's _bucket, _sum and _count are three names): every
// query type and transaction outcome, whether or not it ever occurred,
// since the store keeps a series for as long as it is scraped.
func SeriesPerInstance(buckets int) map[string]int {
	out := map[string]int{}
	for _, m := range middleware.Contract() {
		n := 1
		for _, l := range m.Labels {
			n *= labelValues(l)
		}
		if m.Kind == middleware.KindHistogram {
			out[m.Name+"_bucket"] = n * (buckets + 1) // +Inf
			out[m.Name+"_sum"] = n
			out[m.Name+"_count"] = n
			continue
		}
		out[m.Name] = n
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

	per := SeriesPerInstance(len(c.Thresholds.Buckets))
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
				"%s projects %d active series (%d instances × %d series per instance with %d buckets%s), above limits.series (%d, Mimir's max_global_series_per_user) on its own",
				s.name, n, s.instances, perInstance, len(c.Thresholds.Buckets), plusRecorded(s.recorded), lim.Series).Relate("limits.series", "thresholds.buckets"))
		}
	}
	instances := (total - recorded) / max(perInstance, 1)
	if lim.Series > 0 && total > lim.Series && len(svcs) > 1 {
		errs = append(errs, diag.Warn(CheckLimits, "services",
			"the fleet projects %d active series (%d instances in %d services × %d series per instance with %d buckets%s), above limits.series (%d, Mimir's max_global_series_per_user): the store refuses new series beyond it; raise the tenant's limit and limits.series, use fewer buckets, or split the fleet into tenants",
			total, instances, len(svcs), perInstance, len(c.Thresholds.Buckets), plusRecorded(recorded), lim.Series).Relate("limits.series", "thresholds.buckets"))
	}
	if n := instances * per[largest]; lim.SeriesPerMetric > 0 && n > lim.SeriesPerMetric {
		path := "services"
		if !c.Fleet() {
			path = "prometheus.targets"
		}
		errs = append(errs, diag.Warn(CheckLimits, path,
			"%s projects %d active series (%d instances × %d), above limits.series_per_metric (%d, Mimir's max_global_series_per_metric): the store refuses new series of it; raise the tenant's limit and limits.series_per_metric, or use fewer buckets",
			largest, n, instances, per[largest], lim.SeriesPerMetric).Relate("limits.series_per_metric", "thresholds.buckets"))
	}
	// Records are not compared with series_per_metric: each aggregates
	// one raw metric to at most as many series (as many when instance is
	// an identity label), so the raw metric reaches the limit first.
	return errs
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
	switch e := e.(type) {
	case *parser.Call:
		if e.Func.Name == "absent" {
			return 0
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
				n *= len(c.Thresholds.Buckets) + 1
			case model.InstanceLabel:
				n *= c.instances(i)
			case middleware.LabelQueryType, middleware.LabelOutcome, middleware.LabelDBName:
				n *= labelValues(l)
			}
		}
		return n
	}
	return 1
}
