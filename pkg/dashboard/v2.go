package dashboard

import (
	"encoding/json"
	"fmt"
	"strconv"

	sdk "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	v2 "github.com/grafana/grafana-foundation-sdk/go/dashboardv2"
	"github.com/grafana/grafana-foundation-sdk/go/resource"
)

// APIVersionV2 is the apiVersion of the stable v2 dashboard resource that
// RenderV2 writes (Grafana 13's dashboard.grafana.app/v2).
const APIVersionV2 = "dashboard.grafana.app/v2"

// ElementName is the key of a panel in a v2 dashboard's elements, and the
// name its layout item refers to: "panel-<id>", as Grafana's own v1 to v2
// conversion names them, so a panel keeps its identity across schemas.
func ElementName(id uint32) string { return "panel-" + strconv.FormatUint(uint64(id), 10) }

// BuildV2 turns d into the foundation SDK's v2 dashboard spec
// (dashboardv2.Dashboard). Each panel's options and field config are the
// ones Build writes for the v1 model, read into the v2 types, so the two
// schemas cannot drift apart: the same Definition shows the same panels
// with the same settings in either. Panels become elements named by
// ElementName and placed on a grid layout at their v1 grid positions.
func BuildV2(d Definition) (v2.Dashboard, error) {
	v1, err := Build(d)
	if err != nil {
		return v2.Dashboard{}, err
	}
	out := *v2.NewDashboard()
	out.Title = d.Title
	if d.Description != "" {
		out.Description = &d.Description
	}
	out.Tags = nonNil(d.Tags)
	out.CursorSync = cursorSyncV2(d.CursorSync)
	editable := true
	out.Editable = &editable
	tz := "browser"
	out.TimeSettings = v2.TimeSettingsSpec{
		Timezone:             &tz,
		From:                 d.From,
		To:                   d.To,
		AutoRefresh:          d.Refresh,
		AutoRefreshIntervals: []string{},
	}
	out.Annotations = []v2.AnnotationQueryKind{builtInAnnotationV2()}
	for _, l := range d.Links {
		u := l.URL
		out.Links = append(out.Links, v2.DashboardLink{
			Title: l.Title, Type: v2.DashboardLinkTypeLink, Icon: "dashboard", Tooltip: l.Tooltip,
			Url: &u, Tags: []string{}, KeepTime: true, IncludeVars: true,
		})
	}

	for _, v := range d.Variables {
		vk, err := variableV2(v, d.Datasource)
		if err != nil {
			return v2.Dashboard{}, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		out.Variables = append(out.Variables, vk)
	}
	if out.Variables == nil {
		out.Variables = []v2.VariableKind{}
	}

	grid := v2.GridLayoutKind{Kind: "GridLayout", Spec: v2.GridLayoutSpec{Items: []v2.GridLayoutItemKind{}}}
	out.Elements = map[string]v2.Element{}
	for i, p := range d.Panels {
		if i >= len(v1.Panels) || v1.Panels[i].Panel == nil {
			return v2.Dashboard{}, fmt.Errorf("panels[%d] %q: the v1 build has no such panel", i, p.Title)
		}
		pk, err := panelV2(p, *v1.Panels[i].Panel, d.Datasource)
		if err != nil {
			return v2.Dashboard{}, fmt.Errorf("panels[%d] %q: %w", i, p.Title, err)
		}
		name := ElementName(p.ID)
		if _, dup := out.Elements[name]; dup {
			return v2.Dashboard{}, fmt.Errorf("panels[%d] %q: id %d is used twice", i, p.Title, p.ID)
		}
		out.Elements[name] = v2.Element{PanelKind: &pk}
		grid.Spec.Items = append(grid.Spec.Items, v2.GridLayoutItemKind{Kind: "GridLayoutItem", Spec: v2.GridLayoutItemSpec{
			X: int64(p.Grid.X), Y: int64(p.Grid.Y), Width: int64(p.Grid.W), Height: int64(p.Grid.H),
			Element: v2.ElementReference{Kind: "ElementReference", Name: name},
		}})
	}
	out.Layout = v2.GridLayoutKindOrRowsLayoutKindOrAutoGridLayoutKindOrTabsLayoutKind{GridLayoutKind: &grid}
	if err := out.Validate(); err != nil {
		return v2.Dashboard{}, fmt.Errorf("build v2 dashboard %q: %w", d.UID, err)
	}
	return out, nil
}

// RenderV2 writes d as a complete dashboard.grafana.app/v2 resource
// ({apiVersion, kind, metadata: {name: UID}, spec}), the document Grafana
// 13's /apis dashboard API takes and its UI exports, in the same canonical
// form as Render: sorted keys, two-space indent, trailing newline.
func RenderV2(d Definition) ([]byte, error) {
	spec, err := BuildV2(d)
	if err != nil {
		return nil, err
	}
	m := resource.Manifest{
		ApiVersion: APIVersionV2,
		Kind:       "Dashboard",
		Metadata:   resource.Metadata{Name: d.UID},
		Spec:       spec,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("render v2 dashboard %q: %w", d.UID, err)
	}
	out, err := canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("render v2 dashboard %q: %w", d.UID, err)
	}
	return out, nil
}

