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
//
// RenderV2 writes the same Definition as a dashboard.grafana.app/v2
// resource, the schema Grafana 13 made generally available and serves on
// its /apis dashboard API. The v2 panels take their options, field config
// and queries from the v1 build, so the two schemas show the same thing.
// The v1 JSON stays the default: it is what the classic /api and Grafana's
// file provisioning accept.
package dashboard
