package grafana

import (
	"context"
	"errors"
	"fmt"
	"github.com/dbmonctl/dbmonctl/internal/textdiff"
	"strings"
)

// API selects which of Grafana's HTTP APIs push uses.
type API string

// The APIs push can use.
const (
	// APIAuto asks GET /apis what the server serves and uses the /apis
	// dashboard API when it serves dashboard.grafana.app at the dashboard's
	// schema version (v1 for classic JSON, v2 for a v2 resource), and the
	// classic /api otherwise (a v2 resource then fails with
	// ErrAPIUnavailable).
	APIAuto API = "auto"
	// APIClassic uses /api/dashboards and /api/folders only, as before
	// Grafana 12. A dashboard Grafana stores as v2 fails with ErrSchemaV2.
	APIClassic API = "classic"
	// APIResources uses /apis (dashboard.grafana.app/v1 or /v2, and
	// folder.grafana.app when served), failing with ErrAPIUnavailable when
	// the server does not serve the version needed.
	APIResources API = "apis"
)

// PushOptions say what to push where.
type PushOptions struct {
	// Dashboard is the dashboard to push: v1 dashboard JSON with a "uid"
	// and a "title" ("id", "version" and the marker are set by push), or a
	// dashboard.grafana.app/v1 or /v2 resource whose metadata.name is the
	// uid.
	Dashboard []byte
	// API is the API to use; empty means APIAuto.
	API API
	// Namespace is the /apis namespace; empty means NamespaceForOrg of the
	// client's OrgID. Grafana Cloud needs "stacks-<stack id>".
	Namespace string
	// FolderUID is the folder the dashboard is saved into; it is created,
	// titled FolderTitle, when missing. Empty means the root folder.
	FolderUID   string
	FolderTitle string
	// Message is the version-history note; empty means DefaultMessage.
	Message string
	// PushedBy names the tool in the marker and the default message, e.g.
	// "dbmonctl v1.2.0".
	PushedBy string
	// DryRun reads the server only and reports what a push would do.
	DryRun bool
	// Force overwrites a dashboard edited outside dbmonctl and saves with
	// Grafana's overwrite flag, ignoring version and title clashes.
	Force bool
}

// Action is what a push did, or in a dry run would do, to the dashboard.
type Action string

// The actions of a push.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// PushResult reports a push.
type PushResult struct {
	// Server is the Grafana version from /api/health.
	Server string
	// API is the API push used: "/api", or "/apis/dashboard.grafana.app/v1"
	// (or /v2); empty when push stopped before choosing.
	API string
	// Schema is the schema of the pushed dashboard (SchemaV1 or SchemaV2);
	// StoredSchema that of the server copy, empty when there is none.
	Schema, StoredSchema string
	// ManagedBy is the tool that owns the server copy according to its
	// grafana.app/managedBy annotation (/apis only), e.g.
	// "classic-file-provisioning" or "terraform".
	ManagedBy string
	// MarkerDropped is true when the server did not keep the marker
	// annotation of the save: it ignores custom annotations, so the next
	// push will take the dashboard for one edited outside dbmonctl.
	MarkerDropped bool
	// FolderCreated is true when push created the folder (or, in a dry
	// run, would create it).
	FolderCreated bool
	// Action is what happened to the dashboard (or would, in a dry run).
	Action Action
	// DryRun repeats the option, so a report can say "would".
	DryRun bool
	// UID is the dashboard's uid; URL its absolute URL once it exists.
	UID string
	URL string
	// Version is the dashboard's version on the server after the push (the
	// current one when unchanged or in a dry run; 0 if it does not exist);
	// on /apis its metadata.generation.
	Version int
	// PreviousVersion is the version that was replaced (0 when created).
	PreviousVersion int
	// MovedFrom is the folder the dashboard was in, when the push moves it.
	MovedFrom string
	// EditedOutside is true when the server copy is not what dbmonctl last
	// pushed; a non-forced, non-dry push then fails with ErrEditedOutside.
	EditedOutside bool
	// Provisioned is true when the server copy is provisioned from a file
	// (ProvisionedFrom, as Grafana names it), or on /apis managed by any
	// tool (ManagedBy); a non-forced, non-dry push that would change it
	// fails with ErrProvisioned.
	Provisioned     bool
	ProvisionedFrom string
	// Diff is a unified diff of the server's dashboard (or nothing) against
	// the pushed one, over the compared fields; "" when identical.
	Diff string
	// ContentHash is the hash of the pushed content (see Content.Hash).
	ContentHash string
}

