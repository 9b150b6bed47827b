package dashboard

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	v2 "github.com/grafana/grafana-foundation-sdk/go/dashboardv2"
)

func TestRenderV2Golden(t *testing.T) {
	got, err := RenderV2(fixture())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "fixture.v2.golden.json")
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
		t.Errorf("RenderV2 differs from %s (rerun with -update if the change is intended):\n%s", golden, firstLineDiff(want, got))
	}
	again, err := RenderV2(fixture())
	if err != nil || !bytes.Equal(got, again) {
		t.Error("RenderV2 is not deterministic")
	}
}

// v2Resource is the part of the rendered resource the tests read.
type v2Resource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

func TestRenderV2IsAResourceTheSDKReadsBackUnchanged(t *testing.T) {
	got, err := RenderV2(fixture())
	if err != nil {
		t.Fatal(err)
	}
	var r v2Resource
	if err := json.Unmarshal(got, &r); err != nil {
		t.Fatal(err)
	}
	if r.APIVersion != "dashboard.grafana.app/v2" || r.Kind != "Dashboard" || r.Metadata.Name != "fixture" {
		t.Errorf("resource header = %s %s %q", r.APIVersion, r.Kind, r.Metadata.Name)
	}
	// Read the spec into the SDK's v2 types and write it again: anything
	// the schema does not know, or types differently, would change.
	var d v2.Dashboard
	if err := json.Unmarshal(r.Spec, &d); err != nil {
		t.Fatalf("the SDK cannot read the spec: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("the SDK rejects the spec: %v", err)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK reads a variable's query spec with the plugin's panel query
	// type, which has no field for a variable query ("query"), so those
	// specs are checked on their own and left out of the comparison.
	a, _ := decode(r.Spec)
	b, _ := decode(raw)
	for i, v := range a.(map[string]any)["variables"].([]any) {
		spec := v.(map[string]any)["spec"].(map[string]any)
		if q, ok := spec["query"].(map[string]any); ok {
			want := fixture().Variables[i].Query
			if got := q["spec"].(map[string]any)["query"]; got != want {
				t.Errorf("variables[%d] query = %v, want %q", i, got, want)
			}
			delete(q, "spec")
			delete(b.(map[string]any)["variables"].([]any)[i].(map[string]any)["spec"].(map[string]any)["query"].(map[string]any), "spec")
		}
	}
	if p := firstDiff("", a, b); p != "" {
		t.Errorf("the spec does not survive the SDK's types; first difference at %s", p)
	}
}

func TestBuildV2KeepsEveryPanelWhereV1PutsIt(t *testing.T) {
	def := fixture()
	d, err := BuildV2(def)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := Build(def)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Elements) != len(def.Panels) || d.Layout.GridLayoutKind == nil || len(d.Layout.GridLayoutKind.Spec.Items) != len(def.Panels) {
		t.Fatalf("%d elements, layout %+v; want %d panels on a grid", len(d.Elements), d.Layout, len(def.Panels))
	}
	for i, p := range def.Panels {
		item := d.Layout.GridLayoutKind.Spec.Items[i].Spec
		name := ElementName(p.ID)
		if item.Element.Name != name || item.X != int64(p.Grid.X) || item.Y != int64(p.Grid.Y) || item.Width != int64(p.Grid.W) || item.Height != int64(p.Grid.H) {
			t.Errorf("panel %d: layout item %+v", p.ID, item)
		}
		el, ok := d.Elements[name]
		if !ok || el.PanelKind == nil {
			t.Fatalf("panel %d: no element %q", p.ID, name)
		}
		ps := el.PanelKind.Spec
		if ps.Id != float64(p.ID) || ps.Title != p.Title || ps.VizConfig.Group != string(p.Kind) {
			t.Errorf("panel %d: id %v title %q viz %q", p.ID, ps.Id, ps.Title, ps.VizConfig.Group)
		}
		if len(ps.Data.Spec.Queries) != len(p.Queries) {
			t.Fatalf("panel %d: %d queries, want %d", p.ID, len(ps.Data.Spec.Queries), len(p.Queries))
		}
		for j, q := range p.Queries {
			pq := ps.Data.Spec.Queries[j].Spec
			spec, _ := pq.Query.Spec.(map[string]any)
			if pq.RefId != q.RefID || spec["expr"] != q.Expr || pq.Query.Group != "prometheus" ||
				pq.Query.Datasource == nil || *pq.Query.Datasource.Name != "${datasource}" {
				t.Errorf("panel %d query %s: %+v", p.ID, q.RefID, pq)
			}
		}
		// The options and field config are the v1 build's, not a copy
		// kept in step by hand.
		a, _ := json.Marshal(v1.Panels[i].Panel.Options)
		b, _ := json.Marshal(ps.VizConfig.Spec.Options)
		if ca, _ := canonical(a); !bytes.Equal(ca, mustCanonical(t, b)) {
			t.Errorf("panel %d: options differ from v1:\n%s\n%s", p.ID, a, b)
		}
		if len(ps.VizConfig.Spec.FieldConfig.Overrides) != len(p.Overrides) {
			t.Errorf("panel %d: %d overrides, want %d", p.ID, len(ps.VizConfig.Spec.FieldConfig.Overrides), len(p.Overrides))
		}
		if len(ps.Data.Spec.Transformations) != len(p.Transformations) {
			t.Errorf("panel %d: %d transformations, want %d", p.ID, len(ps.Data.Spec.Transformations), len(p.Transformations))
		}
	}
	if len(d.Variables) != len(def.Variables) || d.Variables[0].DatasourceVariableKind == nil || d.Variables[1].QueryVariableKind == nil {
		t.Errorf("variables %+v", d.Variables)
	}
	if d.TimeSettings.AutoRefresh != def.Refresh || d.TimeSettings.From != def.From || d.CursorSync != v2.DashboardCursorSyncCrosshair {
		t.Errorf("time settings %+v, cursor sync %q", d.TimeSettings, d.CursorSync)
	}
}

func TestBuildV2Rejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Definition)
		want string
	}{
		{"a duplicate panel id", func(d *Definition) { d.Panels[1].ID = d.Panels[0].ID }, "used twice"},
		{"an unknown variable kind", func(d *Definition) { d.Variables[0].Kind = "text" }, "unknown variable kind"},
		{"an unknown panel kind", func(d *Definition) { d.Panels[0].Kind = "bogus" }, "unknown panel kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture()
			tt.edit(&d)
			_, err := BuildV2(d)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func mustCanonical(t *testing.T, b []byte) []byte {
	t.Helper()
	c, err := canonical(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
