//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// The labels drill: the pack generated with both opt-in labels of the
// middleware (db_name and statement, ADR 0017 and 0018), on one
// Prometheus and one Alertmanager, watching one demo that runs two
// databases, orders and reports, and names its statements with more
// names than the label admits. It proves on the real binaries what the
// labels promise: a slow burst on orders raises the slow-rate alert for
// orders alone, delivered with db_name and a description naming the
// database; the dashboard's per-statement panels and db_name variable
// return data with the variables substituted as Grafana would; the
// names beyond max_statements are counted as folded.

// labelsConfig is appended to drillConfig: both labels, room for 5
// statement names. The demo names 6 kinds of statement (one, the failing
// GetArchivedItem, runs only in the errors scenario) and runs 2 pages
// more, so 5 names are admitted and the pages fold into _overflow.
const labelsConfig = `middleware:
  db_name_label: true
  statement_label: true
  max_statements: 5
`

// labelsStatements is the demo's --statements: its 6 own names and 2 pages.
const labelsStatements = 8

// The databases of the demo with db_name_label on.
var labelsDatabases = []string{"orders", "reports"}

// Grafana's view of the drill's data source: its scrape interval set to
// the drill's 1s, so $__interval is 1s (the minimum interval) and
// $__rate_interval is max($__interval + scrape interval, 4 × scrape
// interval) = 4s; the dashboard shows the last minute.
var grafanaMacros = strings.NewReplacer("$__rate_interval", "4s", "$__interval", "1s", "$__range", "60s")

const grafanaRange = time.Minute

// newLabelsDrill generates the pack from the drill config with both
// labels and starts the demo with two databases, Alertmanager and
// Prometheus.
func newLabelsDrill(t *testing.T) *drill {
	for _, bin := range []string{prometheus, alertmanager} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on PATH: install the Debian packages prometheus and prometheus-alertmanager", bin)
		}
	}
	d := newPackWith(t, "prometheus (labels)", labelsConfig)
	d.demo = startProc(t, d.dir, "demo", dbmonctl, "demo", "--config", d.cfg, "--db-dir", d.dir, "--listen", d.demoAddr,
		"--qps", fmt.Sprint(qps), "--statements", fmt.Sprint(labelsStatements), "--scenario", "healthy")
	d.demoURL = "http://" + d.demoAddr
	waitReady(t, d.demo, d.demoURL+"/scenario", 15*time.Second)
	d.startAlertmanager()
	d.startPrometheus()
	return d
}

// promResult is one series of a query answer: its labels and its values
// (one for an instant query, each point for a range query).
type promResult struct {
	labels map[string]string
	values []float64
}

// promQuery runs expr on d's Prometheus, instant at now or as a range
// over the last grafanaRange at a 1s step, as a Grafana panel target does.
func (d *drill) promQuery(expr string, asRange bool) ([]promResult, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	u := d.queryURL + "/api/v1/query?query=" + url.QueryEscape(expr)
	if asRange {
		now := time.Now()
		u = fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%d&end=%d&step=1", d.queryURL, url.QueryEscape(expr), now.Add(-grafanaRange).Unix(), now.Unix())
	}
	if err := d.get(u, &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, r.Error)
	}
	var out []promResult
	for _, x := range r.Data.Result {
		points := x.Values
		if x.Value != nil {
			points = [][]any{x.Value}
		}
		res := promResult{labels: x.Metric}
		for _, p := range points {
			s, _ := p[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("query %s: value %v: %w", expr, p[1], err)
			}
			res.values = append(res.values, v)
		}
		out = append(out, res)
	}
	return out, nil
}

// labelValuesQuery matches a Grafana label_values(selector, label) query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.*), *([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// variableValues runs a Grafana query variable the way Grafana's
// Prometheus data source does, through the label values API with the
// selector as match[] over the dashboard's range, and returns the values.
func (d *drill) variableValues(query string) ([]string, error) {
	m := labelValuesQuery.FindStringSubmatch(query)
	if m == nil {
		return nil, fmt.Errorf("variable query %q is not label_values(selector, label)", query)
	}
	now := time.Now()
	var r struct {
		Data []string `json:"data"`
	}
	u := fmt.Sprintf("%s/api/v1/label/%s/values?match[]=%s&start=%d&end=%d", d.queryURL, m[2], url.QueryEscape(m[1]), now.Add(-grafanaRange).Unix(), now.Unix())
	if err := d.get(u, &r); err != nil {
		return nil, err
	}
	return r.Data, nil
}

