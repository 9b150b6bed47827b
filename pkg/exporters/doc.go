// Package exporters declares the external metric contracts of the standard
// database exporters — prometheus-community's postgres_exporter and
// Prometheus' mysqld_exporter — in the same terms as the middleware's own
// contract (middleware.MetricDesc), so that a server pack's panels and
// alerts are checked by promcheck exactly like the middleware's.
//
// A Contract says which exporter versions are supported, how the exporter
// must be run for the metrics to exist (flags and environment), and, for
// each metric a server pack uses, its name, kind and label names as the
// exporter really exports them, with any condition beyond the run settings
// (a user table, a replica, a server version). The lists under testdata/
// are the full family list (name, type, label names) of a live scrape of
// each supported version; the tests prove every contract metric is in them
// and that a running exporter still matches them.
package exporters
