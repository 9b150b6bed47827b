package specs

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/exporters"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// A server pack is what the server knows and the middleware cannot see —
// connections against the server's limit, locks, deadlocks, cache hit
// ratios, dead rows, replication lag — as families and panels over one
// exporter's metrics. Its queries are checked against that exporter's
// contract (pkg/exporters), which KnownSeries adds only for the packs the
// config switches on: a server-pack query in a pack that is off is a
// promql finding. Its alerts select the exporter's scrape job, carry job
// and instance (the exporter target, one per server), and take the same
// severity ladder, routing and inhibitions as the middleware's.

// Names of the server packs, the values of server_packs.
const (
	PackPostgreSQL = "postgresql"
	PackMySQL      = "mysql"
)

// serverPack is one server pack: its name, the exporter contract its
// queries are held to, and its families and panels.
type serverPack struct {
	name     string
	contract exporters.Contract
	job      func(c Config) ExporterJob
	families []FamilyFunc
	panels   func(c Config, y uint32) []Panel
	overview func(c Config, y uint32) dashboard.Panel
	validate func(c Config, add func(id, path, format string, args ...any) *diag.Error)
	// twinLabels are the labels beyond instance that tell apart the
	// alerts of one family and server (a replica's replication
	// connections): the twin inhibition compares them too.
	twinLabels []string
}

// serverPacks are the server packs, in the order of the rule file and the
// dashboard.
func serverPacks() []serverPack {
	return []serverPack{postgresPack(), mysqlPack()}
}

// ServerPackNames lists the values server_packs accepts.
func ServerPackNames() []string {
	var out []string
	for _, p := range serverPacks() {
		out = append(out, p.name)
	}
	return out
}

// enabledServerPacks are the packs c switches on, in pack order.
func enabledServerPacks(c Config) []serverPack {
	var out []serverPack
	for _, p := range serverPacks() {
		if slices.Contains(c.ServerPacks, p.name) {
			out = append(out, p)
		}
	}
	return out
}

// serverFamilies are the families of the packs c switches on.
func serverFamilies(c Config) []FamilyFunc {
	var out []FamilyFunc
	for _, p := range enabledServerPacks(c) {
		out = append(out, p.families...)
	}
	return out
}

// serverPanels are the panels of the packs c switches on, one block of
// rows per pack below the panels before them.
func serverPanels(c Config, before []Panel) []Panel {
	var out []Panel
	y := panelsBottom(before)
	for _, p := range enabledServerPacks(c) {
		ps := p.panels(c, y)
		out = append(out, ps...)
		y = panelsBottom(ps)
	}
	return out
}

// panelsBottom is the first grid row below every panel of ps.
func panelsBottom(ps []Panel) uint32 {
	var y uint32
	for _, p := range ps {
		y = max(y, p.Grid.Y+p.Grid.H)
	}
	return y
}

// serverDescs are the metric contracts of the packs c switches on.
func serverDescs(c Config) []middleware.MetricDesc {
	var out []middleware.MetricDesc
	for _, p := range enabledServerPacks(c) {
		out = append(out, p.contract.Descs()...)
	}
	return out
}

// serverScrapes are the scrape jobs of the exporters of the packs c
// switches on.
func serverScrapes(c Config) []promScrape {
	var out []promScrape
	for _, p := range enabledServerPacks(c) {
		j := p.job(c)
		out = append(out, promScrape{
			JobName:        j.JobName,
			ScrapeInterval: c.Prometheus.ScrapeInterval.String(),
			MetricsPath:    "/metrics",
			StaticConfigs:  []promTargets{{Targets: j.Targets}},
		})
	}
	return out
}

// CheckServerPack: server_packs names an unknown pack or one twice, or a
// pack's settings are unsound.
const CheckServerPack = "server-pack"