// grafanaDashboard is what the drill reads of the generated dashboard.
type grafanaDashboard struct {
	Templating struct {
		List []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Query    any    `json:"query"`
			AllValue string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Targets []struct {
			RefID   string `json:"refId"`
			Expr    string `json:"expr"`
			Instant bool   `json:"instant"`
		} `json:"targets"`
	} `json:"panels"`
}

// substitute replaces the dashboard variables in expr as Grafana does for
// a selection: a variable set to All becomes its allValue; one set to
// values becomes them, regex-escaped and joined as (a|b); then the
// interval macros.
func substitute(expr string, vars map[string][]string, allValue map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) }) // $query_type before a $query
	for _, n := range names {
		v := allValue[n]
		if vals := vars[n]; vals != nil {
			quoted := make([]string, len(vals))
			for i, x := range vals {
				quoted[i] = regexp.QuoteMeta(x)
			}
			v = strings.Join(quoted, "|")
			if len(vals) > 1 {
				v = "(" + v + ")"
			}
		}
		expr = strings.ReplaceAll(expr, "${"+n+"}", v)
		expr = strings.ReplaceAll(expr, "$"+n, v)
	}
	return grafanaMacros.Replace(expr)
}

// labelsRow is one line of the drill's table.
type labelsRow struct{ check, selection, result string }

