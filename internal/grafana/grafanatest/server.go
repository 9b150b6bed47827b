// Package grafanatest is an in-memory Grafana HTTP API for tests: the
// endpoints dbmonctl push uses, following Grafana's documented contract
// (Bearer auth, X-Grafana-Org-Id, folders with 409 on a duplicate,
// dashboards by uid with meta, saves with version/overwrite semantics and
// 412 version-mismatch | name-exists | plugin-dashboard, 400 for a
// dashboard file provisioning owns without allowUiUpdates), plus fault
// injection (any status, slow answers, connection resets) and a snapshot
// of its state so a test can prove that nothing else changed.
//
// With a Profile that serves them (Grafana12, Grafana13), it also serves
// the Kubernetes-style /apis: discovery (GET /apis), dashboards at
// /apis/dashboard.grafana.app/<version>/namespaces/<ns>/dashboards[/<name>]
// (namespace default, org-<id>, stacks-<id>; resourceVersion optimistic
// locking with 409 Conflict, 409 AlreadyExists, 404, 413, Kubernetes
// Status errors, grafana.app/* annotations, managed resources refused with
// 403, status.conversion when read at another schema than stored) and
// folders at /apis/folder.grafana.app. Both APIs share one store, as in
// Grafana: a dashboard saved as v2 (SaveV2AsUser, as Grafana 13's UI does)
// answers 406 on GET /api/dashboards/uid/:uid, and POST /api/dashboards/db
// refuses a v2 body with 400.
package grafanatest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is what GET /api/health reports for the default profile.
const Version = "11.6.0"

// Profile is what a fake server is: the version it reports and the /apis
// group versions it serves.
type Profile struct {
	// Version is what GET /api/health reports.
	Version string
	// Dashboard and Folder are the versions of dashboard.grafana.app and
	// folder.grafana.app served on /apis; none means /apis answers 404.
	Dashboard, Folder []string
	// StackID, when not zero, makes "stacks-<StackID>" the namespace of
	// org 1, as on Grafana Cloud.
	StackID int64
}

// Profiles of the Grafana versions push is tested against.
var (
	// Grafana11 has only the classic /api.
	Grafana11 = Profile{Version: Version}
	// Grafana12 serves /apis, but no GA dashboard version.
	Grafana12 = Profile{Version: "12.1.0", Dashboard: []string{"v0alpha1", "v1beta1", "v2alpha1"}, Folder: []string{"v1beta1"}}
	// Grafana13 serves the GA dashboard versions v1 and v2.
	Grafana13 = Profile{Version: "13.0.1", Dashboard: []string{"v0alpha1", "v1beta1", "v1", "v2beta1", "v2"}, Folder: []string{"v1beta1"}}
)

// Server is a fake Grafana. Create it with New or NewTLS; Close it when done.
type Server struct {
	*httptest.Server

	// Token is the only service-account token the server accepts.
	Token string

	profile Profile

	mu       sync.Mutex
	orgs     map[int64]*org
	faults   []*Fault
	requests []Request
	nextID   int64
	clock    int
	maxBody  int64
	rv       int64
	// dropAnnotations makes /apis writes ignore annotations outside
	// grafana.app/, as servers without custom metadata support do.
	dropAnnotations bool
}

type org struct {
	folders    map[string]*folder
	dashboards map[string]*dashboard
}

type folder struct {
	ID    int64  `json:"id"`
	UID   string `json:"uid"`
	Title string `json:"title"`
	RV    int64  `json:"resourceVersion"`
}

