package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// store is one API push reads and writes the dashboard through: the
// classic /api or the /apis dashboard API. Push's rules (identity, marker,
// guards, dry run) are the same over both; a store only maps them to
// requests.
type store interface {
	// api names the API for reports: "/api" or "/apis/<group>/<version>".
	api() string
	// ensureFolder reads the folder and creates it when missing.
	ensureFolder(ctx context.Context, o PushOptions) (created bool, err error)
	// get reads the dashboard; nil without error when it does not exist.
	get(ctx context.Context, uid string) (*current, error)
	// save creates (cur == nil) or updates the dashboard, with optimistic
	// locking unless forced.
	save(ctx context.Context, a saveArgs) (saved, error)
	// concurrentSave reports whether a save failed because the dashboard
	// changed since it was read (or appeared since it was found missing).
	concurrentSave(err error) bool
}

// current is the server copy of the dashboard, as either API shows it.
type current struct {
	// schema is SchemaV1 or SchemaV2; content is comparable with a
	// document of the same schema.
	schema  string
	content Content
	// marker is dbmonctl's marker, if the copy has a well-formed one.
	marker    Marker
	hasMarker bool
	// version is the classic version or the /apis generation; lock is
	// what a save sends back for optimistic locking.
	version int
	lock    string
	// folderUID is "" for the root folder; folderTitle may be unknown.
	folderUID, folderTitle string
	// url is server-relative ("/d/<uid>/<slug>").
	url string
	// provisioned: owned by file provisioning (classic) or by any
	// manager (/apis managedBy), from provisionedFrom.
	provisioned     bool
	provisionedFrom string
	managedBy       string
	// updatedBy and updated say who saved last and when, if known.
	updatedBy, updated string
	// res is the resource read on /apis, whose labels and annotations an
	// update carries over.
	res *Resource
}

// saveArgs is what a store saves.
type saveArgs struct {
	want      document
	marker    Marker
	cur       *current
	folderUID string
	message   string
	force     bool
}

// saved is the outcome of a save.
type saved struct {
	version int
	url     string
	// markerKept is false when the server dropped the marker.
	markerKept bool
}

// classicStore is the classic /api: GET /api/dashboards/uid/:uid, POST
// /api/dashboards/db and /api/folders.
type classicStore struct {
	c *Client
	// forced is true when the user chose the classic API; false when auto
	// fell back to it because /apis does not serve dashboard.grafana.app/v1.
	forced bool
}

func (classicStore) api() string { return "/api" }

func (s classicStore) ensureFolder(ctx context.Context, o PushOptions) (bool, error) {
	return ensureFolder(ctx, s.c, o)
}

func (s classicStore) get(ctx context.Context, uid string) (*current, error) {
	d, err := s.c.Dashboard(ctx, uid)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotAcceptable {
		how := "run push with --api auto (or apis) to go through the /apis dashboard API"
		if !s.forced {
			how = "this server does not serve " + GroupDashboard + "/v1 on /apis, through which dbmonctl could replace it; delete it in Grafana, or restore a v1 version from its history"
		}
		return nil, fmt.Errorf("%w: the dashboard is stored in Grafana as schema v2 (Grafana 13 saves dashboards edited in its UI as v2), "+
			"which the classic /api cannot read or replace: %s; there, --force overwrites it with dbmonctl's version and --schema v2 pushes dbmonctl's dashboard as v2: %w",
			err, how, ErrSchemaV2)
	}
	if err != nil {
		return nil, err
	}
	have, err := ParseContent(d.Dashboard)
	if err != nil {
		return nil, fmt.Errorf("read dashboard %q from grafana: %w", uid, err)
	}
	m, ok := readMarker(d.Dashboard)
	return &current{
		schema: SchemaV1, content: have, marker: m, hasMarker: ok,
		version: d.Meta.Version, lock: strconv.Itoa(d.Meta.Version),
		folderUID: d.Meta.FolderUID, folderTitle: d.Meta.FolderTitle, url: d.Meta.URL,
		provisioned: d.Meta.Provisioned, provisionedFrom: d.Meta.ProvisionedExternalID,
		updatedBy: d.Meta.UpdatedBy, updated: d.Meta.Updated,
	}, nil
}