// DefaultMessage is the version-history note of a push: who pushed and
// which content, so Grafana's "Versions" tab ties each version to a build.
func DefaultMessage(pushedBy, contentHash string) string {
	if pushedBy == "" {
		pushedBy = "dbmonctl"
	}
	short := strings.TrimPrefix(contentHash, "sha256:")
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("pushed by %s, content sha256:%s", pushedBy, short)
}

// Push makes the dashboard on the server equal to o.Dashboard: health
// check, choice of API, folder, read, compare, save. See the package
// documentation for the rules. The result is filled as far as push got,
// also on error.
func Push(ctx context.Context, c *Client, o PushOptions) (PushResult, error) {
	res := PushResult{DryRun: o.DryRun}
	want, err := parseDocument(o.Dashboard)
	if err != nil {
		return res, err
	}
	uid := want.uid
	if uid == "" {
		if want.schema == SchemaV2 {
			return res, errors.New("dashboard resource has no metadata.name: push needs a stable uid to find the dashboard again")
		}
		return res, errors.New("dashboard JSON has no \"uid\": push needs a stable uid to find the dashboard again")
	}
	if want.title == "" {
		return res, fmt.Errorf("dashboard %q has no \"title\"", uid)
	}
	res.UID = uid
	res.Schema = want.schema
	res.ContentHash = want.content.Hash()

	h, err := c.Health(ctx)
	if err != nil {
		return res, explain(fmt.Errorf("check grafana health at %s: %w", c.URL(), err), c)
	}
	res.Server = h.Version

	st, err := selectStore(ctx, c, o, want, h.Version)
	if err != nil {
		return res, explain(err, c)
	}
	res.API = st.api()

	if o.FolderUID != "" {
		created, err := st.ensureFolder(ctx, o)
		if err != nil {
			return res, explain(err, c)
		}
		res.FolderCreated = created
	}

	cur, err := st.get(ctx, uid)
	if err != nil {
		return res, explain(fmt.Errorf("read dashboard %q: %w", uid, err), c)
	}
	if cur != nil {
		res.Version = cur.version
		res.URL = c.AbsURL(cur.url)
		res.StoredSchema = cur.schema
		res.Provisioned, res.ProvisionedFrom, res.ManagedBy = cur.provisioned, cur.provisionedFrom, cur.managedBy
		if cur.folderUID != o.FolderUID {
			res.MovedFrom = folderName(cur.folderUID, cur.folderTitle)
		}
		if cur.schema == want.schema && cur.content.Equal(want.content) && res.MovedFrom == "" {
			res.Action = Unchanged
			return res, nil
		}
		res.EditedOutside = !cur.hasMarker || cur.marker.ContentHash != cur.content.Hash()
		from := fmt.Sprintf("grafana/%s (version %d)", uid, cur.version)
		if cur.schema != want.schema {
			from = fmt.Sprintf("grafana/%s (version %d, schema %s)", uid, cur.version, cur.schema)
		}
		res.Diff = textdiff.Unified(from, "dbmonctl/"+uid, string(cur.content.Pretty()), string(want.content.Pretty()))
		res.Action = Updated
		res.PreviousVersion = cur.version
	} else {
		res.Diff = textdiff.Unified("grafana/"+uid+" (absent)", "dbmonctl/"+uid, "", string(want.content.Pretty()))
		res.Action = Created
	}

	if o.DryRun {
		return res, nil
	}
	if res.Provisioned && !o.Force {
		return res, provisionedError(uid, cur)
	}
	if res.EditedOutside && !o.Force {
		return res, editedOutsideError(uid, cur, want.schema)
	}

	msg := o.Message
	if msg == "" {
		msg = DefaultMessage(o.PushedBy, res.ContentHash)
	}
	saved, err := st.save(ctx, saveArgs{
		want:      want,
		marker:    Marker{ContentHash: res.ContentHash, PushedBy: o.PushedBy},
		cur:       cur,
		folderUID: o.FolderUID,
		message:   msg,
		force:     o.Force,
	})
	if err != nil {
		if st.concurrentSave(err) {
			// A retried save whose first try went through, or a twin
			// push of the same content, leaves exactly what we wanted:
			// that is success, not a conflict.
			if again, gerr := st.get(ctx, uid); gerr == nil && again != nil && again.schema == want.schema &&
				again.content.Equal(want.content) && again.folderUID == o.FolderUID &&
				again.hasMarker && again.marker.ContentHash == res.ContentHash {
				res.Version = again.version
				res.URL = c.AbsURL(again.url)
				return res, nil
			}
		}
		return res, explain(fmt.Errorf("save dashboard %q: %w", uid, err), c)
	}
	res.Version = saved.version
	res.URL = c.AbsURL(saved.url)
	res.MarkerDropped = !saved.markerKept
	return res, nil
}

