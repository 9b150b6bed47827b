package grafanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Grafana's annotations, as the /apis documentation names them.
const (
	annoFolder             = "grafana.app/folder"
	annoMessage            = "grafana.app/message"
	annoCreatedBy          = "grafana.app/createdBy"
	annoUpdatedBy          = "grafana.app/updatedBy"
	annoUpdatedTimestamp   = "grafana.app/updatedTimestamp"
	annoManagedBy          = "grafana.app/managedBy"
	annoManagerID          = "grafana.app/managerId"
	annoManagerAllowsEdits = "grafana.app/managerAllowsEdits"
	annoSourcePath         = "grafana.app/sourcePath"
)

// managed reports whether a tool owns the dashboard and refuses saves:
// file provisioning without allowUiUpdates, or an /apis manager
// annotation without managerAllowsEdits.
func (d *dashboard) managed() bool {
	if d.Provisioned != "" {
		return !d.AllowUIUpdates
	}
	return d.Annotations[annoManagedBy] != "" && d.Annotations[annoManagerAllowsEdits] != "true"
}

// looksLikeV2 is Grafana's test for a v2 body sent to a v0/v1 API.
func looksLikeV2(spec map[string]any) bool {
	_, elements := spec["elements"]
	_, layout := spec["layout"]
	return elements || layout
}

// schemaOf maps an API version to a schema.
func schemaOf(version string) string {
	if strings.HasPrefix(version, "v2") {
		return "v2"
	}
	return "v1"
}

// namespaceOf is the namespace of an org.
func (s *Server) namespaceOf(orgID int64) string {
	switch {
	case orgID == 1 && s.profile.StackID != 0:
		return "stacks-" + strconv.FormatInt(s.profile.StackID, 10)
	case orgID == 1:
		return "default"
	}
	return "org-" + strconv.FormatInt(orgID, 10)
}

// orgOf is the org of a namespace, 0 when it names none.
func (s *Server) orgOf(ns string) int64 {
	switch {
	case ns == "default" && s.profile.StackID == 0:
		return 1
	case s.profile.StackID != 0 && ns == "stacks-"+strconv.FormatInt(s.profile.StackID, 10):
		return 1
	case strings.HasPrefix(ns, "org-"):
		n, err := strconv.ParseInt(strings.TrimPrefix(ns, "org-"), 10, 64)
		if err == nil && n > 1 {
			return n
		}
	}
	return 0
}

// writeStatus writes a Kubernetes Status error.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	})
}

// resourceIn is the body of an /apis create or update.
type resourceIn struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name            string            `json:"name"`
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec map[string]any `json:"spec"`
}

// routeAPIs answers /apis the way Grafana's Kubernetes-style API does.
func (s *Server) routeAPIs(w http.ResponseWriter, r *http.Request, body []byte, authorized bool) {
	if len(s.profile.Dashboard) == 0 && len(s.profile.Folder) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
		return
	}
	if !authorized {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if r.URL.Path == "/apis" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.discovery())
		return
	}
	// /apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>]
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/apis/"), "/")
	if len(parts) < 5 || len(parts) > 6 || parts[2] != "namespaces" {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	group, version, ns, plural := parts[0], parts[1], parts[3], parts[4]
	name := ""
	if len(parts) == 6 {
		name = parts[5]
	}
	served := map[string][]string{"dashboard.grafana.app": s.profile.Dashboard, "folder.grafana.app": s.profile.Folder}
	if !slices.Contains(served[group], version) ||
		(group == "dashboard.grafana.app" && plural != "dashboards") || (group == "folder.grafana.app" && plural != "folders") {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgID := s.orgOf(ns)
	o := s.orgs[orgID]
	if o == nil {
		writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("namespace %q does not match the organisation of the credentials", ns))
		return
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && int64(len(body)) > s.maxBody {
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("Request entity too large: limit is %d", s.maxBody))
		return
	}
	if plural == "folders" {
		s.folderAPI(w, r, body, o, group+"/"+version, ns, name)
		return
	}
	switch {
	case r.Method == http.MethodGet && name != "":
		d := o.dashboards[name]
		if d == nil {
			writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("dashboards.dashboard.grafana.app %q not found", name))
			return
		}
		writeJSON(w, http.StatusOK, s.dashboardObject(o, d, version, ns))
	case r.Method == http.MethodPost && name == "":
		s.writeDashboard(w, o, body, version, ns, "")
	case r.Method == http.MethodPut && name != "":
		s.writeDashboard(w, o, body, version, ns, name)
	default:
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
	}
}