// validateServerPacks checks server_packs and the settings of the packs
// it switches on; the settings of a pack that is off are not read.
func validateServerPacks(c Config) []error {
	var errs []error
	add := func(id, path, format string, args ...any) *diag.Error {
		e := diag.New(id, path, format, args...)
		errs = append(errs, e)
		return e
	}
	names := ServerPackNames()
	for i, n := range c.ServerPacks {
		path := fmt.Sprintf("server_packs[%d]", i)
		switch {
		case !slices.Contains(names, n):
			add(CheckServerPack, path, "unknown server pack %q (want one of: %s)", n, strings.Join(names, ", "))
		case slices.Index(c.ServerPacks, n) < i:
			add(CheckServerPack, path, "server pack %q is listed twice", n)
		}
	}
	jobs := map[string]string{c.Prometheus.JobName: "prometheus.job_name"}
	for _, p := range enabledServerPacks(c) {
		j := p.job(c)
		path := "server." + p.name + ".exporter"
		if strings.TrimSpace(j.JobName) == "" {
			add(CheckSetting, path+".job_name", "must not be empty")
		} else if other, ok := jobs[j.JobName]; ok {
			add(CheckServerPack, path+".job_name", "job %q is also %s; the pack's queries select its exporter by job, so it needs a job of its own", j.JobName, other).Relate(other)
		}
		jobs[j.JobName] = path + ".job_name"
		if len(j.Targets) == 0 {
			add(CheckSetting, path+".targets", "at least one host:port is required")
		}
		for i, hp := range j.Targets {
			if _, port, err := net.SplitHostPort(hp); err != nil || port == "" {
				add(CheckSetting, fmt.Sprintf("%s.targets[%d]", path, i), "want host:port, got %q", hp)
			}
		}
		p.validate(c, add)
	}
	return errs
}

// serverLevelChecks are the checks every pack applies to its levels.
type serverLevelChecks struct {
	c   Config
	add func(id, path, format string, args ...any) *diag.Error
}

// share: a threshold that is a share in (0, 1].
func (v serverLevelChecks) share(path string, l Level) {
	if !(l.Threshold > 0 && l.Threshold <= 1) {
		v.add(CheckRange, path+".threshold", "a share must be in (0, 1], got %v (write 80 %% as 0.8)", l.Threshold)
	}
	v.forAtLeastEval(path, l)
}

// positive: a threshold that must be above zero.
func (v serverLevelChecks) positive(path string, l Level, unit string) {
	if !(l.Threshold > 0) {
		v.add(CheckRange, path+".threshold", "must be positive %s, got %v", unit, l.Threshold)
	}
	v.forAtLeastEval(path, l)
}

// count: an event count over the rate window (deadlocks): at least zero,
// and a for shorter than the window, or the increase that the event
// makes would leave the window before the alert could fire.
func (v serverLevelChecks) count(path string, l Level) {
	if !(l.Threshold >= 0) || l.Threshold != math.Trunc(l.Threshold) {
		v.add(CheckRange, path+".threshold", "a number of events must be a whole number ≥ 0, got %v", l.Threshold)
	}
	v.forAtLeastEval(path, l)
	if l.For >= v.c.Thresholds.RateWindow {
		v.add(CheckRateWindow, path+".for", "%s must be shorter than thresholds.rate_window (%s): an event counts in the window for that long only, so the alert could never fire", l.For, v.c.Thresholds.RateWindow).Relate("thresholds.rate_window")
	}
}

// down: only the for of an up == 0 alert.
func (v serverLevelChecks) down(path string, l Level) { v.forAtLeastEval(path, l) }

// connections: warning below critical, both shares, critical not slower.
func (v serverLevelChecks) connections(path string, l ConnectionLevels) {
	v.ladder(path, l.Warning, l.Critical, v.share)
}

// lag: warning below critical, both positive seconds, critical not slower.
func (v serverLevelChecks) lag(path string, l LagLevels) {
	v.ladder(path, l.Warning, l.Critical, func(p string, l Level) { v.positive(p, l, "seconds") })
}

// ladder: each level passes each, the warning's threshold is below the
// critical's, and the critical does not wait longer than the warning.
func (v serverLevelChecks) ladder(path string, warn, crit Level, each func(path string, l Level)) {
	each(path+".warning", warn)
	each(path+".critical", crit)
	if !(warn.Threshold < crit.Threshold) {
		v.add(CheckThresholdOrder, path+".warning.threshold", "%v must be below %s.critical.threshold (%v)", warn.Threshold, path, crit.Threshold).Relate(path + ".critical.threshold")
	}
	if crit.For > warn.For {
		v.add(CheckForOrder, path+".critical.for", "%s must not exceed %s.warning.for (%s): the more urgent level must not wait longer", crit.For, path, warn.For).Relate(path + ".warning.for")
	}
}

func (v serverLevelChecks) minimum(path string, x float64) {
	if !(x > 0) {
		v.add(CheckRange, path, "must be positive, so that nothing divides by zero, got %v", x)
	}
}

