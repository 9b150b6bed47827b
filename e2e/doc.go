// Package e2e holds the end-to-end fire drill: it builds dbmonctl,
// generates the monitoring pack from a drill config (the same YAML users
// write, with timings shortened from minutes to seconds), and runs the
// real Prometheus and Alertmanager binaries against the demo workload.
// Alertmanager's real PagerDuty, Slack and email integrations deliver to
// capture servers on loopback, and the drill asserts which alert reached
// which receiver, how fast, and, for the scenarios marked resolve, that
// every receiver is told when the workload is healthy again.
//
// The drill only builds with the e2e tag:
//
//	go test -tags e2e ./e2e/ -v -timeout 15m
//
// It needs the prometheus and prometheus-alertmanager binaries on PATH
// (Debian packages prometheus and prometheus-alertmanager).
package e2e