type dashboard struct {
	ID  int64  `json:"id"`
	UID string `json:"uid"`
	// Data is, for schema v1, the classic JSON (with id, uid and version);
	// for schema v2 the v2 spec.
	Data map[string]any `json:"data"`
	// Schema is "v1" or "v2"; StoredVersion the API version it was
	// written with (classic saves write v0alpha1, as Grafana does).
	Schema        string `json:"schema"`
	StoredVersion string `json:"storedVersion"`
	// Version is the classic version, which is the /apis generation.
	Version int   `json:"version"`
	RV      int64 `json:"resourceVersion"`
	// Annotations and Labels are what /apis writes set, less Grafana's
	// own (folder, message, created/updated by), which live in fields.
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	FolderUID   string            `json:"folderUid"`
	PluginID    string            `json:"pluginId,omitempty"`
	// Provisioned names the provisioning file of a dashboard that file
	// provisioning owns; AllowUIUpdates is that provider's allowUiUpdates.
	Provisioned    string   `json:"provisioned,omitempty"`
	AllowUIUpdates bool     `json:"allowUiUpdates,omitempty"`
	Updated        string   `json:"updated"`
	UpdatedBy      string   `json:"updatedBy"`
	Messages       []string `json:"messages"`
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	// OrgID is the X-Grafana-Org-Id header, "" when absent.
	OrgID string
	// Authorized says whether the request carried the right token.
	Authorized bool
	// Status is the status answered, 0 for a reset connection.
	Status int
}

// Fault replaces the server's answer to matching requests.
type Fault struct {
	// Method and Path select requests; "" matches any. Path matches as a
	// prefix when it ends in "*".
	Method string
	Path   string
	// Status and Body are the answer; Body defaults to a Grafana-style
	// {"message": …}. Header adds headers (e.g. Retry-After).
	Status int
	Body   string
	Header map[string]string
	// Delay holds the answer back (or until the client gives up).
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
	// Apply lets the request change the server's state before the fault
	// answers: the reply is lost, not the request.
	Apply bool
	// Times is how many matching requests the fault hits; 0 means all.
	Times int

	hits int
}

// New starts a fake Grafana 11 (classic /api only) on plain HTTP that
// accepts token, with org 1.
func New(token string) *Server {
	return NewWithProfile(token, Grafana11)
}

// NewWithProfile starts a fake Grafana of profile p on plain HTTP.
func NewWithProfile(token string, p Profile) *Server {
	s := newServer(token)
	s.profile = p
	s.Server.Start()
	return s
}

// NewTLS starts a fake Grafana on HTTPS with httptest's self-signed
// certificate (s.Certificate()).
func NewTLS(token string) *Server {
	s := newServer(token)
	s.Server.StartTLS()
	return s
}

