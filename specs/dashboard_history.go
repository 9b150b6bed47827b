package specs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// The alert history: which of the pack's alerts fired, when, for how long
// and how often, from the series Prometheus writes for every alerting
// rule: ALERTS{alertstate="pending"|"firing"} (1 while the alert is in
// that state, one sample per evaluation) and ALERTS_FOR_STATE (while an
// alert with a for duration is pending or firing, its value is the time
// it became active). Together they give the original's "alert accuracy":
// of the activations, how many lasted long enough to fire, how long each
// episode lasted, and which alerts flap.

// Prometheus' own series of alerting rules.
const (
	metricAlerts         = "ALERTS"
	metricAlertsForState = "ALERTS_FOR_STATE"
	labelAlertname       = "alertname"
	labelAlertstate      = "alertstate"
)

// Panel ids of the alert history.
const (
	PanelHistoryTimeline   = 1
	PanelHistoryEpisodes   = 2
	PanelHistoryBySeverity = 3
)

// AlertHistoryDefinition is the alert history dashboard of the pack's
// alerts: a state timeline of each alert's firing periods, a table of
// firing episodes, time firing, mean episode and activations over the
// dashboard's time range, and the count firing by severity.
func (p *Pack) AlertHistoryDefinition() dashboard.Definition {
	c := p.Config
	names := make([]string, len(p.Alerts))
	for i, a := range p.Alerts {
		names[i] = regexp.QuoteMeta(a.Name)
	}
	who := fmt.Sprintf("%s=~%q", labelAlertname, strings.Join(names, "|"))
	firing := fmt.Sprintf("%s{%s, %s=\"firing\"}", metricAlerts, who, labelAlertstate)
	forState := fmt.Sprintf("%s{%s}", metricAlertsForState, who)
	eval := c.Alerting.EvaluationInterval
	by := "alertname, severity"
	// a firing episode starts at an evaluation where the alert fires and
	// did not one evaluation earlier
	starts := fmt.Sprintf("sum by (%s) (count_over_time((%s unless %s offset %s)[$__range:%s]))", by, firing, firing, eval, eval)
	// one sample per evaluation while firing
	seconds := fmt.Sprintf("sum by (%s) (count_over_time(%s[$__range])) * %s", by, firing, promNum(eval.Std().Seconds()))
	// ALERTS_FOR_STATE changes value at each new activation; a series
	// present in the range was activated at least once
	activations := fmt.Sprintf("sum by (%s) (changes(%s[$__range]) + 1)", by, forState)
	cols := []string{"Firing episodes", "Time firing", "Mean episode", "Activations"}
	index := map[string]any{labelAlertname: 0, LabelSeverity: 1}
	rename := map[string]any{}
	for i, col := range cols {
		ref := "Value #" + dashRefID(i)
		index[ref] = i + 2
		rename[ref] = col
	}
	legend := dashboard.Legend{Mode: dashboard.LegendList, Placement: dashboard.LegendBottom}
	return dashboard.Definition{
		UID:         c.AlertHistoryUID(),
		Title:       c.Dashboard.Title + " — Alert History",
		Description: "Which of the pack's alerts fired, when, for how long and how often, from Prometheus' ALERTS and ALERTS_FOR_STATE series.",
		Tags:        append([]string(nil), c.Dashboard.Tags...),
		Refresh:     "1m",
		From:        "now-7d",
		To:          "now",
		CursorSync:  dashboard.CursorSyncCrosshair,
		Datasource:  dashboard.DatasourceRef{Type: "prometheus", UID: "${" + VarDatasource + "}"},
		Variables:   dashboardVariables(c)[:1],
		Panels: []dashboard.Panel{
			{
				ID:    PanelHistoryTimeline,
				Title: "Firing",
				Description: fmt.Sprintf("One band per alert and label set while it fires (%s{alertstate=\"firing\"}), for the %d alerts of the pack. Hover a band for its labels; the alert's dashboard_url opens the panel that plots its signal.",
					metricAlerts, len(p.Alerts)),
				Kind:       dashboard.KindStateTimeline,
				Grid:       dashboard.GridPos{X: 0, Y: 0, W: dashboard.GridColumns, H: 10},
				Thresholds: []dashboard.Step{{Value: nil, Color: dashColorCritical}},
				// colour by value: 1 is firing
				ColorByThresholds: true,
				Legend:            legend,
				Tooltip:           dashboard.Tooltip{Mode: dashboard.TooltipSingle, Sort: "none"},
				Queries:           []dashboard.Query{{RefID: "A", Expr: firing, LegendFormat: "{{alertname}} {{severity}} {{job}} {{instance}}"}},
			},
			{
				ID:    PanelHistoryEpisodes,
				Title: "Episodes, time firing and flapping",
				Description: fmt.Sprintf("Per alert over the dashboard's time range: firing episodes (evaluations where it fired and had not one evaluation, %s, earlier; an episode already running at the start of the range is not counted), "+
					"time firing (evaluations firing × %s), mean episode, and activations (pending periods, from %s; alerts with a for duration only). "+
					"Many short episodes mean the alert flaps; activations far above episodes mean it often goes pending without firing.",
					eval, eval, metricAlertsForState),
				Kind: dashboard.KindTable,
				Grid: dashboard.GridPos{X: 0, Y: 10, W: 16, H: 10},
				Queries: []dashboard.Query{
					{RefID: "A", Expr: starts, Instant: true, Format: dashboard.FormatTable},
					{RefID: "B", Expr: seconds, Instant: true, Format: dashboard.FormatTable},
					{RefID: "C", Expr: fmt.Sprintf("(%s) / (%s > 0)", seconds, starts), Instant: true, Format: dashboard.FormatTable},
					{RefID: "D", Expr: activations, Instant: true, Format: dashboard.FormatTable},
				},
				Transformations: []dashboard.Transformation{
					{ID: "merge", Options: map[string]any{}},
					{ID: "organize", Options: map[string]any{"excludeByName": map[string]any{"Time": true}, "indexByName": index, "renameByName": rename}},
				},
				Overrides: []dashboard.FieldOverride{
					{Field: "Firing episodes", Unit: dashUnitShort, Decimals: dashboard.Int(0)},
					{Field: "Time firing", Unit: dashUnitSeconds},
					{Field: "Mean episode", Unit: dashUnitSeconds},
					{Field: "Activations", Unit: dashUnitShort, Decimals: dashboard.Int(0)},
					{Field: labelAlertname, Links: []dashboard.Link{{Title: "Open the overview", URL: dashLink(c.OverviewUID())}}},
				},
			},
			{
				ID:          PanelHistoryBySeverity,
				Title:       "Alerts firing by severity",
				Description: fmt.Sprintf("Number of alerts firing at each moment, per severity (%s).", metricAlerts),
				Kind:        dashboard.KindTimeseries,
				Grid:        dashboard.GridPos{X: 16, Y: 10, W: 8, H: 10},
				Unit:        dashUnitShort,
				Decimals:    dashboard.Int(0),
				Min:         dashboard.Float(0),
				Legend:      dashboard.Legend{Mode: dashboard.LegendTable, Placement: dashboard.LegendBottom, Calcs: []string{"max", "lastNotNull"}},
				Tooltip:     dashboard.Tooltip{Mode: dashboard.TooltipMulti, Sort: "desc"},
				Queries:     []dashboard.Query{{RefID: "A", Expr: fmt.Sprintf("count by (%s) (%s)", LabelSeverity, firing), LegendFormat: "{{severity}}"}},
			},
		},
	}
}

// alertSeriesKnown is what the alert history may query: the middleware's
// and switched-on exporters' contracts as KnownSeries has them, plus
// ALERTS and ALERTS_FOR_STATE with the labels the pack's alerts carry.
func (p *Pack) alertSeriesKnown() promcheck.Known {
	ls := []string{labelAlertname, LabelSeverity, LabelTeam, LabelFamily}
	for _, a := range p.Alerts {
		for _, l := range a.By {
			if !slices.Contains(ls, l) {
				ls = append(ls, l)
			}
		}
	}
	forState := middleware.MetricDesc{Name: metricAlertsForState, Kind: middleware.KindGauge, Labels: ls}
	alerts := middleware.MetricDesc{Name: metricAlerts, Kind: middleware.KindGauge, Labels: append(append([]string(nil), ls...), labelAlertstate)}
	descs := append(append(middleware.ContractWith(p.Config.ContractOptions()), serverDescs(p.Config)...), alerts, forState)
	return promcheck.FromContract(descs, knownTargetLabels(p.Config)...)
}
