// Package dashboard turns a typed description of a Grafana dashboard
// (Definition) into Grafana's v1 dashboard JSON, the model that
// POST /api/dashboards/db and file provisioning accept.
//
// The description is deliberately small and independent of dbmonctl's
// thresholds: specs/ decides what the panels show, this package decides how
// a panel becomes JSON. Building goes through the grafana-foundation-sdk
// builders, so every field has the type Grafana's schema gives it; the SDK
// leaves ids, refIds, legends, tooltips and orientations empty unless told,
// so Build sets each of them explicitly.
//
// Render writes the JSON byte-for-byte deterministically (object keys
// sorted, two-space indent, trailing newline), so generated files can be
// diffed and checked for drift. Validate proves what Grafana would only show
// at run time: every query parses as PromQL once template variables are
// substituted and names only series the middleware exports, panel ids are
// unique, panels fit the 24-column grid without overlapping, and the JSON
// reads back through the SDK's strict decoder unchanged.
package dashboard