func newServer(token string) *Server {
	s := &Server{
		Token:   token,
		profile: Grafana11,
		orgs:    map[int64]*org{1: newOrg()},
		nextID:  1,
		maxBody: 1 << 20,
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Refused handshakes and reset connections are what the tests cause;
	// the server's log of them is noise.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

func newOrg() *org {
	return &org{folders: map[string]*folder{}, dashboards: map[string]*dashboard{}}
}

// Inject adds a fault; faults are tried in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// SetMaxBody sets the body size above which a save answers 413, as newer
// Grafana servers and their proxies do.
func (s *Server) SetMaxBody(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxBody = n
}

// DropCustomAnnotations makes /apis writes ignore annotations outside
// grafana.app/, as Grafana does where custom metadata is not supported.
func (s *Server) DropCustomAnnotations(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAnnotations = drop
}

// AddOrg creates an organisation.
func (s *Server) AddOrg(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgs[id] == nil {
		s.orgs[id] = newOrg()
	}
}

// AddFolder creates a folder in an org, as an admin would in the UI.
func (s *Server) AddFolder(orgID int64, uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
	s.orgs[orgID].folders[uid] = &folder{ID: s.id(), UID: uid, Title: title, RV: s.rv}
}

// SaveAsUser stores a dashboard as a UI save by user would: data as given
// (the caller decides which fields a UI keeps), version bumped, no
// checks. pluginID, when set, marks a dashboard a plugin installed.
func (s *Server) SaveAsUser(orgID int64, folderUID string, data map[string]any, user, pluginID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	uid, _ := data["uid"].(string)
	d := o.dashboards[uid]
	if d == nil {
		d = &dashboard{ID: s.id(), UID: uid}
		o.dashboards[uid] = d
	}
	d.Data = clone(data)
	d.Schema, d.StoredVersion = "v1", "v0alpha1"
	d.Version++
	s.rv++
	d.RV = s.rv
	d.FolderUID = folderUID
	d.PluginID = pluginID
	d.UpdatedBy = user
	d.Updated = s.tick()
	d.Messages = append(d.Messages, "")
	d.Data["id"] = float64(d.ID)
	d.Data["version"] = float64(d.Version)
}

// SaveV2AsUser stores a dashboard as Grafana 13's UI saves one: in schema
// v2 (spec as given), version bumped, by user. keepAnnotations says
// whether the UI sent back the annotations it read (the marker among
// them); the classic /api answers 406 for it from then on.
func (s *Server) SaveV2AsUser(orgID int64, folderUID, uid string, spec map[string]any, user string, keepAnnotations bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	d := o.dashboards[uid]
	if d == nil {
		d = &dashboard{ID: s.id(), UID: uid}
		o.dashboards[uid] = d
	}
	if !keepAnnotations {
		d.Annotations = nil
	}
	d.Data = clone(spec)
	d.Schema, d.StoredVersion = "v2", "v2"
	d.Version++
	s.rv++
	d.RV = s.rv
	d.FolderUID = folderUID
	d.PluginID = ""
	d.UpdatedBy = user
	d.Updated = s.tick()
	d.Messages = append(d.Messages, "")
}

// Provision stores a dashboard as Grafana's file provisioning does: data as
// given, owned by the provisioning file path. Without allowUIUpdates, API
// saves of it are refused with 400 "Cannot save provisioned dashboard";
// with it, they succeed (Grafana would replace them at its next scan).
func (s *Server) Provision(orgID int64, folderUID string, data map[string]any, path string, allowUIUpdates bool) {
	s.SaveAsUser(orgID, folderUID, data, "", "")
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, _ := data["uid"].(string)
	d := s.orgs[orgID].dashboards[uid]
	d.Provisioned, d.AllowUIUpdates = path, allowUIUpdates
}

// Schema returns the schema a dashboard is stored in ("v1", "v2"), and ""
// when it does not exist.
func (s *Server) Schema(orgID int64, uid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[orgID]; o != nil && o.dashboards[uid] != nil {
		return o.dashboards[uid].Schema
	}
	return ""
}

// Annotations returns the annotations /apis writes stored on a dashboard
// (Grafana's own excepted).
func (s *Server) Annotations(orgID int64, uid string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[orgID]; o != nil && o.dashboards[uid] != nil {
		return maps.Clone(o.dashboards[uid].Annotations)
	}
	return nil
}

// Dashboard returns a stored dashboard's JSON (as the classic GET would;
// for a v2 dashboard its spec), its version and folder, and whether it
// exists.
func (s *Server) Dashboard(orgID int64, uid string) (data map[string]any, version int, folderUID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	if o == nil || o.dashboards[uid] == nil {
		return nil, 0, "", false
	}
	d := o.dashboards[uid]
	return clone(d.Data), d.Version, d.FolderUID, true
}

// Messages returns the version-history messages of a dashboard.
func (s *Server) Messages(orgID int64, uid string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.orgs[orgID].dashboards[uid]; d != nil {
		return append([]string(nil), d.Messages...)
	}
	return nil
}

// HasFolder reports whether a folder exists in an org.
func (s *Server) HasFolder(orgID int64, uid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	return o != nil && o.folders[uid] != nil
}

// Snapshot is the server's whole state as JSON: equal snapshots before and
// after an operation prove that it changed nothing.
func (s *Server) Snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(s.orgs)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests matched method and path.
func (s *Server) Count(method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// MarshalJSON makes org part of Snapshot.
func (o *org) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Folders    map[string]*folder    `json:"folders"`
		Dashboards map[string]*dashboard `json:"dashboards"`
	}{o.folders, o.dashboards})
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// tick is a deterministic clock for "updated" timestamps.
func (s *Server) tick() string {
	s.clock++
	return time.Date(2026, 1, 1, 0, 0, s.clock, 0, time.UTC).Format(time.RFC3339)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	authorized := r.Header.Get("Authorization") == "Bearer "+s.Token
	req := Request{Method: r.Method, Path: r.URL.Path, OrgID: r.Header.Get("X-Grafana-Org-Id"), Authorized: authorized}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))

	if f := s.matchFault(r); f != nil {
		if f.Apply {
			rec := httptest.NewRecorder()
			s.route(rec, r, body, authorized)
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			}
			t.Stop()
		}
		if f.Reset {
			s.log(req)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if f.Status != 0 {
			req.Status = f.Status
			s.log(req)
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}
			b := f.Body
			if b == "" {
				b = fmt.Sprintf(`{"message":%q}`, http.StatusText(f.Status))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			io.WriteString(w, b)
			return
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.route(rec, r, body, authorized)
	req.Status = rec.status
	s.log(req)
}

func (s *Server) log(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) matchFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if p, ok := strings.CutSuffix(f.Path, "*"); ok {
			if !strings.HasPrefix(r.URL.Path, p) {
				continue
			}
		} else if f.Path != "" && f.Path != r.URL.Path {
			continue
		}
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		f.hits++
		return f
	}
	return nil
}

