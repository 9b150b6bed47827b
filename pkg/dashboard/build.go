package dashboard

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	sdk "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Defaults Build applies to zero values, so that no option is left to the
// SDK's empty value (which Grafana reads as "hidden" or "unset").
const (
	defaultReduce      = "lastNotNull"
	defaultBaseColor   = "green"
	defaultTooltipSort = common.SortOrderDescending
)

// Build turns d into the foundation SDK's v1 dashboard model. It sets every
// option the SDK would otherwise leave empty: panel ids, refIds, legends,
// tooltips, orientations, reduce options and threshold base steps. It does
// not validate queries or layout (Validate does); it fails only when the SDK
// rejects a value, e.g. an unknown panel kind.
func Build(d Definition) (sdk.Dashboard, error) {
	b := sdk.NewDashboardBuilder(d.Title).
		Uid(d.UID).
		Tags(nonNil(d.Tags)).
		Time(d.From, d.To).
		Timezone("browser").
		Tooltip(sdk.DashboardCursorSync(d.CursorSync)).
		Editable().
		Annotation(builtInAnnotation())
	if d.Description != "" {
		b.Description(d.Description)
	}
	if d.Refresh != "" {
		b.Refresh(d.Refresh)
	}
	for _, v := range d.Variables {
		vb, err := variable(v, d.Datasource)
		if err != nil {
			return sdk.Dashboard{}, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		b.WithVariable(vb)
	}
	for i, p := range d.Panels {
		pb, err := panel(p, d.Datasource)
		if err != nil {
			return sdk.Dashboard{}, fmt.Errorf("panels[%d] %q: %w", i, p.Title, err)
		}
		b.WithPanel(pb)
	}
	out, err := b.Build()
	if err != nil {
		return sdk.Dashboard{}, fmt.Errorf("build dashboard %q: %w", d.UID, err)
	}
	for _, l := range d.Links {
		// Built as a value, not with the SDK's link builder, whose default
		// placement moves the link into the controls menu: a header link
		// belongs above the panels, where Grafana puts it without one.
		u := l.URL
		out.Links = append(out.Links, sdk.DashboardLink{
			Title: l.Title, Type: sdk.DashboardLinkTypeLink, Icon: "dashboard", Tooltip: l.Tooltip,
			Url: &u, Tags: []string{}, KeepTime: true, IncludeVars: true,
		})
	}
	return out, nil
}

// builtInAnnotation is the "Annotations & Alerts" entry Grafana adds to
// every dashboard it saves. Writing it here keeps what is pushed equal to
// what Grafana stores, and gives annotations a list: older Grafana
// frontends fail on an annotations object without one.
func builtInAnnotation() *sdk.AnnotationQueryBuilder {
	dsType, dsUID := "grafana", "-- Grafana --"
	return sdk.NewAnnotationQueryBuilder().
		Name("Annotations & Alerts").
		Datasource(common.DataSourceRef{Type: &dsType, Uid: &dsUID}).
		Enable(true).
		Hide(true).
		IconColor("rgba(0, 211, 255, 1)").
		Type("dashboard").
		BuiltIn(1)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func datasourceRef(r DatasourceRef) common.DataSourceRef {
	ref := common.DataSourceRef{}
	if r.Type != "" {
		ref.Type = &r.Type
	}
	if r.UID != "" {
		ref.Uid = &r.UID
	}
	return ref
}

func variable(v Variable, ds DatasourceRef) (cog.Builder[sdk.VariableModel], error) {
	label := v.Label
	if label == "" {
		label = v.Name
	}
	switch v.Kind {
	case VariableDatasource:
		b := sdk.NewDatasourceVariableBuilder(v.Name).
			Label(label).
			Type(v.Query).
			Multi(v.Multi).
			IncludeAll(v.IncludeAll).
			Hide(sdk.VariableHideDontHide)
		if v.Description != "" {
			b.Description(v.Description)
		}
		if v.Default != "" {
			b.Current(option(orDefault(v.DefaultText, v.Default), v.Default, false))
		}
		return b, nil
	case VariableQuery:
		b := sdk.NewQueryVariableBuilder(v.Name).
			Label(label).
			Query(sdk.StringOrMap{String: &v.Query}).
			Definition(v.Query).
			Datasource(datasourceRef(ds)).
			Multi(v.Multi).
			IncludeAll(v.IncludeAll).
			Refresh(sdk.VariableRefresh(v.Refresh)).
			Sort(sdk.VariableSort(v.Sort)).
			Hide(sdk.VariableHideDontHide)
		if v.Description != "" {
			b.Description(v.Description)
		}
		if v.AllValue != "" {
			b.AllValue(v.AllValue)
		}
		switch {
		case v.Default != "":
			b.Current(option(orDefault(v.DefaultText, v.Default), v.Default, v.Multi))
		case v.IncludeAll:
			b.Current(option("All", "$__all", v.Multi))
		}
		return b, nil
	default:
		return nil, fmt.Errorf("unknown variable kind %q (want %q or %q)", v.Kind, VariableDatasource, VariableQuery)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// option is a variable's selected value; a multi-value variable stores
// arrays, which is how Grafana itself saves them.
func option(text, value string, multi bool) sdk.VariableOption {
	selected := true
	if multi {
		return sdk.VariableOption{
			Selected: &selected,
			Text:     sdk.StringOrArrayOfString{ArrayOfString: []string{text}},
			Value:    sdk.StringOrArrayOfString{ArrayOfString: []string{value}},
		}
	}
	return sdk.VariableOption{
		Selected: &selected,
		Text:     sdk.StringOrArrayOfString{String: &text},
		Value:    sdk.StringOrArrayOfString{String: &value},
	}
}

// panelBuilder is what the four SDK panel builders have in common; each
// returns its own type, hence the type parameter.
type panelBuilder[B any] interface {
	cog.Builder[sdk.Panel]
	Id(uint32) B
	Title(string) B
	Description(string) B
	Datasource(common.DataSourceRef) B
	GridPos(sdk.GridPos) B
	Unit(string) B
	Decimals(float64) B
	Min(float64) B
	Max(float64) B
	Thresholds(cog.Builder[sdk.ThresholdsConfig]) B
	ColorScheme(cog.Builder[sdk.FieldColor]) B
	WithTarget(cog.Builder[variants.Dataquery]) B
	WithTransformation(sdk.DataTransformerConfig) B
	WithOverride(sdk.MatcherConfig, []sdk.DynamicConfigValue) B
}

// fill sets what every kind of panel shares.
func fill[B panelBuilder[B]](b B, p Panel, ds DatasourceRef) B {
	b.Id(p.ID).
		Title(p.Title).
		Datasource(datasourceRef(ds)).
		GridPos(sdk.GridPos{X: p.Grid.X, Y: p.Grid.Y, W: p.Grid.W, H: p.Grid.H})
	if p.Description != "" {
		b.Description(p.Description)
	}
	if p.Unit != "" {
		b.Unit(p.Unit)
	}
	if p.Decimals != nil {
		b.Decimals(float64(*p.Decimals))
	}
	if p.Min != nil {
		b.Min(*p.Min)
	}
	if p.Max != nil {
		b.Max(*p.Max)
	}
	b.Thresholds(sdk.NewThresholdsConfigBuilder().Mode(sdk.ThresholdsModeAbsolute).Steps(steps(p.Thresholds)))
	color := sdk.FieldColorModeIdPaletteClassic
	if p.ColorByThresholds {
		color = sdk.FieldColorModeIdThresholds
	}
	b.ColorScheme(sdk.NewFieldColorBuilder().Mode(color))
	for _, q := range p.Queries {
		b.WithTarget(target(q, ds))
	}
	for _, t := range p.Transformations {
		opts := t.Options
		if opts == nil {
			opts = map[string]any{}
		}
		b.WithTransformation(sdk.DataTransformerConfig{Id: t.ID, Options: opts})
	}
	for _, o := range p.Overrides {
		b.WithOverride(sdk.MatcherConfig{Id: "byName", Options: o.Field}, overrideProperties(o))
	}
	return b
}

// steps converts threshold steps; an empty list becomes the single base
// step Grafana needs (without it a gauge has no colour at all).
func steps(in []Step) []sdk.Threshold {
	if len(in) == 0 {
		return []sdk.Threshold{{Value: nil, Color: defaultBaseColor}}
	}
	out := make([]sdk.Threshold, len(in))
	for i, s := range in {
		out[i] = sdk.Threshold{Value: s.Value, Color: s.Color}
	}
	return out
}

func overrideProperties(o FieldOverride) []sdk.DynamicConfigValue {
	var props []sdk.DynamicConfigValue
	if o.Unit != "" {
		props = append(props, sdk.DynamicConfigValue{Id: "unit", Value: o.Unit})
	}
	if o.Decimals != nil {
		props = append(props, sdk.DynamicConfigValue{Id: "decimals", Value: *o.Decimals})
	}
	if len(o.Thresholds) > 0 {
		props = append(props,
			sdk.DynamicConfigValue{Id: "thresholds", Value: sdk.ThresholdsConfig{Mode: sdk.ThresholdsModeAbsolute, Steps: steps(o.Thresholds)}},
			sdk.DynamicConfigValue{Id: "color", Value: sdk.FieldColor{Mode: sdk.FieldColorModeIdThresholds}},
		)
	}
	if len(o.Links) > 0 {
		links := make([]map[string]any, len(o.Links))
		for i, l := range o.Links {
			links[i] = map[string]any{"title": l.Title, "url": l.URL}
		}
		props = append(props, sdk.DynamicConfigValue{Id: "links", Value: links})
	}
	if o.CellColor {
		mode := common.TableCellBackgroundDisplayModeBasic
		props = append(props, sdk.DynamicConfigValue{Id: "custom.cellOptions", Value: common.TableColoredBackgroundCellOptions{
			Type: common.TableCellDisplayModeColorBackground,
			Mode: &mode,
		}})
	}
	return props
}

func target(q Query, ds DatasourceRef) cog.Builder[variants.Dataquery] {
	b := prometheus.NewDataqueryBuilder().
		RefId(q.RefID).
		Expr(q.Expr).
		Datasource(datasourceRef(ds)).
		EditorMode(prometheus.QueryEditorModeCode)
	if q.LegendFormat != "" {
		b.LegendFormat(q.LegendFormat)
	}
	if q.Instant {
		b.Instant()
	} else {
		b.Range()
	}
	format := q.Format
	if format == "" {
		format = FormatTimeSeries
	}
	b.Format(prometheus.PromQueryFormat(format))
	return b
}

func panel(p Panel, ds DatasourceRef) (cog.Builder[sdk.Panel], error) {
	switch p.Kind {
	case KindTimeseries:
		b := fill(timeseries.NewPanelBuilder(), p, ds).
			Legend(vizLegend(p.Legend)).
			Tooltip(vizTooltip(p.Tooltip)).
			DrawStyle(common.GraphDrawStyleLine).
			LineInterpolation(common.LineInterpolationLinear).
			LineWidth(1).
			FillOpacity(10).
			ShowPoints(common.VisibilityModeNever).
			SpanNulls(common.BoolOrFloat64{Bool: boolPtr(false)}).
			AxisPlacement(common.AxisPlacementAuto)
		style := common.GraphThresholdsStyleModeOff
		if p.ThresholdLines {
			style = common.GraphThresholdsStyleModeDashed
		}
		b.ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(style))
		return b, nil
	case KindGauge:
		b := fill(gauge.NewPanelBuilder(), p, ds).
			Orientation(common.VizOrientationAuto).
			ReduceOptions(reduce(p.Reduce)).
			ShowThresholdMarkers(true).
			ShowThresholdLabels(false).
			Sizing(common.BarGaugeSizingAuto)
		return b, nil
	case KindPiechart:
		b := fill(piechart.NewPanelBuilder(), p, ds).
			PieType(piechart.PieChartTypePie).
			Orientation(common.VizOrientationAuto).
			ReduceOptions(reduce(p.Reduce)).
			Tooltip(vizTooltip(p.Tooltip)).
			Legend(pieLegend(p.Legend)).
			DisplayLabels([]piechart.PieChartLabels{piechart.PieChartLabelsPercent})
		return b, nil
	case KindTable:
		b := fill(table.NewPanelBuilder(), p, ds).
			ShowHeader(true).
			CellHeight(common.TableCellHeightSm).
			Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false)).
			Align(common.FieldTextAlignmentAuto).
			CellOptions(common.TableCellOptions{TableAutoCellOptions: &common.TableAutoCellOptions{Type: common.TableCellDisplayModeAuto}}).
			Inspect(false)
		return b, nil
	case KindStateTimeline:
		b := fill(statetimeline.NewPanelBuilder(), p, ds).
			Legend(vizLegend(p.Legend)).
			Tooltip(vizTooltip(p.Tooltip)).
			ShowValue(common.VisibilityModeNever).
			MergeValues(true).
			AlignValue("left").
			RowHeight(0.9).
			FillOpacity(70).
			LineWidth(0)
		return b, nil
	default:
		return nil, fmt.Errorf("unknown panel kind %q", p.Kind)
	}
}

func boolPtr(b bool) *bool { return &b }

func reduce(calc string) *common.ReduceDataOptionsBuilder {
	if calc == "" {
		calc = defaultReduce
	}
	return common.NewReduceDataOptionsBuilder().Values(false).Calcs([]string{calc}).Fields("")
}

func legendMode(l Legend) (common.LegendDisplayMode, common.LegendPlacement, bool) {
	mode := common.LegendDisplayMode(l.Mode)
	if mode == "" {
		mode = common.LegendDisplayModeList
	}
	placement := common.LegendPlacement(l.Placement)
	if placement == "" {
		placement = common.LegendPlacementBottom
	}
	return mode, placement, mode != common.LegendDisplayModeHidden
}

func vizLegend(l Legend) *common.VizLegendOptionsBuilder {
	mode, placement, show := legendMode(l)
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(mode).
		Placement(placement).
		ShowLegend(show).
		Calcs(nonNil(l.Calcs))
}

func pieLegend(l Legend) *piechart.PieChartLegendOptionsBuilder {
	mode, placement, show := legendMode(l)
	values := make([]piechart.PieChartLegendValues, len(l.Values))
	for i, v := range l.Values {
		values[i] = piechart.PieChartLegendValues(v)
	}
	return piechart.NewPieChartLegendOptionsBuilder().
		DisplayMode(mode).
		Placement(placement).
		ShowLegend(show).
		Values(values).
		Calcs(nonNil(l.Calcs))
}

func vizTooltip(t Tooltip) *common.VizTooltipOptionsBuilder {
	mode := common.TooltipDisplayMode(t.Mode)
	if mode == "" {
		mode = common.TooltipDisplayModeMulti
	}
	sort := common.SortOrder(t.Sort)
	if sort == "" {
		sort = defaultTooltipSort
	}
	return common.NewVizTooltipOptionsBuilder().Mode(mode).Sort(sort)
}