func TestLabelsDrill(t *testing.T) {
	began := time.Now()
	d := newLabelsDrill(t)
	for _, a := range []string{"SlowQueryRateCritical", "SlowQueryRateWarning", "SlowQueryRateInfo"} {
		if _, ok := d.severity[a]; !ok {
			t.Fatalf("the generated rules have no %s", a)
		}
	}
	var rows []labelsRow
	row := func(check, selection, format string, args ...any) {
		rows = append(rows, labelsRow{check, selection, fmt.Sprintf(format, args...)})
	}
	defer func() {
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "check\tselection\tresult")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%s\t%s\n", r.check, r.selection, r.result)
		}
		w.Flush()
		t.Logf("labels drill (%v):\n%s", time.Since(began).Round(100*time.Millisecond), b.String())
	}()

	// Both databases report, at the demo's rate each.
	rate := `sum by (db_name) (rate(db_queries_total[6s])) > 0`
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		res, err := d.promQuery(rate, false)
		if err == nil && len(res) == len(labelsDatabases) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after 60s %s answers %v (last error %v), want a rate for each of %v", rate, res, err, labelsDatabases)
		}
	}
	time.Sleep(time.Until(d.ready.Add(warmup)))
	if firing := d.engineAlertLabels("firing"); len(firing) > 0 {
		t.Fatalf("alerts firing before the anomaly, on a healthy workload: %v", firing)
	}

	// The slow burst, on orders only.
	onset := time.Now()
	if err := post(d.demoURL + "/scenario?name=slow-burst&db=orders"); err != nil {
		t.Fatal(err)
	}
	const alert = "SlowQueryRateCritical"
	violations := map[string]bool{}
	pollEngine := func() {
		for _, state := range []string{"pending", "firing"} {
			for _, ls := range d.engineAlertLabels(state) {
				if ls["db_name"] != "orders" {
					violations[fmt.Sprintf("%s{db_name=%q} %s: the burst is on orders only", ls["alertname"], ls["db_name"], state)] = true
				}
			}
		}
	}
	ofOrders := func(n notification) bool {
		return strings.Contains(n.Title, "orders") && !strings.Contains(n.Title, "reports")
	}
	want := routesFor(d.severity[alert])
	fired := map[string]time.Time{} // db_name → startsAt of the alert in Alertmanager
	for {
		pollEngine()
		for _, x := range d.amAlerts() {
			if x.Labels["alertname"] == alert {
				if _, ok := fired[x.Labels["db_name"]]; !ok {
					fired[x.Labels["db_name"]] = x.StartsAt
				}
			}
		}
		list, _ := d.box.snapshot()
		var missing []string
		for _, r := range want {
			if _, ok := firstNotified(list, onset, alert, r, ofOrders); !ok {
				missing = append(missing, r.String())
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Since(onset) > deadline {
			t.Fatalf("%s{db_name=\"orders\"} still not notified on %v %v after the burst began", alert, missing, deadline)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for end := time.Now().Add(settle); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		pollEngine()
	}
	for _, v := range slices.Sorted(maps.Keys(violations)) {
		t.Errorf("Prometheus had %s", v)
	}

	// In Alertmanager: the alert of orders only, with db_name among its
	// labels and a description naming the database.
	var am []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := d.get(d.amURL+"/api/v2/alerts", &am); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, x := range am {
		if x.Labels["db_name"] != "orders" {
			t.Errorf("Alertmanager holds %s with db_name %q, want orders only: %v", x.Labels["alertname"], x.Labels["db_name"], x.Labels)
			continue
		}
		if x.Labels["alertname"] == alert {
			seen++
			if desc := x.Annotations["description"]; !strings.Contains(desc, "database orders") {
				t.Errorf("%s description %q does not name the database orders", alert, desc)
			}
			row("alert in Alertmanager", `db_name="orders"`, "%s: %s", alert, x.Annotations["description"])
		}
	}
	if seen != 1 {
		t.Errorf("Alertmanager holds %d %s alerts of orders, want 1", seen, alert)
	}

	// Every notification is the alert of orders, on its severity's routes,
	// naming the database.
	list, problems := d.box.snapshot()
	for _, p := range problems {
		t.Errorf("capture server: %s", p)
	}
	for _, n := range list {
		switch {
		case len(n.Alerts) != 1 || n.Alerts[0] != alert:
			t.Errorf("notification about %v, want %s only: %v", n.Alerts, alert, n)
		case !ofOrders(n):
			t.Errorf("notification %q does not name orders alone in its group labels", n.Title)
		case !slices.Contains(want, route{n.Via, n.Dest}):
			t.Errorf("%s reached %v, which is not one of %v", alert, route{n.Via, n.Dest}, want)
		case n.Via != viaPagerDuty && !strings.Contains(n.Raw, "database orders"):
			t.Errorf("%s message for %s does not name the database orders:\n%s", n.Via, alert, n.Raw)
		}
	}
	for _, r := range want {
		at, _ := firstNotified(list, onset, alert, r, ofOrders)
		fire := "-"
		if f, ok := fired["orders"]; ok {
			fire = sec(f.Sub(onset))
		}
		row("notified", `db_name="orders"`, "%s on %s: onset→fired %s, onset→notified %s", alert, r, fire, sec(at.Sub(onset)))
	}
	for _, db := range labelsDatabases {
		res, err := d.promQuery(fmt.Sprintf(`sum(rate(db_slow_queries_total{db_name=%q}[6s])) / sum(rate(db_queries_total{db_name=%q}[6s]))`, db, db), false)
		if err != nil || len(res) != 1 {
			t.Fatalf("slow share of %s: %v %v", db, res, err)
		}
		row("slow share (6s)", "db_name="+strconv.Quote(db), "%.1f %%", 100*res[0].values[0])
	}

	// The dashboard: the db_name variable and every target of panels 11
	// and 12, with the variables substituted as Grafana would, for All
	// databases and for orders alone.
	var dash grafanaDashboard
	b, err := os.ReadFile(filepath.Join(d.out, "grafana", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	allValue := map[string]string{}
	var dbVar string
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		allValue[v.Name] = v.AllValue
		if v.Name == "db_name" {
			dbVar, _ = v.Query.(string)
		}
	}
	if dbVar == "" {
		t.Fatal("the generated dashboard has no db_name query variable")
	}
	all := map[string][]string{}
	for n := range allValue {
		all[n] = nil // All
	}
	vals, err := d.variableValues(substitute(dbVar, all, allValue))
	if err != nil {
		t.Fatal(err)
	}
	row("variable db_name", "All", "%v", vals)
	if !slices.Equal(vals, labelsDatabases) {
		t.Errorf("the db_name variable lists %v, want %v", vals, labelsDatabases)
	}

	ordersOnly := map[string][]string{}
	for n := range allValue {
		ordersOnly[n] = nil
	}
	ordersOnly["db_name"] = []string{"orders"}
	panels := 0
	for _, p := range dash.Panels {
		if p.ID != 11 && p.ID != 12 {
			continue
		}
		panels++
		for _, sel := range []struct {
			name string
			vars map[string][]string
		}{{"All", all}, {`db_name="orders"`, ordersOnly}} {
			for _, tg := range p.Targets {
				expr := substitute(tg.Expr, sel.vars, allValue)
				if strings.Contains(expr, "$") {
					t.Errorf("panel %d %s: a variable is left in %s", p.ID, tg.RefID, expr)
					continue
				}
				res, err := d.promQuery(expr, !tg.Instant)
				if err != nil {
					t.Errorf("panel %d %q %s: %v", p.ID, p.Title, tg.RefID, err)
					continue
				}
				row(fmt.Sprintf("panel %d %s %s", p.ID, p.Title, tg.RefID), sel.name, "%s", describe(res))
				d.checkPanel(t, p.ID, tg.RefID, sel.name, expr, res)
			}
		}
	}
	if panels != 2 {
		t.Errorf("the generated dashboard has %d of the panels 11 and 12, want both", panels)
	}

	// The names beyond max_statements are folded and counted.
	res, err := d.promQuery(`sum by (db_name) (db_statement_overflow_total)`, false)
	if err != nil {
		t.Fatal(err)
	}
	row("db_statement_overflow_total", "by db_name", "%s", describe(res))
	got := map[string]float64{}
	for _, r := range res {
		got[r.labels["db_name"]] = r.values[0]
	}
	for _, db := range labelsDatabases {
		if !(got[db] > 0) {
			t.Errorf("db_statement_overflow_total{db_name=%q} = %v, want > 0: the demo runs %d names, max_statements is 5", db, got[db], labelsStatements)
		}
	}
	res, err = d.promQuery(`count by (statement) (db_queries_total{statement=~"ListItemsPage.*"})`, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) > 0 {
		t.Errorf("pages beyond max_statements have series of their own: %s", describe(res))
	}
}

// checkPanel asserts what each target of panels 11 and 12 must show after
// a slow burst on orders: p99 by statement for each selected database
// (both under All), slow executions of orders' SearchItems (the statement
// that turns slow) and of nothing on reports, and the folded names' rate
// of each selected database, above 0 at some point of the range.
func (d *drill) checkPanel(t *testing.T, id int, ref, sel, expr string, res []promResult) {
	t.Helper()
	dbs := map[string]bool{}
	for _, r := range res {
		dbs[r.labels["db_name"]] = true
	}
	wantDBs := labelsDatabases
	if sel != "All" {
		wantDBs = []string{"orders"}
	}
	if id == 11 && ref == "B" {
		wantDBs = []string{"orders"} // only orders has slow statements
	}
	have := slices.Sorted(maps.Keys(dbs))
	if !slices.Equal(have, wantDBs) {
		t.Errorf("panel %d %s (%s): databases %v, want %v; query %s gave %s", id, ref, sel, have, wantDBs, expr, describe(res))
	}
	switch {
	case id == 11 && ref == "B":
		if !slices.ContainsFunc(res, func(r promResult) bool { return r.labels["statement"] == "SearchItems" }) {
			t.Errorf("panel 11 B (%s): no slow rate of SearchItems, the statement of the burst: %s", sel, describe(res))
		}
	case id == 12:
		for _, r := range res {
			if slices.Max(r.values) <= 0 {
				t.Errorf("panel 12 (%s): the folded names' rate of %s is never above 0 over the range", sel, r.labels["db_name"])
			}
		}
	}
}

// describe summarises query results for the table: each series' labels
// other than the ones every result shares, and its last value.
func describe(res []promResult) string {
	if len(res) == 0 {
		return "no data"
	}
	var parts []string
	for _, r := range res {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(r.labels)) {
			if k == "db_name" || k == "statement" {
				ls = append(ls, k+"="+r.labels[k])
			}
		}
		parts = append(parts, fmt.Sprintf("{%s} %.3g", strings.Join(ls, ","), r.values[len(r.values)-1]))
	}
	sort.Strings(parts)
	if len(parts) > 6 {
		parts = append(parts[:6], fmt.Sprintf("… %d series", len(res)))
	}
	return strings.Join(parts, " ")
}