func (s *Server) discovery() map[string]any {
	var groups []any
	for _, g := range []struct {
		name     string
		versions []string
	}{{"dashboard.grafana.app", s.profile.Dashboard}, {"folder.grafana.app", s.profile.Folder}} {
		if len(g.versions) == 0 {
			continue
		}
		var vs []any
		for i := len(g.versions) - 1; i >= 0; i-- { // newest first, as preferred
			vs = append(vs, map[string]any{"groupVersion": g.name + "/" + g.versions[i], "version": g.versions[i]})
		}
		groups = append(groups, map[string]any{"name": g.name, "versions": vs, "preferredVersion": vs[0]})
	}
	return map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
}

// spec is the dashboard's spec in its stored schema.
func (d *dashboard) spec() map[string]any {
	spec := clone(d.Data)
	if d.Schema == "v1" {
		delete(spec, "id")
		delete(spec, "uid")
		delete(spec, "version")
	}
	return spec
}

// annotations are the dashboard's annotations as /apis shows them.
func (d *dashboard) annotations() map[string]string {
	a := map[string]string{}
	for k, v := range d.Annotations {
		a[k] = v
	}
	if d.FolderUID != "" {
		a[annoFolder] = d.FolderUID
	}
	if d.Provisioned != "" {
		a[annoManagedBy] = "classic-file-provisioning"
		a[annoManagerID] = "dashboards"
		a[annoSourcePath] = d.Provisioned
		if d.AllowUIUpdates {
			a[annoManagerAllowsEdits] = "true"
		}
	}
	a[annoCreatedBy] = "user:admin"
	if d.UpdatedBy != "" {
		a[annoUpdatedBy] = d.UpdatedBy
	}
	a[annoUpdatedTimestamp] = d.Updated
	return a
}

// dashboardObject is the dashboard as /apis serves it at version. Read at
// another schema than stored, it carries a failed status.conversion naming
// the stored version, which the caller should read instead.
func (s *Server) dashboardObject(o *org, d *dashboard, version, ns string) map[string]any {
	labels := map[string]string{"grafana.app/deprecatedInternalID": strconv.FormatInt(d.ID, 10)}
	for k, v := range d.Labels {
		labels[k] = v
	}
	obj := map[string]any{
		"apiVersion": "dashboard.grafana.app/" + version,
		"kind":       "Dashboard",
		"metadata": map[string]any{
			"name": d.UID, "namespace": ns, "uid": fmt.Sprintf("k8s-%d", d.ID),
			"resourceVersion": strconv.FormatInt(d.RV, 10), "generation": d.Version,
			"creationTimestamp": "2026-01-01T00:00:00Z", "labels": labels, "annotations": d.annotations(),
		},
		"spec":   d.spec(),
		"status": map[string]any{},
	}
	if schemaOf(version) != d.Schema {
		obj["spec"] = map[string]any{}
		obj["status"] = map[string]any{"conversion": map[string]any{
			"failed": true, "storedVersion": d.StoredVersion,
			"error": fmt.Sprintf("converting from %s to %s is not supported by this server", d.StoredVersion, version),
		}}
	}
	return obj
}

