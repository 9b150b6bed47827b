// Package pgxbench compares the cost of pgxtrace with bare pgx and with
// github.com/exaring/otelpgx. It is a module of its own so that pgxtrace's
// users never inherit OpenTelemetry through its go.mod.
package pgxbench