func (v serverLevelChecks) forAtLeastEval(path string, l Level) {
	if l.For < v.c.Alerting.EvaluationInterval {
		v.add(CheckRange, path+".for", "%s is shorter than alerting.evaluation_interval (%s); one bad evaluation would notify", l.For, v.c.Alerting.EvaluationInterval).Relate("alerting.evaluation_interval")
	}
}

// serverQuery writes a pack's PromQL: every selector restricted to the
// exporter's job, every aggregation by job and instance (one exporter
// target is one server) and the pack's extra labels.
type serverQuery struct {
	job    string
	window Duration
}

func newServerQuery(c Config, j ExporterJob) serverQuery {
	return serverQuery{job: j.JobName, window: c.Thresholds.RateWindow}
}

// sel is metric of the exporter's job, with extra matchers.
func (q serverQuery) sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(append([]string{fmt.Sprintf("job=%q", q.job)}, matchers...), ", ") + "}"
}

// by groups by job, instance and extra.
func (q serverQuery) by(extra ...string) string {
	return "by (" + strings.Join(append([]string{"job", "instance"}, extra...), ", ") + ")"
}

// agg is op by (job, instance, extra) over expr.
func (q serverQuery) agg(op, expr string, extra ...string) string {
	return fmt.Sprintf("%s %s (%s)", op, q.by(extra...), expr)
}

// sumRate is the per-second rate of a counter over the rate window.
func (q serverQuery) sumRate(metric string, extra ...string) string {
	return q.agg("sum", fmt.Sprintf("rate(%s[%s])", q.sel(metric), q.window), extra...)
}

// panelRate is the per-second rate of a counter over Grafana's rate
// interval, summed by job, instance and extra: a panel's rate.
func (q serverQuery) panelRate(metric string, extra ...string) string {
	return q.agg("sum", fmt.Sprintf("rate(%s[$__rate_interval])", q.sel(metric)), extra...)
}

// sumIncrease is the increase of a counter over the rate window.
func (q serverQuery) sumIncrease(metric string, extra ...string) string {
	return q.agg("sum", fmt.Sprintf("increase(%s[%s])", q.sel(metric), q.window), extra...)
}

// serverWho names the server of an alert: its exporter target and job.
func serverWho(lb func(string) string) string {
	return fmt.Sprintf("server %s (job %s)", lb("instance"), lb("job"))
}

// serverKit writes a pack's test series and expected alerts: series carry
// the exporter's job and its first target as instance, which is what the
// alerts group by.
type serverKit struct {
	*TestKit
	job, instance string
}

func newServerKit(k *TestKit, j ExporterJob) serverKit {
	inst := "localhost:9999"
	if len(j.Targets) > 0 {
		inst = j.Targets[0]
	}
	return serverKit{TestKit: k, job: j.JobName, instance: inst}
}

func (s serverKit) labels(extra map[string]string) map[string]string {
	ls := map[string]string{"job": s.job, "instance": s.instance}
	for k, v := range extra {
		ls[k] = v
	}
	return ls
}

// series is a test series of metric as the exporter's scrape has it.
func (s serverKit) series(metric string, extra map[string]string, values string) rules.Series {
	return rules.Series{Series: metric + labelText(s.labels(extra)), Values: values}
}

// expect is the alert a fires as for this server: the rule's labels, job,
// instance and by (the alert's extra labels with their values), and the
// annotations with value written as the rule's template writes it.
func (s serverKit) expect(a Alert, value float64, by map[string]string) rules.Alert {
	ls := ruleLabels(s.c, a)
	for k, v := range s.labels(by) {
		ls[k] = v
	}
	summary, description := a.texts(humanizeAs(a.Humanize, value), func(l string) string { return ls[l] })
	return rules.Alert{Labels: ls, Annotations: annotations(s.c, a, summary, description)}
}

// gaugeCases tests an alert on gauges that hold from time zero: fire is
// for after the first evaluation; the alert is pending one evaluation
// earlier. series(v) writes the inputs for an observed value v.
func (s serverKit) gaugeCases(a Alert, l Level, by map[string]string, series func(v float64, n int) []rules.Series, over, under float64, what func(v float64) string, extra ...rules.TestCase) []rules.TestCase {
	fire := s.evalCeil(l.For.Std())
	n := s.steps(fire)
	cases := []rules.TestCase{
		s.tc(a.Name, what(over)+fmt.Sprintf(" fires after %s, not one evaluation earlier", l.For),
			series(over, n), alertCheck(a.Name, fire-s.eval), alertCheck(a.Name, fire, s.expect(a, over, by))),
		s.tc(a.Name, what(under)+" does not fire", series(under, n), alertCheck(a.Name, fire)),
	}
	return append(cases, extra...)
}

