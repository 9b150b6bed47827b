// Package alertmanager is the typed model of an Alertmanager configuration:
// a routing tree, receivers with PagerDuty, Slack, email and webhook
// integrations, and inhibit rules. It renders the model to YAML that
// Alertmanager 0.25 and later accept, loads the rendered bytes back with
// Alertmanager's own config loader, and runs typed routing and inhibition
// tests with Alertmanager's own dispatch and inhibit code, so that a test
// that passes here passes in `amtool config routes test` too.
//
// The model is deliberately smaller than Alertmanager's config: it holds
// only fields that Alertmanager 0.25 understands, because the library this
// package validates with (a newer Alertmanager) accepts fields that 0.25
// rejects, and config.Config.String writes defaults that 0.25 rejects.
// Rendering therefore goes through this package's own YAML structs.
//
// Secrets never enter the rendered file. Every integration has an inline
// secret field (routing key, webhook URL, SMTP password) only so that
// Validate can reject it with a field path; Render writes the *_file twin,
// which Alertmanager reads at notification time.
package alertmanager
