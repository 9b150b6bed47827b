package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is a small dashboard with one panel of each kind, written in the
// package's own terms (no dbmonctl thresholds), so that the package is
// tested on its own.
func fixture() Definition {
	sel := `job=~"$job", query_type=~"$query_type"`
	return Definition{
		UID:        "fixture",
		Title:      "Fixture",
		Tags:       []string{"test"},
		Refresh:    "5s",
		From:       "now-1h",
		To:         "now",
		CursorSync: CursorSyncCrosshair,
		Datasource: DatasourceRef{Type: "prometheus", UID: "${datasource}"},
		Links:      []DashboardLink{{Title: "Other", URL: "/d/other", Tooltip: "The other dashboard."}},
		Variables: []Variable{
			{Kind: VariableDatasource, Name: "datasource", Label: "Data source", Query: "prometheus", Default: "Prometheus"},
			{Kind: VariableQuery, Name: "job", Query: "label_values(db_queries_total, job)", Multi: true, IncludeAll: true, AllValue: ".*", Refresh: RefreshOnTimeRange, Sort: SortAlphabeticalAsc},
			{Kind: VariableQuery, Name: "query_type", Query: `label_values(db_queries_total{job=~"$job"}, query_type)`, Multi: true, IncludeAll: true, AllValue: ".*", Refresh: RefreshOnTimeRange, Sort: SortAlphabeticalAsc},
		},
		Panels: []Panel{
			{
				ID: 1, Title: "Rate", Description: "queries per second", Kind: KindTimeseries,
				Grid: GridPos{X: 0, Y: 0, W: 12, H: 8}, Unit: "ops",
				Legend:  Legend{Mode: LegendTable, Calcs: []string{"mean"}},
				Queries: []Query{{RefID: "A", Expr: `sum by (query_type) (rate(db_queries_total{` + sel + `}[$__rate_interval]))`, LegendFormat: "{{query_type}}"}},
			},
			{
				ID: 2, Title: "p99", Kind: KindGauge,
				Grid: GridPos{X: 12, Y: 0, W: 12, H: 8}, Unit: "s", Min: Float(0), Max: Float(1), Decimals: Int(3),
				Thresholds:        []Step{{Color: "green"}, {Value: Float(0.1), Color: "yellow"}, {Value: Float(0.5), Color: "red"}},
				ColorByThresholds: true,
				Queries:           []Query{{RefID: "A", Expr: `histogram_quantile(0.99, sum by (le) (rate(db_query_duration_seconds_bucket{` + sel + `}[$__rate_interval])))`}},
			},
			{
				ID: 3, Title: "Mix", Kind: KindPiechart,
				Grid:    GridPos{X: 0, Y: 8, W: 8, H: 8},
				Legend:  Legend{Placement: LegendRight, Values: []string{"percent"}},
				Queries: []Query{{RefID: "A", Expr: `sum by (query_type) (increase(db_queries_total{` + sel + `}[$__range]))`, Instant: true, LegendFormat: "{{query_type}}"}},
			},
			{
				ID: 4, Title: "Table", Kind: KindTable,
				Grid: GridPos{X: 8, Y: 8, W: 16, H: 8},
				Queries: []Query{
					{RefID: "A", Expr: `sum by (query_type) (rate(db_queries_total{` + sel + `}[$__rate_interval]))`, Instant: true, Format: FormatTable},
					{RefID: "B", Expr: `sum by (query_type) (rate(db_slow_queries_total{` + sel + `}[$__rate_interval]))`, Instant: true, Format: FormatTable},
				},
				Transformations: []Transformation{
					{ID: "merge"},
					{ID: "organize", Options: map[string]any{"renameByName": map[string]any{"Value #A": "QPS", "Value #B": "Slow"}}},
				},
				Overrides: []FieldOverride{
					{Field: "QPS", Unit: "ops", Decimals: Int(2)},
					{Field: "Slow", Unit: "ops", Thresholds: []Step{{Color: "green"}, {Value: Float(1), Color: "red"}}, CellColor: true},
				},
			},
		},
	}
}

func known() promcheck.Known { return promcheck.Default("job") }