// selectStore picks the API for the push: see API.
func selectStore(ctx context.Context, c *Client, o PushOptions, want document, server string) (store, error) {
	mode := o.API
	if mode == "" {
		mode = APIAuto
	}
	switch mode {
	case APIClassic:
		if want.schema == SchemaV2 {
			return nil, fmt.Errorf("the dashboard is a schema v2 resource, which the classic /api cannot save; push it through /apis (--api auto or apis): %w", ErrSchemaV2)
		}
		return classicStore{c: c, forced: true}, nil
	case APIAuto, APIResources:
	default:
		return nil, fmt.Errorf("unknown API %q (want %s, %s or %s)", mode, APIAuto, APIClassic, APIResources)
	}
	groups, err := c.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover the APIs of grafana at %s: %w", c.URL(), err)
	}
	if groups.Serves(GroupDashboard, want.schema) {
		ns := o.Namespace
		if ns == "" {
			ns = NamespaceForOrg(c.orgID)
		}
		s := apiStore{c: c, ns: ns, version: want.schema}
		other := SchemaV2
		if want.schema == SchemaV2 {
			other = SchemaV1
		}
		if groups.Serves(GroupDashboard, other) {
			s.other = other
		}
		for _, v := range []string{"v1", "v1beta1"} {
			if groups.Serves(GroupFolder, v) {
				s.folderVersion = v
				break
			}
		}
		return s, nil
	}
	if mode == APIAuto && want.schema == SchemaV1 {
		return classicStore{c: c}, nil
	}
	hint := ""
	switch {
	case want.schema == SchemaV2:
		hint = "; the stable v2 dashboard API needs Grafana 13: push the v1 dashboard instead (--schema v1)"
	default:
		hint = "; use the classic /api (--api auto or classic)"
	}
	return nil, fmt.Errorf("grafana %s does not serve %s/%s on /apis (dashboard versions served: %s)%s: %w",
		server, GroupDashboard, want.schema, groups.String(GroupDashboard), hint, ErrAPIUnavailable)
}

func readMarkerOK(raw []byte) bool {
	_, ok := readMarker(raw)
	return ok
}

func folderName(uid, title string) string {
	switch {
	case uid == "":
		return "the root folder"
	case title != "":
		return fmt.Sprintf("%q (%s)", uid, title)
	}
	return fmt.Sprintf("%q", uid)
}

// editedOutsideError says why push refuses and how to see the difference.
func editedOutsideError(uid string, cur *current, wantSchema string) error {
	who := ""
	if cur.updatedBy != "" {
		who = " by " + cur.updatedBy
	}
	if cur.updated != "" {
		who += " at " + cur.updated
	}
	switch {
	case cur.schema == SchemaV2 && wantSchema == SchemaV1:
		return fmt.Errorf("dashboard %q was saved as schema v2 in Grafana (version %d, last saved%s; Grafana 13 stores dashboards saved from its UI as v2): "+
			"refusing to replace it; run with --dry-run to see the difference, --force to overwrite it with dbmonctl's version, "+
			"or --schema v2 to push dbmonctl's dashboard as v2 (--force is still needed while the Grafana copy differs from what dbmonctl pushed): %w",
			uid, cur.version, who, ErrEditedOutside)
	case !cur.hasMarker:
		return fmt.Errorf("dashboard %q (version %d, last saved%s) was not pushed by dbmonctl or was saved from the Grafana UI since: "+
			"refusing to overwrite it; run with --dry-run to see the difference, --force to overwrite: %w",
			uid, cur.version, who, ErrEditedOutside)
	}
	return fmt.Errorf("dashboard %q was edited in Grafana since dbmonctl pushed it (now version %d, last saved%s): "+
		"refusing to overwrite it; run with --dry-run to see the difference, --force to overwrite: %w",
		uid, cur.version, who, ErrEditedOutside)
}

// provisionedError says why push refuses to replace a provisioned or
// managed dashboard, and what to do instead. Checked before the
// edited-outside rule: a provisioned dashboard never has dbmonctl's
// marker, and --force only helps when the provisioning allows UI updates.
func provisionedError(uid string, cur *current) error {
	if cur.managedBy != "" && cur.managedBy != ManagerClassicFileProvisioning {
		from := ""
		if cur.provisionedFrom != "" {
			from = fmt.Sprintf(" (%s)", cur.provisionedFrom)
		}
		return fmt.Errorf("dashboard %q is managed by %s%s according to its %s annotation, which owns it: "+
			"change it there, or release it from that tool; --force tries the save anyway: %w", uid, cur.managedBy, from, AnnoManagedBy, ErrProvisioned)
	}
	from := "a provisioning file"
	if cur.provisionedFrom != "" {
		from = fmt.Sprintf("the file %q", cur.provisionedFrom)
	}
	return fmt.Errorf("dashboard %q is provisioned on the Grafana server from %s, which owns it: "+
		"Grafana refuses API saves of it, or with allowUiUpdates replaces them when it next reads the file; "+
		"put dbmonctl's dashboard in that file instead (dbmonctl generate writes it, with a provisioning "+
		"provider), or remove the dashboard from provisioning; --force tries the save anyway: %w", uid, from, ErrProvisioned)
}