func cursorSyncV2(c CursorSync) v2.DashboardCursorSync {
	switch c {
	case CursorSyncCrosshair:
		return v2.DashboardCursorSyncCrosshair
	case CursorSyncTooltip:
		return v2.DashboardCursorSyncTooltip
	}
	return v2.DashboardCursorSyncOff
}

// builtInAnnotationV2 is builtInAnnotation in the v2 schema.
func builtInAnnotationV2() v2.AnnotationQueryKind {
	builtIn := true
	ds := "-- Grafana --"
	return v2.AnnotationQueryKind{Kind: "AnnotationQuery", Spec: v2.AnnotationQuerySpec{
		Query: v2.DataQueryKind{
			Kind: "DataQuery", Group: "grafana", Version: "v0",
			Datasource: &v2.Dashboardv2DataQueryKindDatasource{Name: &ds},
			Spec:       map[string]any{},
		},
		Enable:    true,
		Hide:      true,
		IconColor: "rgba(0, 211, 255, 1)",
		Name:      "Annotations & Alerts",
		BuiltIn:   &builtIn,
	}}
}

// dataQuery is the v2 wrapper of a query of the data source ds: the
// plugin type is the group, and the data source is named by its UID (a
// variable reference such as "${datasource}" stays one).
func dataQuery(ds DatasourceRef, spec map[string]any) v2.DataQueryKind {
	q := v2.DataQueryKind{Kind: "DataQuery", Group: ds.Type, Version: "v0", Spec: spec}
	if ds.UID != "" {
		uid := ds.UID
		q.Datasource = &v2.Dashboardv2DataQueryKindDatasource{Name: &uid}
	}
	return q
}

func refreshV2(r VariableRefresh) v2.VariableRefresh {
	switch r {
	case RefreshOnLoad:
		return v2.VariableRefreshOnDashboardLoad
	case RefreshOnTimeRange:
		return v2.VariableRefreshOnTimeRangeChanged
	}
	return v2.VariableRefreshNever
}

func sortV2(s VariableSort) v2.VariableSort {
	if s == SortAlphabeticalAsc {
		return v2.VariableSortAlphabeticalAsc
	}
	return v2.VariableSortDisabled
}

// optionV2 is option (the selected value) in the v2 schema.
func optionV2(text, value string, multi bool) v2.VariableOption {
	selected := true
	if multi {
		return v2.VariableOption{Selected: &selected,
			Text:  v2.StringOrArrayOfString{ArrayOfString: []string{text}},
			Value: v2.StringOrArrayOfString{ArrayOfString: []string{value}}}
	}
	return v2.VariableOption{Selected: &selected,
		Text:  v2.StringOrArrayOfString{String: &text},
		Value: v2.StringOrArrayOfString{String: &value}}
}