func (s classicStore) save(ctx context.Context, a saveArgs) (saved, error) {
	version := 0
	if a.cur != nil {
		version = a.cur.version
	}
	r, err := s.c.SaveDashboard(ctx, SaveRequest{
		Dashboard: saveBody(a.want.content, a.marker, version),
		FolderUID: a.folderUID,
		Message:   a.message,
		Overwrite: a.force,
	})
	if err != nil {
		return saved{}, err
	}
	return saved{version: r.Version, url: r.URL, markerKept: true}, nil
}

// concurrentSave: 412 version-mismatch, or the 409 newer servers answer
// to a stale version.
func (classicStore) concurrentSave(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == StatusVersionMismatch || ae.StatusCode == http.StatusConflict)
}

// apiStore is the /apis dashboard API at the dashboard's schema version,
// in one namespace.
type apiStore struct {
	c  *Client
	ns string
	// version is the dashboard.grafana.app version written: "v1" or "v2".
	version string
	// other is the other schema's version when the server serves it, to
	// read a dashboard stored in that schema; "" otherwise.
	other string
	// folderVersion is the folder.grafana.app version to use, "" to use
	// the classic /api/folders.
	folderVersion string
}

func (s apiStore) api() string { return "/apis/" + GroupDashboard + "/" + s.version }

// schemaOf maps an API version to its schema: v2, v2beta1, v2alpha1 are
// SchemaV2; v1, v1beta1, v0alpha1 are SchemaV1.
func schemaOf(version string) string {
	if strings.HasPrefix(version, "v2") {
		return SchemaV2
	}
	return SchemaV1
}

func (s apiStore) get(ctx context.Context, uid string) (*current, error) {
	r, err := s.c.GetResource(ctx, GroupDashboard, s.version, s.ns, "dashboards", uid)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A dashboard stored in the other schema comes converted, or with a
	// failed conversion; read it as stored, which always succeeds, so
	// that it is compared and hashed as it really is.
	if conv := conversion(r); conv != nil && conv.StoredVersion != "" && schemaOf(conv.StoredVersion) != s.version {
		if s.other != "" {
			stored, err := s.c.GetResource(ctx, GroupDashboard, s.other, s.ns, "dashboards", uid)
			if err != nil {
				return nil, fmt.Errorf("read dashboard %q as stored (%s): %w", uid, conv.StoredVersion, err)
			}
			r = stored
		} else if conv.Failed {
			return nil, fmt.Errorf("dashboard %q is stored as %s/%s, which this server cannot convert to %s (%s), nor serve: %w",
				uid, GroupDashboard, conv.StoredVersion, s.version, conv.Error, ErrAPIUnavailable)
		}
	}
	return resourceCurrent(r)
}

func conversion(r Resource) *ConversionStatus {
	if r.Status == nil {
		return nil
	}
	return r.Status.Conversion
}

// resourceCurrent reads a dashboard resource.
func resourceCurrent(r Resource) (*current, error) {
	version := r.APIVersion[strings.LastIndex(r.APIVersion, "/")+1:]
	cur := &current{schema: schemaOf(version), res: &r}
	var spec map[string]any
	if len(r.Spec) > 0 && string(r.Spec) != "null" {
		if err := json.Unmarshal(r.Spec, &spec); err != nil {
			return nil, fmt.Errorf("decode dashboard %q from grafana: %w", r.Metadata.Name, err)
		}
	}
	if spec == nil {
		spec = map[string]any{}
	}
	ann := r.Metadata.Annotations
	if cur.schema == SchemaV1 {
		cur.content = specContent(spec, r.Metadata.Name)
	} else {
		cur.content = Content(spec)
	}
	switch {
	case ann[MarkerAnnotation] != "":
		cur.marker, cur.hasMarker = Marker{ContentHash: ann[MarkerAnnotation], PushedBy: ann[PushedByAnnotation]}, true
	case cur.schema == SchemaV1:
		// A dashboard dbmonctl pushed through the classic /api has its
		// marker in the JSON, which is the v1 spec.
		cur.marker, cur.hasMarker = readMarker(r.Spec)
	}
	cur.version = int(r.Metadata.Generation)
	cur.lock = r.Metadata.ResourceVersion
	cur.folderUID = ann[AnnoFolder]
	cur.url = "/d/" + r.Metadata.Name
	cur.managedBy = ann[AnnoManagedBy]
	cur.provisioned = cur.managedBy != ""
	cur.provisionedFrom = ann[AnnoSourcePath]
	if cur.provisionedFrom == "" {
		cur.provisionedFrom = ann[AnnoManagerID]
	}
	cur.updatedBy, cur.updated = ann[AnnoUpdatedBy], ann[AnnoUpdatedTimestamp]
	return cur, nil
}