// ensureFolder reads the folder and creates it when missing. A 409 on
// create means a concurrent push created it first, which is fine once the
// folder can be read.
func ensureFolder(ctx context.Context, c *Client, o PushOptions) (created bool, err error) {
	_, err = c.Folder(ctx, o.FolderUID)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("read folder %q: %w", o.FolderUID, err)
	}
	if o.DryRun {
		return true, nil
	}
	title := o.FolderTitle
	if title == "" {
		title = o.FolderUID
	}
	_, err = c.CreateFolder(ctx, Folder{UID: o.FolderUID, Title: title})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrConflict) {
		return false, fmt.Errorf("create folder %q: %w", o.FolderUID, err)
	}
	if _, gerr := c.Folder(ctx, o.FolderUID); gerr != nil {
		return false, fmt.Errorf("create folder %q: another folder holds its title %q: pick that folder's uid with --folder-uid or another --folder-title: %w",
			o.FolderUID, title, err)
	}
	return false, nil
}

// explain adds what to do about the errors a user can fix, keeping the
// chain so the caller can still match it.
func explain(err error, c *Client) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: timed out (raise --timeout if grafana is slow)", err)
		}
		return err
	}
	switch {
	case ae.StatusCode == 401:
		return fmt.Errorf("%w: grafana rejected the token: check GRAFANA_TOKEN or --token-file (a service-account token of this org)", err)
	case ae.StatusCode == 403 && strings.Contains(ae.Message, messageManaged):
		return fmt.Errorf("%w: another tool manages the dashboard and does not allow edits: change it there, or release it from that tool: %w", err, ErrProvisioned)
	case ae.StatusCode == 403 && strings.HasPrefix(ae.Path, "/apis/"):
		return fmt.Errorf("%w: the token lacks a permission, or the namespace is not its organisation's: check --namespace (default for org 1, org-<id>, stacks-<id> on Grafana Cloud) and --org-id", err)
	case ae.StatusCode == 403:
		return fmt.Errorf("%w: the token lacks a permission: the service account needs the Editor role or folders:create and dashboards:write", err)
	case ae.StatusCode == 404 && ae.Path == "/api/health":
		return fmt.Errorf("%w: no grafana API at %s: check --grafana-url (with any sub-path grafana is served under)", err, c.URL())
	case ae.StatusCode == 404 && strings.HasPrefix(ae.Path, "/apis/"):
		return fmt.Errorf("%w: check --grafana-url, --namespace and --folder-uid", err)
	case ae.StatusCode == 404:
		return fmt.Errorf("%w: check --grafana-url, --org-id and --folder-uid", err)
	case ae.Status == StatusVersionMismatch, ae.StatusCode == 409 && strings.Contains(ae.Path, "/dashboards"):
		return fmt.Errorf("%w: someone saved the dashboard while dbmonctl was pushing: run push again", err)
	case ae.Status == StatusNameExists:
		return fmt.Errorf("%w: another dashboard in the folder has the same title: rename or move it, or use --force to replace it", err)
	case ae.Status == StatusPluginDashboard:
		return fmt.Errorf("%w: the dashboard belongs to a plugin: use --force to overwrite it, or another uid", err)
	case ae.StatusCode == 400 && strings.Contains(ae.Message, MessageV2Format):
		return fmt.Errorf("%w: the classic /api does not take schema v2 dashboards; push through /apis (--api auto or apis): %w", err, ErrSchemaV2)
	case ae.StatusCode == 400 && strings.Contains(ae.Message, MessageProvisioned):
		return fmt.Errorf("%w: the dashboard is provisioned from a file on the server without allowUiUpdates: "+
			"update that file instead (dbmonctl generate writes it), or remove the dashboard from provisioning: %w", err, ErrProvisioned)
	case ae.StatusCode == 413:
		return fmt.Errorf("%w: the dashboard is larger than the server accepts: raise grafana's request size limit or trim the dashboard", err)
	}
	return err
}