// serverLadder is a family of two alerts over one gauge of a server, a
// critical and a warning level (connections in use, replication lag):
// level writes the alert of one level, and cases tests it with values
// over and under its threshold. The critical's are above (over its
// threshold) and the midpoint of the two thresholds; the warning's are
// that midpoint and 90 % of its threshold.
func serverLadder(family string, crit, warn Level, critName, warnName string, above float64,
	level func(name, severity string, l Level) Alert, cases func(a Alert, l Level, over, under float64) []rules.TestCase) Family {
	c := level(critName, SeverityCritical, crit)
	w := level(warnName, SeverityWarning, warn)
	mid := (warn.Threshold + crit.Threshold) / 2
	c.Cases = cases(c, crit, above, mid)
	w.Cases = cases(w, warn, mid, warn.Threshold*0.9)
	return Family{Name: family, Alerts: []Alert{c, w}}
}

// eventCases tests an alert on the increase of an event counter (a
// deadlock count) over the rate window: the counter is flat, jumps by
// threshold+1 at one sample, and stays flat. The increase over a window
// that holds a zero-increase sample before the jump and ends on a sample
// is exact, so the value is the jump.
// lbl are the series' own labels, by the alert's beyond job and instance.
func (s serverKit) eventCases(a Alert, l Level, metric string, lbl, by map[string]string) []rules.TestCase {
	jumpStep := 4
	jumpAt := time.Duration(jumpStep) * s.step
	// the first evaluation that sees the jump
	seen := s.evalCeil(jumpAt)
	fire := seen + s.evalCeil(l.For.Std())
	n := s.steps(fire)
	jump := l.Threshold + 1
	values := func(j float64) string {
		return fmt.Sprintf("0+0x%d %s+0x%d", jumpStep-1, fnum(j), n-jumpStep)
	}
	return []rules.TestCase{
		s.tc(a.Name, fmt.Sprintf("%s at once fire after %s, not one evaluation earlier", fnum(jump), l.For),
			[]rules.Series{s.series(metric, lbl, values(jump))},
			alertCheck(a.Name, fire-s.eval), alertCheck(a.Name, fire, s.expect(a, jump, by))),
		s.tc(a.Name, fmt.Sprintf("%s, not more than %s, do not fire", fnum(l.Threshold), fnum(l.Threshold)),
			[]rules.Series{s.series(metric, lbl, values(l.Threshold))}, alertCheck(a.Name, fire)),
		s.tc(a.Name, fmt.Sprintf("a counter already at %s when first scraped (an exporter restart) does not fire", fnum(jump+5)),
			[]rules.Series{s.series(metric, lbl, fmt.Sprintf("%s+0x%d", fnum(jump+5), n))}, alertCheck(a.Name, fire)),
	}
}

// rateCases tests an alert on the rate of a counter above l.Threshold
// per second, as poolWaitCases does; lbl and by as for eventCases.
func (s serverKit) rateCases(a Alert, l Level, metric string, lbl, by map[string]string) []rules.TestCase {
	fire := s.firstRate() + s.evalCeil(l.For.Std())
	n := s.steps(fire)
	hiStep := niceCeil(2 * l.Threshold * s.window.Seconds())
	perSecond := hiStep / s.step.Seconds()
	loStep := shareUnder(l.Threshold) * s.step.Seconds()
	series := func(inc float64) []rules.Series {
		return []rules.Series{s.series(metric, lbl, counterValues(counterPhase{inc, n}))}
	}
	return []rules.TestCase{
		s.tc(a.Name, fmt.Sprintf("%s per second fire after %s, not one evaluation earlier", FormatNumber(perSecond), l.For),
			series(hiStep), alertCheck(a.Name, fire-s.eval), alertCheck(a.Name, fire, s.expect(a, s.rateAt(perSecond, fire), by))),
		s.tc(a.Name, fmt.Sprintf("%s per second, just under %s, do not fire", FormatNumber(shareUnder(l.Threshold)), FormatNumber(l.Threshold)),
			series(loStep), alertCheck(a.Name, fire)),
		s.tc(a.Name, "none does not fire", series(0), alertCheck(a.Name, fire)),
	}
}

