// Package target turns the rendered Prometheus-format files of a monitoring
// pack into the files of other rule engines: `dbmonctl generate --target`.
//
// Its input is bytes, never the pack's Go definitions: the rule file
// (prometheus/alerts.yml), its promtool tests (prometheus/alerts_test.yml)
// and the Alertmanager config (alertmanager/alertmanager.yml), exactly as
// generate renders them, plus a few settings (Options). So whatever builds
// those files, the targets follow, and every conversion starts by parsing
// the file the way its engine does, reporting file:line:col on a field it
// cannot carry over rather than dropping it.
//
// Targets:
//
//   - prometheus: the rendered files as they are (prometheus/, alertmanager/).
//   - prometheus-operator: a PrometheusRule (monitoring.coreos.com/v1) and an
//     AlertmanagerConfig (monitoring.coreos.com/v1alpha1), built with the
//     operator's own Go types. Every alerting rule carries a namespace label
//     equal to the resources' namespace, because the operator's default
//     OnNamespace matcher strategy adds namespace="<ns>" to the
//     AlertmanagerConfig's first route and to every inhibition rule; secrets
//     become references to keys of one Kubernetes Secret.
//   - vmalert: the rules in vmalert's dialect (every group typed
//     `prometheus`) and tests that `vmalert-tool unittest` runs as they
//     are (a groupname in every alert test, which promtool rejects).
//   - thanos-ruler: the rules with partial_response_strategy: abort on every
//     group, the field only Thanos accepts.
//
// vmalert and Thanos Ruler notify an Alertmanager, so those targets also
// keep alertmanager/alertmanager.yml. Files of no engine (the dashboard,
// runbooks) pass through unchanged.
package target
