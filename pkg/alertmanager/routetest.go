package alertmanager

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/labelset"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/common/model"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// RouteTest is one routing case: an alert's labels and the exact ordered
// list of receiver names Alertmanager notifies for it, as
// `amtool config routes test` prints them.
type RouteTest struct {
	// Name says what the case proves, as a sentence.
	Name string
	// Labels are the alert's labels (alertname included when it matters).
	Labels map[string]string
	// Receivers are the receiver names expected, in routing-tree order.
	Receivers []string
}

// AmtoolArgs are the arguments of the equivalent `amtool config routes
// test` run against configFile; amtool exits 1 when the receivers differ.
// Labels are sorted so the command line is deterministic.
func (t RouteTest) AmtoolArgs(configFile string) []string {
	args := []string{"config", "routes", "test", "--config.file=" + configFile, "--verify.receivers=" + strings.Join(t.Receivers, ",")}
	for _, k := range sortedKeys(t.Labels) {
		args = append(args, k+"="+t.Labels[k])
	}
	return args
}

// InhibitionTest is one inhibition case: a set of alerts firing together
// and which of them Alertmanager mutes.
type InhibitionTest struct {
	// Name says what the case proves, as a sentence.
	Name string
	// Firing are the label sets of the alerts firing at the same time.
	Firing []map[string]string
	// Muted are the label sets, each also in Firing, that must be muted;
	// every other firing alert must not be.
	Muted []map[string]string
}

// Result is the outcome of a batch of tests.
type Result struct {
	Passed, Failed int
	// Failures describe each failed test with what was expected (exp) and
	// what Alertmanager did (got).
	Failures []string
}

// Add merges o into r.
func (r *Result) Add(o Result) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Failures = append(r.Failures, o.Failures...)
}

// Err is nil when every test passed, and otherwise lists the failures.
func (r Result) Err() error {
	if r.Failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d alertmanager tests failed:\n%s", r.Failed, r.Passed+r.Failed, strings.Join(r.Failures, "\n"))
}

func (r *Result) fail(format string, args ...any) {
	r.Failed++
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// failAll records a load failure against every test: none of them ran.
func failAll(n int, errs []error) Result {
	var r Result
	msg := diag.Join(errs).Error()
	for i := 0; i < n; i++ {
		r.fail("load alertmanager config: %s", msg)
	}
	if n == 0 {
		r.fail("load alertmanager config: %s", msg)
	}
	return r
}

// RunRouteTests loads data with Alertmanager's loader and routes each
// test's labels through the tree with Alertmanager's dispatcher, exactly
// as `amtool config routes test` does.
func RunRouteTests(data []byte, tests []RouteTest) Result {
	cfg, errs := Load(data)
	if len(errs) > 0 {
		return failAll(len(tests), errs)
	}
	return runRouteTests(cfg, tests)
}

func runRouteTests(cfg *config.Config, tests []RouteTest) Result {
	var res Result
	root := dispatch.NewRoute(cfg.Route, nil)
	for _, t := range tests {
		var got []string
		for _, r := range root.Match(labelSet(t.Labels)) {
			got = append(got, r.RouteOpts.Receiver)
		}
		if !slices.Equal(got, t.Receivers) {
			res.fail("route test %q: alert %s\n  exp receivers: %s\n  got receivers: %s", t.Name, labelSet(t.Labels), receiverList(t.Receivers), receiverList(got))
			continue
		}
		res.Passed++
	}
	return res
}

func receiverList(rs []string) string {
	if len(rs) == 0 {
		return "(none)"
	}
	return strings.Join(rs, ",")
}

// RunInhibitionTests loads data with Alertmanager's loader and, for each
// test, feeds the firing alerts to Alertmanager's own inhibitor (the
// in-memory alert store and inhibit.Inhibitor the server runs) and asks it
// which alerts are muted.
func RunInhibitionTests(data []byte, tests []InhibitionTest) Result {
	cfg, errs := Load(data)
	if len(errs) > 0 {
		return failAll(len(tests), errs)
	}
	var res Result
	for _, t := range tests {
		got, err := muted(cfg, t.Firing)
		if err != nil {
			res.fail("inhibition test %q: %v", t.Name, err)
			continue
		}
		want := map[model.Fingerprint]bool{}
		firing := map[model.Fingerprint]bool{}
		for _, l := range t.Firing {
			firing[labelSet(l).Fingerprint()] = true
		}
		var bad []string
		for _, l := range t.Muted {
			ls := labelSet(l)
			if !firing[ls.Fingerprint()] {
				bad = append(bad, ls.String())
			}
			want[ls.Fingerprint()] = true
		}
		if len(bad) > 0 {
			res.fail("inhibition test %q: expected muted alerts that are not firing: %s", t.Name, strings.Join(bad, " "))
			continue
		}
		var exp, gotList []string
		for _, l := range t.Firing {
			ls := labelSet(l)
			if want[ls.Fingerprint()] {
				exp = append(exp, ls.String())
			}
			if got[ls.Fingerprint()] {
				gotList = append(gotList, ls.String())
			}
		}
		if !slices.Equal(exp, gotList) {
			res.fail("inhibition test %q:\n  exp muted: %s\n  got muted: %s", t.Name, alertList(exp), alertList(gotList))
			continue
		}
		res.Passed++
	}
	return res
}

func alertList(ls []string) string {
	if len(ls) == 0 {
		return "(none)"
	}
	return strings.Join(ls, " ")
}

// testEpoch is the fixed start time of test alerts: inhibition only asks
// whether an alert is unresolved, so any fixed instant keeps runs
// deterministic.
var testEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// muted runs Alertmanager's inhibitor over the firing alerts and returns
// the fingerprints of those it mutes.
func muted(cfg *config.Config, firing []map[string]string) (map[model.Fingerprint]bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	store, err := mem.NewAlerts(ctx, time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create alert store: %w", err)
	}
	defer store.Close()
	alerts := make([]*alert.Alert, 0, len(firing))
	for _, l := range firing {
		alerts = append(alerts, alert.New(model.Alert{Labels: labelSet(l), StartsAt: testEpoch}, testEpoch, false))
	}
	if err := store.Put(ctx, alerts...); err != nil {
		return nil, fmt.Errorf("store firing alerts: %w", err)
	}
	ih := inhibit.NewInhibitor(store, cfg.InhibitRules, logger, eventrecorder.NopRecorder())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ih.Run()
	}()
	// The inhibitor reads every stored alert before WaitForLoading returns,
	// so the answers below do not depend on goroutine scheduling.
	ih.WaitForLoading()
	out := map[model.Fingerprint]bool{}
	for _, a := range alerts {
		if ih.Mutes(ctx, labelset.FromModel(a.Labels)) {
			out[a.Labels.Fingerprint()] = true
		}
	}
	ih.Stop()
	<-done
	return out, nil
}

func labelSet(m map[string]string) model.LabelSet {
	ls := make(model.LabelSet, len(m))
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