func TestRenderGolden(t *testing.T) {
	got, err := Render(fixture())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "fixture.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/dashboard -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Render differs from %s (rerun with -update if the change is intended):\n%s", golden, firstLineDiff(want, got))
	}
}

// firstLineDiff shows the first differing line, enough to find a change in
// a long JSON file.
func firstLineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no line differs)"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestRenderFormat(t *testing.T) {
	a, err := Render(fixture())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(fixture())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"two renders of one definition are byte-identical", bytes.Equal(a, b)},
		{"the output ends with exactly one newline", bytes.HasSuffix(a, []byte("}\n")) && !bytes.HasSuffix(a, []byte("\n\n"))},
		{"nesting is indented by two spaces", bytes.HasPrefix(a, []byte("{\n  \""))},
		{"comparison operators are not HTML-escaped", !bytes.Contains(a, []byte(`\u003e`)) && !bytes.Contains(a, []byte(`\u0026`))},
		{"object keys are sorted", func() bool { c, err := canonical(a); return err == nil && bytes.Equal(c, a) }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Error("does not hold")
			}
		})
	}
	// A sorted-keys check that does not rely on canonical itself: the
	// top-level keys appear in lexical order.
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(a))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				keys = append(keys, tok)
				// Skip the value of this key.
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("top-level keys not sorted: %q before %q", keys[i-1], keys[i])
		}
	}
}

func TestBuildSetsWhatTheSDKLeavesEmpty(t *testing.T) {
	d, err := Build(fixture())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Panels) != 4 {
		t.Fatalf("got %d panels, want 4", len(d.Panels))
	}
	byID := map[uint32]int{}
	for i, p := range d.Panels {
		if p.Panel == nil || p.Panel.Id == nil {
			t.Fatalf("panel %d has no id", i)
		}
		byID[*p.Panel.Id] = i
		for j, q := range p.Panel.Targets {
			pq, ok := q.(prometheus.Dataquery)
			if !ok {
				t.Fatalf("panel %d target %d is %T, want prometheus.Dataquery", i, j, q)
			}
			if pq.RefId == nil || *pq.RefId == "" {
				t.Errorf("panel %d target %d has no refId", i, j)
			}
			if pq.Format == nil {
				t.Errorf("panel %d target %d has no format", i, j)
			}
		}
	}
	ts := d.Panels[byID[1]].Panel.Options.(*timeseries.Options)
	if ts.Legend.DisplayMode != common.LegendDisplayModeTable || !ts.Legend.ShowLegend || ts.Legend.Placement != common.LegendPlacementBottom {
		t.Errorf("timeseries legend = %+v, want a visible table at the bottom", ts.Legend)
	}
	if ts.Tooltip.Mode != common.TooltipDisplayModeMulti || ts.Tooltip.Sort != common.SortOrderDescending {
		t.Errorf("timeseries tooltip = %+v, want multi, desc", ts.Tooltip)
	}
	g := d.Panels[byID[2]].Panel
	gopts := g.Options.(*gauge.Options)
	if gopts.Orientation != common.VizOrientationAuto {
		t.Errorf("gauge orientation = %q, want auto", gopts.Orientation)
	}
	if len(gopts.ReduceOptions.Calcs) != 1 || gopts.ReduceOptions.Calcs[0] != "lastNotNull" {
		t.Errorf("gauge reduce calcs = %v, want [lastNotNull]", gopts.ReduceOptions.Calcs)
	}
	steps := g.FieldConfig.Defaults.Thresholds.Steps
	if len(steps) != 3 || steps[0].Value != nil || steps[0].Color != "green" || *steps[1].Value != 0.1 || *steps[2].Value != 0.5 {
		t.Errorf("gauge steps = %+v, want green base, 0.1, 0.5", steps)
	}
	pie := d.Panels[byID[3]].Panel.Options.(*piechart.Options)
	if pie.Orientation != common.VizOrientationAuto || !pie.Legend.ShowLegend || pie.Legend.Placement != common.LegendPlacementRight || pie.Tooltip.Mode == "" {
		t.Errorf("piechart options = %+v, want orientation, legend on the right and tooltip set", pie)
	}
	tbl := d.Panels[byID[4]].Panel
	if _, ok := tbl.Options.(*table.Options); !ok {
		t.Errorf("table options are %T", tbl.Options)
	}
	if n := len(tbl.FieldConfig.Overrides); n != 2 {
		t.Errorf("table has %d overrides, want 2", n)
	}
	if n := len(tbl.Transformations); n != 2 || tbl.Transformations[0].Id != "merge" || tbl.Transformations[1].Id != "organize" {
		t.Errorf("table transformations = %+v, want merge, organize", tbl.Transformations)
	}
	if d.Uid == nil || *d.Uid != "fixture" || d.Refresh == nil || *d.Refresh != "5s" || d.Time == nil || d.Time.From != "now-1h" {
		t.Errorf("dashboard identity/time not set: uid=%v refresh=%v time=%+v", d.Uid, d.Refresh, d.Time)
	}
}