// serverAnnotations are set by Grafana on every write, or consumed by it
// (the message): an update does not send them back.
var serverAnnotations = []string{AnnoUpdatedBy, AnnoUpdatedTimestamp, AnnoCreatedBy, AnnoMessage, AnnoFolder}

func (s apiStore) save(ctx context.Context, a saveArgs) (saved, error) {
	ann := map[string]string{}
	var labels map[string]string
	if a.cur != nil && a.cur.res != nil {
		// Read-modify-write: other tools' annotations and labels (and a
		// manager's, which a forced save does not take over) stay.
		for k, v := range a.cur.res.Metadata.Annotations {
			ann[k] = v
		}
		labels = a.cur.res.Metadata.Labels
	}
	for _, k := range serverAnnotations {
		delete(ann, k)
	}
	if a.folderUID != "" {
		ann[AnnoFolder] = a.folderUID
	}
	if a.message != "" {
		ann[AnnoMessage] = a.message
	}
	ann[MarkerAnnotation] = a.marker.ContentHash
	delete(ann, PushedByAnnotation)
	if a.marker.PushedBy != "" {
		ann[PushedByAnnotation] = a.marker.PushedBy
	}
	spec, err := specBody(a.want, a.marker)
	if err != nil {
		return saved{}, err
	}
	r := Resource{
		APIVersion: GroupDashboard + "/" + s.version,
		Kind:       "Dashboard",
		Metadata:   ObjectMeta{Name: a.want.uid, Namespace: s.ns, Annotations: ann, Labels: labels},
		Spec:       spec,
	}
	var out Resource
	if a.cur == nil {
		out, err = s.c.CreateResource(ctx, GroupDashboard, s.version, s.ns, "dashboards", r)
	} else {
		if !a.force {
			r.Metadata.ResourceVersion = a.cur.lock
		}
		out, err = s.c.UpdateResource(ctx, GroupDashboard, s.version, s.ns, "dashboards", r)
	}
	if err != nil {
		return saved{}, err
	}
	kept := out.Metadata.Annotations[MarkerAnnotation] == a.marker.ContentHash
	if m, ok := readMarker(out.Spec); !kept && a.want.schema == SchemaV1 && ok {
		kept = m.ContentHash == a.marker.ContentHash
	}
	return saved{version: int(out.Metadata.Generation), url: "/d/" + a.want.uid, markerKept: kept}, nil
}

// specBody is the spec push sends: for v1 the classic JSON without the
// uid (the resource's name carries it) and with the marker, so that the
// classic /api finds it too; for v2 the spec as rendered.
func specBody(d document, m Marker) (json.RawMessage, error) {
	out := make(map[string]any, len(d.content)+1)
	for k, v := range d.content {
		out[k] = v
	}
	if d.schema == SchemaV1 {
		delete(out, "uid")
		out[MarkerKey] = m
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode dashboard %q: %w", d.uid, err)
	}
	return b, nil
}

// concurrentSave: 409 Conflict (stale resourceVersion) or AlreadyExists
// (created since it was found missing).
func (apiStore) concurrentSave(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusConflict
}

func (s apiStore) ensureFolder(ctx context.Context, o PushOptions) (bool, error) {
	if s.folderVersion == "" {
		return ensureFolder(ctx, s.c, o)
	}
	_, err := s.c.GetResource(ctx, GroupFolder, s.folderVersion, s.ns, "folders", o.FolderUID)
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
	spec, _ := json.Marshal(map[string]string{"title": title})
	_, err = s.c.CreateResource(ctx, GroupFolder, s.folderVersion, s.ns, "folders", Resource{
		APIVersion: GroupFolder + "/" + s.folderVersion,
		Kind:       "Folder",
		Metadata:   ObjectMeta{Name: o.FolderUID, Namespace: s.ns},
		Spec:       spec,
	})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrConflict) {
		return false, fmt.Errorf("create folder %q: %w", o.FolderUID, err)
	}
	// Created by a concurrent push: fine once it can be read.
	if _, gerr := s.c.GetResource(ctx, GroupFolder, s.folderVersion, s.ns, "folders", o.FolderUID); gerr != nil {
		return false, fmt.Errorf("create folder %q: %w", o.FolderUID, err)
	}
	return false, nil
}
