package rules

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/template/parse"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

// Result is the outcome of Run: how many test cases passed and failed, and
// every failed check.
type Result struct {
	Passed, Failed int
	Failures       []Failure
}

// OK reports whether every test case passed.
func (r Result) OK() bool { return r.Failed == 0 }

// Failure is one failed check, or a test case that could not run.
type Failure struct {
	// Test is the test case's name.
	Test string
	// Alertname and EvalTime locate a failed alert check; they are empty
	// when the case failed before checking (bad series, rule error).
	Alertname string
	EvalTime  time.Duration
	// Message is promtool's report of the failure: for an alert check, the
	// expected and the firing alerts (exp:/got:).
	Message string
}

// Error formats the failure the way promtool prints it.
func (f Failure) Error() string {
	return fmt.Sprintf("    name: %s,\n%s", f.Test, f.Message)
}

// discard is the logger of the libraries Run drives: their logs are not
// test results.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// ruleFileName is the identifier the in-memory rule file is loaded under;
// it only appears in error messages.
const ruleFileName = "alerts.yml"

// Run evaluates cases against groups in process, with the engine promtool
// uses (the promqltest lazy loader's storage and PromQL engine, and the
// rules manager's groups): the rules are rendered and loaded back from the
// rendered bytes, each case's series are appended step by step, every
// group is evaluated every evalInterval from time zero, and at each check's
// eval_time the firing alerts of the rule are compared, exactly, with the
// expected ones. It never touches the file system or the network; ctx
// stops it between evaluation steps.
//
// Alerting rules that a case does not check, and recording rules whose
// output no checked rule reads, are not evaluated for it (see keepFor):
// they cannot change its outcome.
//
// The engine is the linked Prometheus (3.x), whose range selectors are
// open on the left; promtool 2.42 includes a sample exactly at the window
// start. Tests meant for both keep their decisive samples off window edges.
func Run(ctx context.Context, groups []Group, evalInterval time.Duration, cases []TestCase) Result {
	var res Result
	failAll := func(msg string) Result {
		for _, tc := range cases {
			res.Failed++
			res.Failures = append(res.Failures, Failure{Test: tc.Name, Message: "    " + msg})
		}
		return res
	}
	data, err := Render(groups)
	if err != nil {
		return failAll(err.Error())
	}
	parsed, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), discard)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = toDiag(ruleFileName, parsed, positionsOf(data), e).Error()
		}
		return failAll("invalid rules: " + strings.Join(msgs, "; "))
	}
	if err := checkTests(evalInterval, cases); err != nil {
		return failAll(err.Error())
	}
	order := make(map[string]int, len(groups))
	for i, g := range groups {
		order[g.Name] = i
	}
	rs := readsOf(parsed, parser.NewParser(parser.Options{}))
	for _, tc := range cases {
		fs := runCase(ctx, parsed, keepFor(tc, parsed, rs), order, evalInterval, tc)
		if len(fs) == 0 {
			res.Passed++
			continue
		}
		res.Failed++
		res.Failures = append(res.Failures, fs...)
	}
	return res
}

// memLoader serves the rendered rule file, parsed once by rulefmt exactly
// as a file would be, to the rules manager, keeping only the rules keep
// marks (by group and rule index).
type memLoader struct {
	groups *rulefmt.RuleGroups
	keep   [][]bool
	parser parser.Parser
}

func (l memLoader) Load(string, bool, model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	out := &rulefmt.RuleGroups{Groups: make([]rulefmt.RuleGroup, len(l.groups.Groups))}
	for i, g := range l.groups.Groups {
		g.Rules = nil
		for j, r := range l.groups.Groups[i].Rules {
			if l.keep[i][j] {
				g.Rules = append(g.Rules, r)
			}
		}
		out.Groups[i] = g
	}
	return out, nil
}

func (l memLoader) Parse(query string) (parser.Expr, error) { return l.parser.ParseExpr(query) }

// reads is what one rule reads from storage: the metric names its
// selectors fix. any means it may read any series: a selector without a
// fixed name, an expression that does not parse, or a template calling
// query.
type reads struct {
	names []string
	any   bool
}