// route answers a request the way Grafana does.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, authorized bool) {
	path := r.URL.Path
	if r.Method == http.MethodGet && path == "/api/health" {
		writeJSON(w, http.StatusOK, map[string]any{"commit": "abc1234", "database": "ok", "version": s.profile.Version})
		return
	}
	if path == "/apis" || strings.HasPrefix(path, "/apis/") {
		s.routeAPIs(w, r, body, authorized)
		return
	}
	if !authorized {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "invalid API key"})
		return
	}
	orgID := int64(1)
	if h := r.Header.Get("X-Grafana-Org-Id"); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "invalid X-Grafana-Org-Id"})
			return
		}
		orgID = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	if o == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "user is not a member of the organization"})
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/folders/"):
		f := o.folders[strings.TrimPrefix(path, "/api/folders/")]
		if f == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "folder not found", "status": "not-found"})
			return
		}
		writeJSON(w, http.StatusOK, folderJSON(f))
	case r.Method == http.MethodPost && path == "/api/folders":
		s.createFolder(w, o, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/dashboards/uid/"):
		d := o.dashboards[strings.TrimPrefix(path, "/api/dashboards/uid/")]
		if d == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Dashboard not found"})
			return
		}
		if d.Schema == "v2" {
			// Grafana 13: v2 is not served on /api.
			writeJSON(w, http.StatusNotAcceptable, map[string]any{"message": fmt.Sprintf(
				"dashboard api version not supported, use /apis/dashboard.grafana.app/%s/namespaces/%s/dashboards/%s instead",
				d.StoredVersion, s.namespaceOf(orgID), d.UID)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dashboard": d.Data, "meta": s.meta(o, d)})
	case r.Method == http.MethodPost && path == "/api/dashboards/db":
		s.saveDashboard(w, o, body, orgID)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

func folderJSON(f *folder) map[string]any {
	return map[string]any{"id": f.ID, "uid": f.UID, "title": f.Title, "url": "/dashboards/f/" + f.UID + "/" + slug(f.Title), "version": 1}
}

func (s *Server) createFolder(w http.ResponseWriter, o *org, body []byte) {
	var in struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if strings.TrimSpace(in.Title) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "folder title cannot be empty"})
		return
	}
	if o.folders[in.UID] != nil {
		writeJSON(w, http.StatusConflict, map[string]any{"message": "a folder with the same uid already exists"})
		return
	}
	for _, f := range o.folders {
		if f.Title == in.Title {
			writeJSON(w, http.StatusConflict, map[string]any{"message": "a folder with the same name already exists"})
			return
		}
	}
	f := &folder{ID: s.id(), UID: in.UID, Title: in.Title}
	o.folders[in.UID] = f
	writeJSON(w, http.StatusOK, folderJSON(f))
}