// hitRatioCases tests a "hit ratio below threshold" alert, guarded by a
// minimum rate of reads. series writes the counters of perStep reads per
// sample of which a share ratio hits the cache.
func (s serverKit) hitRatioCases(a Alert, l Level, minRate float64, by map[string]string, series func(perStep, ratio float64, n int) []rules.Series) []rules.TestCase {
	fire := s.firstRate() + s.evalCeil(l.For.Std())
	n := s.steps(fire)
	// enough that the rate of reads is above the guard from the second
	// sample on (the rate then is inc / window)
	inc := 1000.0
	for inc < 4*minRate*s.window.Seconds() {
		inc *= 10
	}
	lo := niceFloor(l.Threshold * 0.9)
	hi := l.Threshold + (1-l.Threshold)/2
	low := minRate / 2 * s.step.Seconds()
	return []rules.TestCase{
		s.tc(a.Name, fmt.Sprintf("a hit ratio of %s fires after %s, not one evaluation earlier", FormatPercent(lo), l.For),
			series(inc, lo, n), alertCheck(a.Name, fire-s.eval), alertCheck(a.Name, fire, s.expect(a, lo, by))),
		s.tc(a.Name, fmt.Sprintf("a hit ratio of %s, above %s, does not fire", FormatPercent(hi), FormatPercent(l.Threshold)),
			series(inc, hi, n), alertCheck(a.Name, fire)),
		s.tc(a.Name, "no reads do not fire", series(0, 0, n), alertCheck(a.Name, fire)),
		s.tc(a.Name, "reads under the minimum rate do not fire even when every one misses", series(low, 0, n), alertCheck(a.Name, fire)),
	}
}

// serverPanel is the common shape of a pack's time-series panels; about
// is what it plots, and the pack appends the alerts it shows.
func serverPanel(id int, title, about, unit string, grid dashboard.GridPos, queries ...dashboard.Query) Panel {
	return Panel{
		Panel: dashboard.Panel{
			ID:      uint32(id),
			Title:   title,
			Kind:    dashboard.KindTimeseries,
			Grid:    grid,
			Unit:    unit,
			Min:     dashboard.Float(0),
			Legend:  dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"mean", "max", "lastNotNull"}},
			Tooltip: dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
			Queries: queries,
		},
		About: about,
	}
}

// reading adds families whose alerts p helps to read besides the alerts
// that link to it.
func reading(p Panel, families ...string) Panel {
	p.Signals = append(p.Signals, families...)
	return p
}

// withLines draws the alert thresholds as dashed lines on p; colours
// above them are the alert's severity.
func withLines(p Panel, steps ...dashboard.Step) Panel {
	p.Thresholds = append([]dashboard.Step{{Value: nil, Color: dashColorOK}}, steps...)
	p.ThresholdLines = true
	return p
}

// withLadder draws a warning/critical pair of thresholds as dashed lines.
func withLadder(p Panel, warn, crit float64) Panel {
	return withLines(p,
		dashboard.Step{Value: dashboard.Float(warn), Color: dashColorWarning},
		dashboard.Step{Value: dashboard.Float(crit), Color: dashColorCritical})
}

// Colours of the overview's cells, shared by the packs: reachability
// (red until 1), a warning/critical ladder, and an event count (warning
// above threshold events).
func upSteps() []dashboard.Step {
	return []dashboard.Step{{Value: nil, Color: dashColorCritical}, {Value: dashboard.Float(1), Color: dashColorOK}}
}

func ladderSteps(warn, crit float64) []dashboard.Step {
	return []dashboard.Step{{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(warn), Color: dashColorWarning}, {Value: dashboard.Float(crit), Color: dashColorCritical}}
}

func eventSteps(threshold float64) []dashboard.Step {
	return []dashboard.Step{{Value: nil, Color: dashColorOK}, {Value: dashboard.Float(threshold + 1), Color: dashColorWarning}}
}

// below colours a "lower is worse" signal: red below threshold, green from it.
func below(p Panel, threshold float64) Panel {
	p.Thresholds = []dashboard.Step{{Value: nil, Color: dashColorCritical}, {Value: dashboard.Float(threshold), Color: dashColorOK}}
	p.ThresholdLines = true
	return p
}

// serverGrid places the i-th panel of a pack: three per row of height 8,
// from row y.
func serverGrid(y uint32, i int) dashboard.GridPos {
	return dashboard.GridPos{X: uint32(i%3) * 8, Y: y + uint32(i/3)*8, W: 8, H: 8}
}

// serverQ is a range query of a server panel.
func serverQ(ref, expr, legend string) dashboard.Query {
	return dashboard.Query{RefID: ref, Expr: expr, LegendFormat: legend}
}
