// Package ruler synchronises Prometheus rule groups into one namespace of
// a tenant of the Cortex or Grafana Mimir ruler, through the ruler's
// configuration API (Client: Cortex serves it under /api/v1/rules, Mimir
// under /prometheus/config/v1/rules), on the HTTP plumbing of package
// apiclient (tenant header, credentials, retries, redaction). It takes
// rule groups as prometheus/prometheus's rulefmt types.
//
// # Plan, then apply
//
// NewPlan compares the namespace's groups with the desired ones and lists
// the writes that would make them equal (Plan.Changes, each with a unified
// diff); Apply performs them in order and reports what was applied, what
// failed and what was not attempted. A dry run is NewPlan alone: it reads
// and never writes. Planning compares canonical YAML, so syncing the same
// groups twice writes nothing the second time.
//
// # Ownership
//
// A sync only touches groups its owner manages. Ownership is recorded in
// the namespace itself, by a marker group named MarkerName(owner) holding
// one alerting rule, MarkerAlert, whose expression (MarkerExpr) never
// returns a sample: it never fires, writes no series, and needs no data.
// Its annotations name the owner and list the groups the owner manages.
//
//   - A namespace with groups but no marker is not managed: NewPlan refuses
//     with a *NotOwnedError instead of adopting it. A namespace with
//     another owner's marker is refused too.
//   - A desired group whose name exists in the namespace but is not listed
//     is refused: it is someone else's.
//   - Groups not listed are foreign (Plan.Foreign) and never changed.
//   - Listed groups that are no longer desired are deleted only with
//     PlanOptions.Prune; otherwise they are kept, and stay listed.
//
// The marker is a group rather than a group label or a rule label because
// it must survive every engine version and must not change what the
// managed rules produce: group labels are only stored by Cortex 1.20+ and
// Mimir 3.0+ (older versions accept and silently drop them, which would
// make a namespace look unmanaged), and both group and rule labels are
// added to every alert and recorded series. A group with no rules would be
// cheaper but Cortex and Mimir refuse empty groups. The cost is one rule
// group of the tenant's limit (Mimir's default is 70) per namespace.
//
// Writes are ordered so that an interrupted sync never leaves a group it
// created unlisted: the marker is first rewritten to list every group that
// exists or is about to be created, then groups are created and updated,
// then deleted, and finally the marker lists exactly the managed groups.
// When nothing is left to manage and no foreign group remains, the marker
// is deleted too and the namespace is released.
//
// The API has no transactions or version checks: two syncs of the same
// namespace at once can interleave. Run one at a time (one CI job).
package ruler