// writeDashboard is POST (name == "") and PUT of a dashboard.
func (s *Server) writeDashboard(w http.ResponseWriter, o *org, body []byte, version, ns, name string) {
	var in resourceIn
	if err := json.Unmarshal(body, &in); err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "the object provided is unrecognized: "+err.Error())
		return
	}
	if in.APIVersion != "dashboard.grafana.app/"+version || in.Kind != "Dashboard" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the API version in the data (%s) does not match the expected API version (dashboard.grafana.app/%s)", in.APIVersion, version))
		return
	}
	if in.Metadata.Name == "" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "metadata.name: Required value")
		return
	}
	if name != "" && in.Metadata.Name != name {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "the name of the object does not match the name on the URL")
		return
	}
	if in.Spec == nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "spec: Required value")
		return
	}
	schema := schemaOf(version)
	if schema == "v1" && looksLikeV2(in.Spec) {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "dashboard appears to be in v2 format. Please use the /apis/dashboard.grafana.app/v2 API")
		return
	}
	if title, _ := in.Spec["title"].(string); strings.TrimSpace(title) == "" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "spec.title: Required value: dashboard title cannot be empty")
		return
	}
	folderUID := in.Metadata.Annotations[annoFolder]
	if folderUID != "" && o.folders[folderUID] == nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("folder %q not found", folderUID))
		return
	}
	d := o.dashboards[in.Metadata.Name]
	switch {
	case name == "" && d != nil:
		writeStatus(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("dashboards.dashboard.grafana.app %q already exists", in.Metadata.Name))
		return
	case name != "" && d == nil:
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("dashboards.dashboard.grafana.app %q not found", name))
		return
	case d != nil && in.Metadata.ResourceVersion != "" && in.Metadata.ResourceVersion != strconv.FormatInt(d.RV, 10):
		writeStatus(w, http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on dashboards.dashboard.grafana.app %q: "+
			"the object has been modified; please apply your changes to the latest version and try again", name))
		return
	case d != nil && d.managed():
		kind, id := d.Annotations[annoManagedBy], d.Annotations[annoManagerID]
		if d.Provisioned != "" {
			kind, id = "classic-file-provisioning", "dashboards"
		}
		writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("resource '%s' is managed by %s '%s' and cannot be modified", d.UID, kind, id))
		return
	}
	created := d == nil
	if created {
		d = &dashboard{ID: s.id(), UID: in.Metadata.Name}
		o.dashboards[d.UID] = d
	}
	data := clone(in.Spec)
	if schema == "v1" {
		data["id"] = float64(d.ID)
		data["uid"] = d.UID
	}
	specChanged := created || d.Schema != schema || !reflect.DeepEqual(d.spec(), in.Spec)
	if specChanged {
		d.Version++
	}
	if schema == "v1" {
		data["version"] = float64(d.Version)
	}
	d.Data = data
	d.Schema, d.StoredVersion = schema, version
	s.rv++
	d.RV = s.rv
	d.FolderUID = folderUID
	d.PluginID = ""
	d.Provisioned, d.AllowUIUpdates = "", false
	d.Annotations = map[string]string{}
	for k, v := range in.Metadata.Annotations {
		switch k {
		case annoFolder, annoMessage, annoCreatedBy, annoUpdatedBy, annoUpdatedTimestamp:
			continue
		}
		if s.dropAnnotations && !strings.HasPrefix(k, "grafana.app/") {
			continue
		}
		d.Annotations[k] = v
	}
	d.Labels = in.Metadata.Labels
	delete(d.Labels, "grafana.app/deprecatedInternalID")
	d.UpdatedBy = "service-account:sa-dbmonctl"
	d.Updated = s.tick()
	d.Messages = append(d.Messages, in.Metadata.Annotations[annoMessage])
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.dashboardObject(o, d, version, ns))
}

// folderAPI serves folder.grafana.app: GET one, POST to create.
func (s *Server) folderAPI(w http.ResponseWriter, r *http.Request, body []byte, o *org, apiVersion, ns, name string) {
	object := func(f *folder) map[string]any {
		return map[string]any{
			"apiVersion": apiVersion, "kind": "Folder",
			"metadata": map[string]any{"name": f.UID, "namespace": ns, "resourceVersion": strconv.FormatInt(f.RV, 10), "generation": 1},
			"spec":     map[string]any{"title": f.Title},
		}
	}
	switch {
	case r.Method == http.MethodGet && name != "":
		f := o.folders[name]
		if f == nil {
			writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("folders.folder.grafana.app %q not found", name))
			return
		}
		writeJSON(w, http.StatusOK, object(f))
	case r.Method == http.MethodPost && name == "":
		var in resourceIn
		if err := json.Unmarshal(body, &in); err != nil || in.Kind != "Folder" || in.APIVersion != apiVersion {
			writeStatus(w, http.StatusBadRequest, "BadRequest", "the object provided is unrecognized")
			return
		}
		title, _ := in.Spec["title"].(string)
		if in.Metadata.Name == "" || strings.TrimSpace(title) == "" {
			writeStatus(w, http.StatusBadRequest, "BadRequest", "metadata.name and spec.title are required")
			return
		}
		if o.folders[in.Metadata.Name] != nil {
			writeStatus(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("folders.folder.grafana.app %q already exists", in.Metadata.Name))
			return
		}
		s.rv++
		f := &folder{ID: s.id(), UID: in.Metadata.Name, Title: title, RV: s.rv}
		o.folders[f.UID] = f
		writeJSON(w, http.StatusCreated, object(f))
	default:
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
	}
}
