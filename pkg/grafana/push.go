package grafana

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// PushOptions say what to push where.
type PushOptions struct {
	// Dashboard is the dashboard JSON to push (a v1 dashboard model with a
	// "uid" and a "title"). "id", "version" and the marker are set by push.
	Dashboard []byte
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
	// current one when unchanged or in a dry run; 0 if it does not exist).
	Version int
	// PreviousVersion is the version that was replaced (0 when created).
	PreviousVersion int
	// MovedFrom is the folder the dashboard was in, when the push moves it.
	MovedFrom string
	// EditedOutside is true when the server copy is not what dbmonctl last
	// pushed; a non-forced, non-dry push then fails with ErrEditedOutside.
	EditedOutside bool
	// Provisioned is true when the server copy is provisioned from a file
	// (ProvisionedFrom, as Grafana names it); a non-forced, non-dry push
	// that would change it fails with ErrProvisioned.
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
// check, folder, read, compare, save. See the package documentation for
// the rules. The result is filled as far as push got, also on error.
func Push(ctx context.Context, c *Client, o PushOptions) (PushResult, error) {
	res := PushResult{DryRun: o.DryRun}
	want, err := ParseContent(o.Dashboard)
	if err != nil {
		return res, err
	}
	uid := want.UID()
	if uid == "" {
		return res, errors.New("dashboard JSON has no \"uid\": push needs a stable uid to find the dashboard again")
	}
	if want.Title() == "" {
		return res, fmt.Errorf("dashboard %q has no \"title\"", uid)
	}
	res.UID = uid
	res.ContentHash = want.Hash()

	h, err := c.Health(ctx)
	if err != nil {
		return res, explain(fmt.Errorf("check grafana health at %s: %w", c.URL(), err), c)
	}
	res.Server = h.Version

	if o.FolderUID != "" {
		created, err := ensureFolder(ctx, c, o)
		if err != nil {
			return res, explain(err, c)
		}
		res.FolderCreated = created
	}

	cur, err := c.Dashboard(ctx, uid)
	exists := true
	switch {
	case errors.Is(err, ErrNotFound):
		exists = false
	case err != nil:
		return res, explain(fmt.Errorf("read dashboard %q: %w", uid, err), c)
	}

	var have Content
	if exists {
		have, err = ParseContent(cur.Dashboard)
		if err != nil {
			return res, fmt.Errorf("read dashboard %q from grafana: %w", uid, err)
		}
		res.Version = cur.Meta.Version
		res.URL = c.AbsURL(cur.Meta.URL)
		res.Provisioned, res.ProvisionedFrom = cur.Meta.Provisioned, cur.Meta.ProvisionedExternalID
		if cur.Meta.FolderUID != o.FolderUID {
			res.MovedFrom = folderName(cur.Meta.FolderUID, cur.Meta.FolderTitle)
		}
		if have.Equal(want) && res.MovedFrom == "" {
			res.Action = Unchanged
			return res, nil
		}
		m, ok := readMarker(cur.Dashboard)
		res.EditedOutside = !ok || m.ContentHash != have.Hash()
		res.Diff = UnifiedDiff(
			fmt.Sprintf("grafana/%s (version %d)", uid, cur.Meta.Version),
			"dbmonctl/"+uid, have.Pretty(), want.Pretty())
		res.Action = Updated
		res.PreviousVersion = cur.Meta.Version
	} else {
		res.Diff = UnifiedDiff("grafana/"+uid+" (absent)", "dbmonctl/"+uid, nil, want.Pretty())
		res.Action = Created
	}

	if o.DryRun {
		return res, nil
	}
	if res.Provisioned && !o.Force {
		return res, provisionedError(uid, cur.Meta)
	}
	if res.EditedOutside && !o.Force {
		return res, editedOutsideError(uid, cur.Meta, readMarkerOK(cur.Dashboard))
	}

	msg := o.Message
	if msg == "" {
		msg = DefaultMessage(o.PushedBy, res.ContentHash)
	}
	marker := Marker{ContentHash: res.ContentHash, PushedBy: o.PushedBy}
	saved, err := c.SaveDashboard(ctx, SaveRequest{
		Dashboard: saveBody(want, marker, res.Version),
		FolderUID: o.FolderUID,
		Message:   msg,
		Overwrite: o.Force,
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == StatusVersionMismatch {
			// A retried save whose first try went through, or a twin
			// push of the same content, leaves exactly what we wanted:
			// that is success, not a conflict.
			if again, gerr := c.Dashboard(ctx, uid); gerr == nil {
				if got, perr := ParseContent(again.Dashboard); perr == nil && got.Equal(want) && again.Meta.FolderUID == o.FolderUID {
					if m, ok := readMarker(again.Dashboard); ok && m.ContentHash == res.ContentHash {
						res.Version = again.Meta.Version
						res.URL = c.AbsURL(again.Meta.URL)
						return res, nil
					}
				}
			}
		}
		return res, explain(fmt.Errorf("save dashboard %q: %w", uid, err), c)
	}
	res.Version = saved.Version
	res.URL = c.AbsURL(saved.URL)
	return res, nil
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
func editedOutsideError(uid string, meta DashboardMeta, hadMarker bool) error {
	who := ""
	if meta.UpdatedBy != "" {
		who = " by " + meta.UpdatedBy
	}
	if meta.Updated != "" {
		who += " at " + meta.Updated
	}
	if !hadMarker {
		return fmt.Errorf("dashboard %q (version %d, last saved%s) was not pushed by dbmonctl or was saved from the Grafana UI since: "+
			"refusing to overwrite it; run with --dry-run to see the difference, --force to overwrite: %w",
			uid, meta.Version, who, ErrEditedOutside)
	}
	return fmt.Errorf("dashboard %q was edited in Grafana since dbmonctl pushed it (now version %d, last saved%s): "+
		"refusing to overwrite it; run with --dry-run to see the difference, --force to overwrite: %w",
		uid, meta.Version, who, ErrEditedOutside)
}

// provisionedError says why push refuses to replace a provisioned
// dashboard, and what to do instead. Checked before the edited-outside
// rule: a provisioned dashboard never has dbmonctl's marker, and --force
// only helps when the provisioning allows UI updates.
func provisionedError(uid string, meta DashboardMeta) error {
	from := "a provisioning file"
	if meta.ProvisionedExternalID != "" {
		from = fmt.Sprintf("the file %q", meta.ProvisionedExternalID)
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
	case ae.StatusCode == 403:
		return fmt.Errorf("%w: the token lacks a permission: the service account needs the Editor role or folders:create and dashboards:write", err)
	case ae.StatusCode == 404 && ae.Path == "/api/health":
		return fmt.Errorf("%w: no grafana API at %s: check --grafana-url (with any sub-path grafana is served under)", err, c.URL())
	case ae.StatusCode == 404:
		return fmt.Errorf("%w: check --grafana-url, --org-id and --folder-uid", err)
	case ae.Status == StatusVersionMismatch:
		return fmt.Errorf("%w: someone saved the dashboard while dbmonctl was pushing: run push again", err)
	case ae.Status == StatusNameExists:
		return fmt.Errorf("%w: another dashboard in the folder has the same title: rename or move it, or use --force to replace it", err)
	case ae.Status == StatusPluginDashboard:
		return fmt.Errorf("%w: the dashboard belongs to a plugin: use --force to overwrite it, or another uid", err)
	case ae.StatusCode == 400 && strings.Contains(ae.Message, MessageProvisioned):
		return fmt.Errorf("%w: the dashboard is provisioned from a file on the server without allowUiUpdates: "+
			"update that file instead (dbmonctl generate writes it), or remove the dashboard from provisioning: %w", err, ErrProvisioned)
	case ae.StatusCode == 413:
		return fmt.Errorf("%w: the dashboard is larger than the server accepts: raise grafana's request size limit or trim the dashboard", err)
	}
	return err
}
