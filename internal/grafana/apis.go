package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// API groups of Grafana's Kubernetes-style /apis that push uses.
const (
	GroupDashboard = "dashboard.grafana.app"
	GroupFolder    = "folder.grafana.app"
)

// Annotations Grafana reads or sets on /apis resources.
const (
	// AnnoFolder holds the uid of the folder a dashboard is in; absent
	// means the root folder.
	AnnoFolder = "grafana.app/folder"
	// AnnoMessage is the version-history note of a save.
	AnnoMessage = "grafana.app/message"
	// AnnoUpdatedBy and AnnoUpdatedTimestamp say who saved last and when
	// ("user:u000000839", RFC 3339); AnnoCreatedBy who created it.
	AnnoUpdatedBy        = "grafana.app/updatedBy"
	AnnoUpdatedTimestamp = "grafana.app/updatedTimestamp"
	AnnoCreatedBy        = "grafana.app/createdBy"
	// AnnoManagedBy names the tool that owns a resource ("repo",
	// "terraform", "kubectl", "plugin", "classic-file-provisioning");
	// AnnoManagerID which instance of it; AnnoManagerAllowsEdits is "true"
	// when it lets others save; AnnoSourcePath is the file it comes from.
	AnnoManagedBy          = "grafana.app/managedBy"
	AnnoManagerID          = "grafana.app/managerId"
	AnnoManagerAllowsEdits = "grafana.app/managerAllowsEdits"
	AnnoSourcePath         = "grafana.app/sourcePath"
)

// ManagerClassicFileProvisioning is AnnoManagedBy of a dashboard that
// Grafana's file provisioning owns.
const ManagerClassicFileProvisioning = "classic-file-provisioning"

// NamespaceForOrg is the /apis namespace of a Grafana organisation on an
// on-premise server: "default" for org 1 (and for 0, the token's default
// org), "org-<id>" otherwise. Grafana Cloud uses "stacks-<stack id>",
// which cannot be derived from an org id.
func NamespaceForOrg(orgID int64) string {
	if orgID <= 1 {
		return "default"
	}
	return "org-" + strconv.FormatInt(orgID, 10)
}

// APIGroups is what GET /apis says the server serves: each group's
// versions, preferred first.
type APIGroups map[string][]string

// Serves reports whether the server serves group at version.
func (g APIGroups) Serves(group, version string) bool {
	return slices.Contains(g[group], version)
}

// String lists group/version pairs, sorted, for messages.
func (g APIGroups) String(group string) string {
	if len(g[group]) == 0 {
		return "none"
	}
	vs := slices.Clone(g[group])
	slices.Sort(vs)
	return strings.Join(vs, ", ")
}

// Discover calls GET /apis, Kubernetes' API discovery, and returns the
// groups and versions the server serves. A server without /apis (Grafana
// before 12, or one behind a proxy that does not route it) answers 404:
// that is no groups and no error.
func (c *Client) Discover(ctx context.Context) (APIGroups, error) {
	var list struct {
		Groups []struct {
			Name     string `json:"name"`
			Versions []struct {
				Version string `json:"version"`
			} `json:"versions"`
		} `json:"groups"`
	}
	err := c.do(ctx, http.MethodGet, "/apis", nil, true, &list)
	if errors.Is(err, ErrNotFound) {
		return APIGroups{}, nil
	}
	if err != nil {
		return nil, err
	}
	g := APIGroups{}
	for _, gr := range list.Groups {
		for _, v := range gr.Versions {
			g[gr.Name] = append(g[gr.Name], v.Version)
		}
	}
	return g, nil
}

// ObjectMeta is the metadata of an /apis resource.
type ObjectMeta struct {
	// Name is the resource's identifier in its namespace: a dashboard's
	// or folder's uid.
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// UID is Kubernetes' internal id, not Grafana's uid.
	UID string `json:"uid,omitempty"`
	// ResourceVersion changes on every write; an update that sends it is
	// refused with 409 Conflict when it is no longer current.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation grows when the spec changes: a dashboard's version.
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// ConversionStatus is a dashboard's status.conversion: set when the
// dashboard was read at another version than the one it is stored in.
type ConversionStatus struct {
	// Failed is true when the conversion failed: the spec is not valid
	// and the stored version should be read instead.
	Failed bool `json:"failed"`
	// StoredVersion is the version the dashboard is stored in ("v2").
	StoredVersion string `json:"storedVersion,omitempty"`
	Error         string `json:"error,omitempty"`
}

// ResourceStatus is the status of a dashboard resource.
type ResourceStatus struct {
	Conversion *ConversionStatus `json:"conversion,omitempty"`
}

// Resource is an /apis object: a dashboard or a folder. The spec stays raw
// JSON for the same reason DashboardWithMeta keeps the dashboard raw.
type Resource struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   ObjectMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Status     *ResourceStatus `json:"status,omitempty"`
}

// resourcePath is /apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>].
func resourcePath(group, version, namespace, plural, name string) string {
	p := "/apis/" + group + "/" + version + "/namespaces/" + url.PathEscape(namespace) + "/" + plural
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetResource reads one object; a missing one is an error matching
// ErrNotFound.
func (c *Client) GetResource(ctx context.Context, group, version, namespace, plural, name string) (Resource, error) {
	var r Resource
	err := c.do(ctx, http.MethodGet, resourcePath(group, version, namespace, plural, name), nil, true, &r)
	return r, err
}

// CreateResource creates r (POST to the collection). Grafana answers 409
// AlreadyExists (ErrConflict) when the name is taken.
func (c *Client) CreateResource(ctx context.Context, group, version, namespace, plural string, r Resource) (Resource, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return Resource{}, fmt.Errorf("encode %s %q: %w", plural, r.Metadata.Name, err)
	}
	var out Resource
	err = c.do(ctx, http.MethodPost, resourcePath(group, version, namespace, plural, ""), body, true, &out)
	return out, err
}

// UpdateResource replaces r (PUT). With r.Metadata.ResourceVersion set,
// Grafana answers 409 Conflict when someone wrote since it was read; left
// empty, the update is unconditional.
func (c *Client) UpdateResource(ctx context.Context, group, version, namespace, plural string, r Resource) (Resource, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return Resource{}, fmt.Errorf("encode %s %q: %w", plural, r.Metadata.Name, err)
	}
	var out Resource
	err = c.do(ctx, http.MethodPut, resourcePath(group, version, namespace, plural, r.Metadata.Name), body, true, &out)
	return out, err
}
