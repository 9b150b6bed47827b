// Package amconfig manages one tenant's configuration in the multi-tenant
// Alertmanager of Cortex or Grafana Mimir, through its configuration API
// (GET, POST and DELETE /api/v1/alerts with a YAML body
// {alertmanager_config, template_files}), on the HTTP plumbing of package
// apiclient (tenant header, credentials, retries, redaction).
//
// # Secrets
//
// A multi-tenant Alertmanager refuses every setting that reads a local file
// (Cortex answers 400 "setting Email auth_password_file and global
// smtp_auth_password_file is not allowed"), so secrets must travel inline
// in the configuration. InlineSecrets replaces `<name>_file: <path>`
// settings with `<name>: <value>` in memory, from values the caller
// supplies (from the environment, say); the result is meant for the
// request body only. FileSettings lists the file settings that remain, so
// a caller can refuse before the server does.
//
// Which settings are secrets is decided by Alertmanager's own Go types (the
// Secret, SecretURL and SecretTemplateURL types of prometheus/common and
// Alertmanager), walked alongside the YAML, so every receiver type the
// library knows is covered without a list here. Redact and Plan.Diff show
// configurations with those values replaced by placeholders, and a diff
// tells a changed secret from an unchanged one without showing either.
// The server's configuration, which holds the tenant's secrets, is never
// quoted in an error.
//
// # Idempotence
//
// The API stores the configuration text as sent. NewPlan compares it byte
// for byte with the desired text (and template files by name and
// content), so pushing the same configuration twice writes once.
package amconfig
