// Package grafana pushes a dashboard to a Grafana server over its HTTP API,
// safely enough to run unattended in CI. It is a small typed client on
// net/http for the endpoints it needs: GET /api/health, and either the
// classic API (GET and POST /api/folders, GET /api/dashboards/uid/:uid,
// POST /api/dashboards/db) or Grafana 12+'s Kubernetes-style /apis (GET
// /apis discovery, dashboard.grafana.app/v1 or /v2 and folder.grafana.app
// resources); docs/adr/0003-grafana-client.md says why it does not use the
// generated OpenAPI client, docs/adr/0008-grafana-13-apis.md how it uses
// /apis.
//
// # Which API
//
// With APIAuto, push asks GET /apis what the server serves and uses the
// /apis dashboard API when it serves dashboard.grafana.app at the
// dashboard's schema version (v1 for classic JSON, v2 for a v2 resource),
// the classic /api otherwise. Every rule below holds on both: on /apis the
// version is metadata.generation, optimistic locking sends
// metadata.resourceVersion (409 Conflict when stale), the folder is the
// grafana.app/folder annotation, the marker lives in annotations (and, for
// a v1 spec, in the JSON too, so either API recognises a dashboard pushed
// through the other), and a grafana.app/managedBy annotation counts as
// provisioned. A dashboard Grafana 13 stores as v2 is read as stored and,
// unless dbmonctl pushed it so, refused as an edit; through the classic
// API it cannot be read at all (406) and push fails with ErrSchemaV2.
//
// # What a push does
//
// Push checks /api/health (no credentials, so a wrong URL is told apart
// from a wrong token) and reports the server version; ensures the folder,
// creating it when missing (a 409 from a concurrent creator is fine);
// reads the dashboard by uid; and then:
//
//   - identical → nothing is written, the result is Unchanged;
//   - absent → it is created;
//   - different, and the server copy is what dbmonctl last pushed → it is
//     updated;
//   - different, and the server copy is provisioned from a file on the
//     server (meta.provisioned) → push refuses with ErrProvisioned unless
//     forced, naming the file: Grafana owns such a dashboard, and refuses
//     API saves of it (400) unless its provider sets allowUiUpdates;
//   - different, and the server copy was edited outside dbmonctl → push
//     refuses with ErrEditedOutside unless forced.
//
// # Identical
//
// Two dashboards are identical when their JSON objects are equal after
// dropping "id" and "version" (Grafana sets them on every save) and the
// marker (below), comparing numbers as numbers and objects regardless of
// key order; and the dashboard is already in the wanted folder. Anything
// else Grafana's API stores as sent, so any other difference is a change.
//
// # Edits outside dbmonctl
//
// Each push stores a marker in the dashboard, under the top-level key
// MarkerKey: the SHA-256 of the content it pushed, computed over the same
// fields as identity. On the next push the server copy's content is hashed
// again: if it equals the marker, the server holds exactly what dbmonctl
// pushed and may be replaced. If it differs, or the marker is gone (UI
// saves rebuild the JSON and drop unknown fields; a dashboard created by
// hand never had one), someone changed it, and push refuses, names the
// version and who saved it last, and points at --dry-run (to see the
// diff) and --force. A dashboard merely moved to another folder keeps its
// content hash and is moved back.
//
// The save itself uses Grafana's optimistic locking: it sends the version
// it read, without overwrite, so a save that lands between the read and
// the write is a 412 version-mismatch instead of a silent loss. Only a
// forced push sets overwrite (which also lets it replace a plugin
// dashboard or a same-titled one). After a version-mismatch push reads the
// dashboard again and reports success when the server already holds
// exactly what it wanted, the case of a save retried after a connection
// reset whose first try went through.
//
// # Dry run
//
// A dry run makes only GET requests and reports what would happen, with a
// unified diff (diff -u format, 3 lines of context) of the server copy
// against the pushed one, both pretty-printed with sorted keys over the
// compared fields. It uses go-difflib, like `dbmonctl generate --check`.
//
// # Retries and timeouts
//
// Connection errors, 429, 502, 503 and 504 are retried with capped
// exponential backoff and equal jitter (Retry), honouring a longer
// Retry-After, up to Retry.Attempts tries and never past the context's
// deadline: push gives up at once when the next wait would cross it. 4xx
// and 500 are never retried. The caller bounds the whole push with the
// context.
//
// # Secrets
//
// The token goes only into the Authorization header of authenticated
// requests. It is not logged, and every error text passes through a
// redactor that replaces it (and any password in the URL) with
// [REDACTED], because servers and proxies sometimes echo credentials back
// in an error body.
package grafana