// callsQuery reports whether the label or annotation template text calls
// Prometheus' query function (which reads any series), or cannot be
// parsed to tell.
func callsQuery(text string) bool {
	if !strings.Contains(text, "query") {
		return false
	}
	t := parse.New("template")
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	// The variables the rule manager defines before every template.
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	if _, err := t.Parse(defs+text, "{{", "}}", trees); err != nil {
		return true
	}
	for _, tr := range trees {
		if callsQueryNode(tr.Root) {
			return true
		}
	}
	return false
}

func callsQueryNode(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		return n.Ident == "query"
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if callsQueryNode(c) {
				return true
			}
		}
	case *parse.ActionNode:
		return callsQueryNode(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if callsQueryNode(c) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if callsQueryNode(a) {
				return true
			}
		}
	case *parse.ChainNode:
		return callsQueryNode(n.Node)
	case *parse.IfNode:
		return callsQueryNode(n.Pipe) || callsQueryNode(n.List) || callsQueryNode(n.ElseList)
	case *parse.RangeNode:
		return callsQueryNode(n.Pipe) || callsQueryNode(n.List) || callsQueryNode(n.ElseList)
	case *parse.WithNode:
		return callsQueryNode(n.Pipe) || callsQueryNode(n.List) || callsQueryNode(n.ElseList)
	case *parse.TemplateNode:
		return callsQueryNode(n.Pipe)
	}
	return false
}

// readsOf is what every rule of groups reads, by group and rule index.
func readsOf(groups *rulefmt.RuleGroups, p parser.Parser) [][]reads {
	out := make([][]reads, len(groups.Groups))
	for i, g := range groups.Groups {
		out[i] = make([]reads, len(g.Rules))
		for j, r := range g.Rules {
			rd := &out[i][j]
			for _, m := range []map[string]string{r.Labels, r.Annotations} {
				for _, v := range m {
					rd.any = rd.any || callsQuery(v)
				}
			}
			e, err := p.ParseExpr(r.Expr)
			if err != nil {
				rd.any = true
				continue
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				name := vs.Name
				for _, m := range vs.LabelMatchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
				if name == "" {
					rd.any = true
				} else {
					rd.names = append(rd.names, name)
				}
				return nil
			})
		}
	}
	return out
}

// keepFor selects the rules a test case needs, by group and rule index:
// every alerting rule the case checks, any alerting rule that reads the
// ALERTS series (whose output another rule may use), and the recording
// rules whose output those read, directly or through other records. A
// rule's only effect is the series it writes, so leaving out the others
// changes no checked result; it spares evaluating every rule at every step
// of every case, which in a fleet means every service's recording group.
func keepFor(tc TestCase, groups *rulefmt.RuleGroups, rs [][]reads) [][]bool {
	checked := map[string]bool{}
	for _, at := range tc.AlertTests {
		checked[at.Alertname] = true
	}
	keep := make([][]bool, len(groups.Groups))
	need := map[string]bool{}
	needAll := false
	use := func(i, j int) {
		keep[i][j] = true
		needAll = needAll || rs[i][j].any
		for _, n := range rs[i][j].names {
			need[n] = true
		}
	}
	for i, g := range groups.Groups {
		keep[i] = make([]bool, len(g.Rules))
		for j, r := range g.Rules {
			if r.Alert != "" && (checked[r.Alert] || strings.Contains(r.Expr, "ALERTS")) {
				use(i, j)
			}
		}
	}
	for more := true; more; {
		more = false
		for i, g := range groups.Groups {
			for j, r := range g.Rules {
				if r.Record != "" && !keep[i][j] && (needAll || need[r.Record]) {
					use(i, j)
					more = true
				}
			}
		}
	}
	return keep
}

// firing is one firing alert as compared: labels and annotations.
type firing struct {
	labels, annotations labels.Labels
}

func (f firing) String() string {
	return "Labels:" + f.labels.String() + "\nAnnotations:" + f.annotations.String()
}