func (s *Server) meta(o *org, d *dashboard) map[string]any {
	title, _ := d.Data["title"].(string)
	m := map[string]any{
		"type": "db", "canSave": true, "canEdit": true, "canAdmin": true, "canStar": true,
		"slug": slug(title), "url": "/d/" + d.UID + "/" + slug(title),
		"version": d.Version, "updated": d.Updated, "updatedBy": d.UpdatedBy,
		"created": "2026-01-01T00:00:00Z", "createdBy": "admin",
		"folderUid": d.FolderUID, "provisioned": d.Provisioned != "", "hasAcl": false, "isFolder": false,
		"apiVersion": d.StoredVersion,
	}
	if d.Provisioned != "" {
		m["provisionedExternalId"] = d.Provisioned
	}
	if f := o.folders[d.FolderUID]; f != nil {
		m["folderId"] = f.ID
		m["folderTitle"] = f.Title
	}
	return m
}

// saveDashboard follows POST /api/dashboards/db: an existing uid needs the
// stored version unless overwrite; a plugin's dashboard needs overwrite; a
// new uid must not take a title already used in the folder unless
// overwrite, which replaces that dashboard.
func (s *Server) saveDashboard(w http.ResponseWriter, o *org, body []byte, orgID int64) {
	if int64(len(body)) > s.maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"message": "request body too large"})
		return
	}
	var in struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		Message   string         `json:"message"`
		Overwrite bool           `json:"overwrite"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Dashboard == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if looksLikeV2(in.Dashboard) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "dashboard appears to be in v2 format. Please use the /apis/dashboard.grafana.app/v2 API" +
			" OR it should include a object wrapper with an explicit 'apiVersion' and move the body into a 'spec' element"})
		return
	}
	title, _ := in.Dashboard["title"].(string)
	if strings.TrimSpace(title) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Dashboard title cannot be empty", "status": "empty-name"})
		return
	}
	if in.FolderUID != "" && o.folders[in.FolderUID] == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "folder not found", "status": "not-found"})
		return
	}
	uid, _ := in.Dashboard["uid"].(string)
	if uid == "" {
		uid = fmt.Sprintf("gen%d", s.nextID+1)
	}
	version := 0
	if v, ok := in.Dashboard["version"].(float64); ok {
		version = int(v)
	}
	d := o.dashboards[uid]
	if d != nil && d.managed() {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Cannot save provisioned dashboard"})
		return
	}
	if d != nil {
		if d.PluginID != "" && !in.Overwrite {
			writeJSON(w, http.StatusPreconditionFailed, map[string]any{"status": "plugin-dashboard",
				"message": "The dashboard belongs to plugin " + d.PluginID + "."})
			return
		}
		if version != d.Version && !in.Overwrite {
			writeJSON(w, http.StatusPreconditionFailed, map[string]any{"status": "version-mismatch",
				"message": "The dashboard has been changed by someone else"})
			return
		}
	} else {
		for ouid, od := range o.dashboards {
			if od.FolderUID == in.FolderUID && od.Data["title"] == title {
				if !in.Overwrite {
					writeJSON(w, http.StatusPreconditionFailed, map[string]any{"status": "name-exists",
						"message": "A dashboard with the same name in the folder already exists"})
					return
				}
				delete(o.dashboards, ouid)
			}
		}
		d = &dashboard{ID: s.id(), UID: uid}
		o.dashboards[uid] = d
	}
	d.Version++
	s.rv++
	d.RV = s.rv
	d.Data = clone(in.Dashboard)
	d.Data["id"] = float64(d.ID)
	d.Data["uid"] = uid
	d.Data["version"] = float64(d.Version)
	d.Schema, d.StoredVersion = "v1", "v0alpha1"
	d.FolderUID = in.FolderUID
	d.PluginID = ""
	d.Provisioned, d.AllowUIUpdates = "", false // a saved copy is the database's now
	delete(d.Annotations, annoManagedBy)
	d.UpdatedBy = "sa-dbmonctl"
	d.Updated = s.tick()
	d.Messages = append(d.Messages, in.Message)
	writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "uid": uid, "url": "/d/" + uid + "/" + slug(title),
		"status": "success", "version": d.Version, "slug": slug(title)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// clone deep-copies decoded JSON.
func clone(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