func TestBuildEmptyThresholdsGetABaseStep(t *testing.T) {
	def := fixture()
	def.Panels[1].Thresholds = nil
	d, err := Build(def)
	if err != nil {
		t.Fatal(err)
	}
	steps := d.Panels[1].Panel.FieldConfig.Defaults.Thresholds.Steps
	if len(steps) != 1 || steps[0].Value != nil || steps[0].Color == "" {
		t.Errorf("steps = %+v, want one base step with a colour", steps)
	}
}

func TestBuildRejectsUnknownKinds(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Definition)
		want   string
	}{
		{"an unknown panel kind", func(d *Definition) { d.Panels[0].Kind = "graph" }, `unknown panel kind "graph"`},
		{"an unknown variable kind", func(d *Definition) { d.Variables[1].Kind = "custom" }, `unknown variable kind "custom"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture()
			tt.change(&d)
			_, err := Build(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Definition)
		// want are (check ID, path, message substring) of the expected
		// findings, in order; none means the definition is clean.
		want [][3]string
	}{
		{"the fixture is clean", func(*Definition) {}, nil},
		{"a header link without a URL is reported", func(d *Definition) { d.Links[0].URL = "" },
			[][3]string{{CheckDefinition, "links[0]", `title and url must both be set, got "Other" and ""`}}},
		{"an unknown metric is reported on the query's path", func(d *Definition) {
			d.Panels[0].Queries[0].Expr = `sum(rate(db_querys_total{job=~"$job"}[$__rate_interval]))`
		}, [][3]string{{CheckPromQL, `panels[0] "Rate".targets[0].expr`, `metric "db_querys_total" is not exported`}}},
		{"a label the metric lacks is reported", func(d *Definition) {
			d.Panels[1].Queries[0].Expr = `histogram_quantile(0.99, sum by (le) (rate(db_query_duration_seconds_bucket{table="users"}[5m])))`
		}, [][3]string{{CheckPromQL, `panels[1] "p99".targets[0].expr`, `has no label "table"`}}},
		{"a parse error is reported", func(d *Definition) {
			d.Panels[2].Queries[0].Expr = `sum by (query_type) (increase(db_queries_total[$__range])`
		}, [][3]string{{CheckPromQL, `panels[2] "Mix".targets[0].expr`, "PromQL does not parse"}}},
		{"a duplicate panel id names the first user", func(d *Definition) { d.Panels[3].ID = 1 },
			[][3]string{{CheckPanelID, `panels[3] "Table".id`, `id 1 is already used by panels[0] "Rate"`}}},
		{"a zero panel id is reported", func(d *Definition) { d.Panels[2].ID = 0 },
			[][3]string{{CheckPanelID, `panels[2] "Mix".id`, "must be set"}}},
		{"overlapping panels are reported on the later one", func(d *Definition) { d.Panels[2].Grid = GridPos{X: 10, Y: 4, W: 6, H: 4} },
			[][3]string{
				{CheckGrid, `panels[2] "Mix".gridPos`, `overlaps panels[0] "Rate"`},
				{CheckGrid, `panels[2] "Mix".gridPos`, `overlaps panels[1] "p99"`},
			}},
		{"panels that only touch do not overlap", func(d *Definition) { d.Panels[2].Grid = GridPos{X: 0, Y: 16, W: 24, H: 8} }, nil},
		{"a panel past column 24 is reported", func(d *Definition) { d.Panels[3].Grid.W = 17 },
			[][3]string{{CheckGrid, `panels[3] "Table".gridPos`, "x+w = 25 exceeds the 24-column grid"}}},
		{"a zero-size panel is reported", func(d *Definition) { d.Panels[3].Grid.H = 0 },
			[][3]string{
				{CheckGrid, `panels[3] "Table".gridPos`, "width and height must be positive"},
				{CheckDefinition, "", "gridPos.h: must be > 0"},
			}},
		{"a base step with a value is reported", func(d *Definition) { d.Panels[1].Thresholds[0].Value = Float(0) },
			[][3]string{{CheckThresholds, `panels[1] "p99".fieldConfig.defaults.thresholds.steps[0].value`, "base step"}}},
		{"descending steps are reported", func(d *Definition) { d.Panels[1].Thresholds[2].Value = Float(0.05) },
			[][3]string{{CheckThresholds, `panels[1] "p99".fieldConfig.defaults.thresholds.steps[2].value`, "steps must ascend: 0.05 follows 0.1"}}},
		{"override steps are checked too", func(d *Definition) { d.Panels[3].Overrides[1].Thresholds[1].Value = nil },
			[][3]string{{CheckThresholds, `panels[3] "Table".fieldConfig.overrides[1].thresholds.steps[1].value`, "only the first step"}}},
		{"a duplicate refId is reported", func(d *Definition) { d.Panels[3].Queries[1].RefID = "A" },
			[][3]string{{CheckQuery, `panels[3] "Table".targets[1].refId`, `refId "A" is used twice`}}},
		{"a missing refId is reported", func(d *Definition) { d.Panels[0].Queries[0].RefID = "" },
			[][3]string{{CheckQuery, `panels[0] "Rate".targets[0].refId`, "must be set"}}},
		{"an undefined variable is reported", func(d *Definition) {
			d.Panels[0].Queries[0].Expr = `sum(rate(db_queries_total{instance=~"$instance"}[$__rate_interval]))`
		}, [][3]string{{CheckVariable, `panels[0] "Rate".targets[0].expr`, "uses variable $instance, which is not defined"}}},
		{"a variable over a label the metric lacks is reported", func(d *Definition) { d.Variables[1].Query = "label_values(db_queries_total, db_name)" },
			[][3]string{{CheckPromQL, `templating[1] "job".query`, `label "db_name" is not carried`}}},
		{"a variable may only use variables defined before it", func(d *Definition) { d.Variables[1], d.Variables[2] = d.Variables[2], d.Variables[1] },
			[][3]string{{CheckVariable, `templating[1] "query_type".query`, "uses variable $job, which is not defined"}}},
		{"a duplicate variable is reported", func(d *Definition) { d.Variables = append(d.Variables, d.Variables[1]) },
			[][3]string{{CheckVariable, `templating[3] "job".name`, `variable "job" is defined twice`}}},
		{"a missing uid and datasource are reported", func(d *Definition) { d.UID = ""; d.Datasource = DatasourceRef{} },
			[][3]string{
				{CheckDefinition, "uid", "must not be empty"},
				{CheckDefinition, "datasource", "type and uid must both be set"},
			}},
		{"an unknown panel kind is reported and stops the render checks", func(d *Definition) { d.Panels[3].Kind = "graph" },
			[][3]string{
				{CheckDefinition, `panels[3] "Table".type`, `unknown panel kind "graph"`},
				{CheckDefinition, "", "does not build"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture()
			tt.change(&d)
			errs := Validate(d, known())
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(errs), len(tt.want), diag.List(errs))
			}
			for i, w := range tt.want {
				var e *diag.Error
				if !errors.As(errs[i], &e) {
					t.Fatalf("finding %d is %T, want *diag.Error", i, errs[i])
				}
				if e.ID != w[0] || e.Path != w[1] || !strings.Contains(e.Message, w[2]) {
					t.Errorf("finding %d = [%s] %s: %s\nwant        [%s] %s: …%s…", i, e.ID, e.Path, e.Message, w[0], w[1], w[2])
				}
			}
		})
	}
}

func TestRoundTripReportsWhatTheSDKWouldChange(t *testing.T) {
	rendered, err := Render(fixture())
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(f func(m map[string]any)) []byte {
		v, err := decode(rendered)
		if err != nil {
			t.Fatal(err)
		}
		f(v.(map[string]any))
		out, err := canonical(mustMarshal(t, v))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	panel := func(m map[string]any, i int) map[string]any { return m["panels"].([]any)[i].(map[string]any) }
	tests := []struct {
		name string
		in   []byte
		want string // path of the difference; "" for none
	}{
		{"the rendered fixture survives unchanged", rendered, ""},
		{"a field the SDK does not know is dropped", tamper(func(m map[string]any) { panel(m, 0)["bogus"] = true }), "panels[0].bogus"},
		{"a gauge option the SDK does not know is dropped", tamper(func(m map[string]any) {
			panel(m, 1)["options"].(map[string]any)["needle"] = "red"
		}), "panels[1].options.needle"},
		{"a missing required query field comes back empty", tamper(func(m map[string]any) {
			delete(panel(m, 0)["targets"].([]any)[0].(map[string]any), "expr")
		}), "panels[0].targets[0].expr"},
		{"non-canonical text is reported even with equal values", append([]byte(" "), rendered...), "(formatting)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := roundTrip(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("difference at %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := roundTrip([]byte(`{"panels": [{"type": "gauge", "id": "one"}]}`)); err == nil {
		t.Error("a wrongly typed panel id decoded without error")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRenderProvisioning(t *testing.T) {
	got, err := RenderProvisioning(ProvisioningOptions{
		Header:    "# generated\n# second line\n",
		Name:      "dbmonctl",
		Folder:    "Database",
		FolderUID: "dbmonctl",
		Path:      "/var/lib/grafana/dashboards/dbmonctl",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# generated
# second line
apiVersion: 1
providers:
  - name: dbmonctl
    orgId: 1
    folder: Database
    folderUid: dbmonctl
    type: file
    disableDeletion: false
    allowUiUpdates: false
    options:
      path: /var/lib/grafana/dashboards/dbmonctl
      foldersFromFilesStructure: false
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderProvisioningRejects(t *testing.T) {
	tests := []struct {
		name string
		o    ProvisioningOptions
		want string
	}{
		{"a provider without a name", ProvisioningOptions{Path: "/x"}, "name must not be empty"},
		{"a provider without a path", ProvisioningOptions{Name: "x"}, "path must not be empty"},
		{"a header line that is not a comment", ProvisioningOptions{Name: "x", Path: "/x", Header: "# ok\nnot a comment\n"}, `header line "not a comment"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderProvisioning(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestBuildDatasourceVariableStoresTheUID follows Grafana's model of a
// datasource variable: the value is the data source's UID (what
// ${datasource} expands to in a panel's datasource reference) and the text
// its name.
func TestBuildDatasourceVariableStoresTheUID(t *testing.T) {
	def := fixture()
	def.Variables[0].Default, def.Variables[0].DefaultText = "prom-main", "Main Prometheus"
	d, err := Build(def)
	if err != nil {
		t.Fatal(err)
	}
	cur := d.Templating.List[0].Current
	if cur == nil || cur.Value.String == nil || cur.Text.String == nil {
		t.Fatalf("current = %+v, want a single text and value", cur)
	}
	if *cur.Value.String != "prom-main" || *cur.Text.String != "Main Prometheus" {
		t.Errorf("current = {text %q, value %q}, want {text \"Main Prometheus\", value \"prom-main\"}", *cur.Text.String, *cur.Value.String)
	}
	for _, p := range d.Panels {
		if ds := p.Panel.Datasource; ds == nil || ds.Uid == nil || *ds.Uid != "${datasource}" || ds.Type == nil || *ds.Type != "prometheus" {
			t.Errorf("panel %d datasource = %+v, want {prometheus ${datasource}}", *p.Panel.Id, ds)
		}
	}
	// Without a text, the value is shown.
	def.Variables[0].DefaultText = ""
	if d, err = Build(def); err != nil {
		t.Fatal(err)
	}
	if cur := d.Templating.List[0].Current; *cur.Text.String != "prom-main" {
		t.Errorf("text without DefaultText = %q, want the value", *cur.Text.String)
	}
}