// runCase runs one test case and returns its failures.
func runCase(ctx context.Context, parsed *rulefmt.RuleGroups, keep [][]bool, order map[string]int, evalInterval time.Duration, tc TestCase) []Failure {
	fail := func(format string, args ...any) []Failure {
		return []Failure{{Test: tc.Name, Message: "    " + fmt.Sprintf(format, args...)}}
	}
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", model.Duration(tc.Interval))
	for _, s := range tc.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	p := parser.NewParser(parser.Options{})
	ll, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true, Parser: p})
	if err != nil {
		return fail("input series: %v", err)
	}
	defer ll.Close()
	ll.SubqueryInterval = evalInterval

	mgr := rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme: model.LegacyValidation,
		QueryFunc:            rules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2:         ll.Storage(),
		Context:              ctx,
		NotifyFunc:           func(context.Context, string, ...*rules.Alert) {},
		Logger:               discard,
		GroupLoader:          memLoader{groups: parsed, keep: keep, parser: p},
		Parser:               p,
	})
	loaded, errs := mgr.LoadGroups(tc.Interval, labels.EmptyLabels(), "", nil, false, ruleFileName)
	if len(errs) > 0 {
		return fail("load rules: %v", errs[0])
	}
	groups := make([]*rules.Group, 0, len(loaded))
	for _, g := range loaded {
		groups = append(groups, g)
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				// As if the server had been up: without it the ALERTS
				// series is not written and for-state is not trusted.
				ar.SetRestored(true)
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return order[groups[i].Name()] < order[groups[j].Name()] })

	// Checks by eval time, in time order; a check at t is made after the
	// evaluation at the last step at or before t.
	checks := append([]AlertTest(nil), tc.AlertTests...)
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].EvalTime < checks[j].EvalTime })
	var maxt time.Duration
	for _, c := range checks {
		maxt = max(maxt, c.EvalTime)
	}

	var failures []Failure
	start := time.Unix(0, 0).UTC()
	next := 0
	for step := time.Duration(0); step <= maxt; step += evalInterval {
		if err := ctx.Err(); err != nil {
			return append(failures, fail("stopped at %s: %v", model.Duration(step), err)...)
		}
		ts := start.Add(step)
		var evalErr error
		ll.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErr = fmt.Errorf("append series: %w", err)
				return
			}
			for _, g := range groups {
				g.Eval(ctx, ts)
				for _, r := range g.Rules() {
					if err := r.LastError(); err != nil && evalErr == nil {
						evalErr = fmt.Errorf("rule: %s, time: %s, err: %w", r.Name(), model.Duration(step), err)
					}
				}
			}
		})
		if evalErr != nil {
			return append(failures, fail("%v", evalErr)...)
		}
		for next < len(checks) && checks[next].EvalTime < step+evalInterval {
			if f, ok := check(groups, tc.Name, checks[next]); !ok {
				failures = append(failures, f)
			}
			next++
		}
	}
	return failures
}

// check compares the firing alerts of one rule with the expected ones.
func check(groups []*rules.Group, test string, at AlertTest) (Failure, bool) {
	var got []firing
	for _, g := range groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != at.Alertname {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got = append(got, firing{a.Labels.Copy(), a.Annotations.Copy()})
				}
			}
		}
	}
	exp := make([]firing, 0, len(at.ExpAlerts))
	for _, a := range at.ExpAlerts {
		ls := make(map[string]string, len(a.Labels)+1)
		for k, v := range a.Labels {
			ls[k] = v
		}
		ls[labels.AlertName] = at.Alertname
		exp = append(exp, firing{labels.FromMap(ls), labels.FromMap(a.Annotations)})
	}
	sortFiring(got)
	sortFiring(exp)
	if equalFiring(exp, got) {
		return Failure{}, true
	}
	return Failure{
		Test:      test,
		Alertname: at.Alertname,
		EvalTime:  at.EvalTime,
		Message: fmt.Sprintf("    alertname: %s, time: %s, \n        exp:%s, \n        got:%s",
			at.Alertname, model.Duration(at.EvalTime), indent(firingString(exp), "            "), indent(firingString(got), "            ")),
	}, false
}

func sortFiring(fs []firing) {
	sort.Slice(fs, func(i, j int) bool {
		if c := labels.Compare(fs[i].labels, fs[j].labels); c != 0 {
			return c < 0
		}
		return labels.Compare(fs[i].annotations, fs[j].annotations) < 0
	})
}

func equalFiring(a, b []firing) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !labels.Equal(a[i].labels, b[i].labels) || !labels.Equal(a[i].annotations, b[i].annotations) {
			return false
		}
	}
	return true
}

// firingString lists alerts as promtool does: "[]" or a numbered list.
func firingString(fs []firing) string {
	if len(fs) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteString("[")
	for i, f := range fs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n%d:%s", i, indent("\n"+f.String(), "  "))
	}
	b.WriteString("\n]")
	return b.String()
}

// indent prefixes every line but the first with prefix.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