func variableV2(v Variable, ds DatasourceRef) (v2.VariableKind, error) {
	label := v.Label
	if label == "" {
		label = v.Name
	}
	var desc *string
	if v.Description != "" {
		desc = &v.Description
	}
	var allValue *string
	if v.AllValue != "" {
		allValue = &v.AllValue
	}
	switch v.Kind {
	case VariableDatasource:
		spec := v2.DatasourceVariableSpec{
			Name: v.Name, PluginId: v.Query, Refresh: v2.VariableRefreshOnDashboardLoad,
			Options: []v2.VariableOption{}, Multi: v.Multi, IncludeAll: v.IncludeAll, AllValue: allValue,
			Label: &label, Hide: v2.VariableHideDontHide, Description: desc, AllowCustomValue: true,
		}
		if v.Default != "" {
			spec.Current = optionV2(v.Default, v.Default, false)
		} else {
			spec.Current = optionV2("", "", false)
		}
		return v2.VariableKind{DatasourceVariableKind: &v2.DatasourceVariableKind{Kind: "DatasourceVariable", Spec: spec}}, nil
	case VariableQuery:
		def := v.Query
		spec := v2.QueryVariableSpec{
			Name: v.Name, Label: &label, Hide: v2.VariableHideDontHide, Refresh: refreshV2(v.Refresh),
			Description: desc,
			Query:       dataQuery(ds, map[string]any{"query": v.Query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}),
			Sort:        sortV2(v.Sort), Definition: &def, Options: []v2.VariableOption{},
			Multi: v.Multi, IncludeAll: v.IncludeAll, AllValue: allValue, AllowCustomValue: true,
		}
		switch {
		case v.Default != "":
			spec.Current = optionV2(v.Default, v.Default, v.Multi)
		case v.IncludeAll:
			spec.Current = optionV2("All", "$__all", v.Multi)
		default:
			spec.Current = optionV2("", "", v.Multi)
		}
		return v2.VariableKind{QueryVariableKind: &v2.QueryVariableKind{Kind: "QueryVariable", Spec: spec}}, nil
	}
	return v2.VariableKind{}, fmt.Errorf("unknown variable kind %q (want %q or %q)", v.Kind, VariableDatasource, VariableQuery)
}

// panelV2 converts one panel. The queries, options and field config come
// from the v1 panel Build made (p1), re-read into the v2 types; only the
// wrapping differs between the schemas.
func panelV2(p Panel, p1 sdk.Panel, ds DatasourceRef) (v2.PanelKind, error) {
	spec := v2.PanelSpec{Id: float64(p.ID), Title: p.Title, Links: []v2.DataLink{}}
	if p.Description != "" {
		spec.Description = &p.Description
	}

	var fc v2.FieldConfigSource
	if p1.FieldConfig != nil {
		if err := jsonCopy(p1.FieldConfig, &fc); err != nil {
			return v2.PanelKind{}, fmt.Errorf("field config: %w", err)
		}
	}
	if fc.Overrides == nil {
		fc.Overrides = []v2.Dashboardv2FieldConfigSourceOverrides{}
	}
	var options any = map[string]any{}
	if p1.Options != nil {
		var m map[string]any
		if err := jsonCopy(p1.Options, &m); err != nil {
			return v2.PanelKind{}, fmt.Errorf("options: %w", err)
		}
		options = m
	}
	spec.VizConfig = v2.VizConfigKind{Kind: "VizConfig", Group: string(p.Kind), Version: "", Spec: v2.VizConfigSpec{Options: options, FieldConfig: fc}}

	group := v2.QueryGroupSpec{Queries: []v2.PanelQueryKind{}, Transformations: []v2.TransformationKind{}}
	for i, t := range p1.Targets {
		var q map[string]any
		if err := jsonCopy(t, &q); err != nil {
			return v2.PanelKind{}, fmt.Errorf("queries[%d]: %w", i, err)
		}
		refID, _ := q["refId"].(string)
		// The v2 query names its data source in the wrapper and its refId
		// in the panel query, not in the plugin's spec.
		delete(q, "datasource")
		delete(q, "refId")
		group.Queries = append(group.Queries, v2.PanelQueryKind{Kind: "PanelQuery", Spec: v2.PanelQuerySpec{
			Query: dataQuery(ds, q), RefId: refID,
		}})
	}
	for _, t := range p.Transformations {
		opts := t.Options
		if opts == nil {
			opts = map[string]any{}
		}
		group.Transformations = append(group.Transformations, v2.TransformationKind{Kind: "Transformation", Group: t.ID, Spec: v2.TransformationSpec{Options: opts}})
	}
	spec.Data = v2.QueryGroupKind{Kind: "QueryGroup", Spec: group}
	return v2.PanelKind{Kind: "Panel", Spec: spec}, nil
}

// jsonCopy moves a value between the v1 and v2 SDK types, which describe
// the same JSON for field configs, options and queries.
func jsonCopy(from, to any) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, to)
}
