// Package rules is the generic machinery behind dbmonctl's alerting rules:
// a typed model of Prometheus rule groups, its rendering to a rule file
// (the model/rulefmt types, so the bytes are what Prometheus itself reads),
// validation of a rule file with rulefmt, typed unit tests rendered to a
// promtool `test rules` file, and an in-process runner that evaluates those
// tests with the real Prometheus rule engine.
//
// The package knows nothing of the database pack: specs builds the groups
// and tests from its Config and calls Render, RenderTests and Run.
//
// Two Prometheus versions read what this package writes: the Go libraries
// it links (3.x semantics, used by Run) and the promtool of the CI machines
// (2.42). Render and RenderTests therefore emit only fields 2.42 accepts
// (no group query_offset or labels, no test fuzzy_compare or
// start_timestamp) and always write the input series interval.
package rules
