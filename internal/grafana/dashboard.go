package grafana

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// MarkerKey is the top-level dashboard field where push records what it
// pushed: {"contentHash": "sha256:…", "pushedBy": "dbmonctl <version>"}.
// Grafana's API stores dashboard JSON as given, so the marker survives
// pushes and reads; a save from Grafana's UI rebuilds the JSON from its
// model and drops fields it does not know, and when a UI keeps it, the
// hash no longer matches the content. Either way an edit is seen.
const MarkerKey = "dbmonctl"

// Marker is the value stored under MarkerKey.
type Marker struct {
	// ContentHash is ContentHash of the dashboard push saved.
	ContentHash string `json:"contentHash"`
	// PushedBy names the tool and version that saved it.
	PushedBy string `json:"pushedBy,omitempty"`
}

// serverFields are the fields Grafana sets itself, or push sets per save,
// that say nothing about the dashboard's content: identity comparison and
// the content hash ignore them.
var serverFields = []string{"id", "version", MarkerKey}

// Content is a dashboard decoded for comparison: its JSON object without
// the server-managed fields.
type Content map[string]any

// ParseContent decodes dashboard JSON and drops the fields in serverFields.
// Numbers are decoded as float64 so that 1 and 1.0 compare equal, as they
// do for Grafana's frontend.
func ParseContent(data []byte) (Content, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode dashboard JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode dashboard JSON: data after the top-level object")
	}
	if m == nil {
		return nil, errors.New("decode dashboard JSON: not an object")
	}
	for _, k := range serverFields {
		delete(m, k)
	}
	return Content(m), nil
}

// UID returns the dashboard's "uid" field, or "" if it is absent or not a
// string.
func (c Content) UID() string {
	s, _ := c["uid"].(string)
	return s
}

// Title returns the dashboard's "title" field.
func (c Content) Title() string {
	s, _ := c["title"].(string)
	return s
}

// Canonical is the content as compact JSON with sorted keys: the bytes
// that are hashed and compared.
func (c Content) Canonical() []byte {
	b, err := json.Marshal(map[string]any(c))
	if err != nil {
		// Decoded JSON always re-encodes.
		panic(fmt.Sprintf("grafana: re-encode dashboard: %v", err))
	}
	return b
}

// Pretty is the content as indented JSON with sorted keys and no HTML
// escaping: the lines of the dry-run diff.
func (c Content) Pretty() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any(c)); err != nil {
		panic(fmt.Sprintf("grafana: re-encode dashboard: %v", err))
	}
	return buf.Bytes()
}

// Hash is "sha256:" and the hex SHA-256 of Canonical.
func (c Content) Hash() string {
	sum := sha256.Sum256(c.Canonical())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Equal reports whether two contents are the same dashboard.
func (c Content) Equal(o Content) bool {
	return bytes.Equal(c.Canonical(), o.Canonical())
}

// readMarker returns the marker of a raw dashboard, and whether it has a
// well-formed one.
func readMarker(raw []byte) (Marker, bool) {
	var d struct {
		Marker *Marker `json:"dbmonctl"`
	}
	if json.Unmarshal(raw, &d) != nil || d.Marker == nil || d.Marker.ContentHash == "" {
		return Marker{}, false
	}
	return *d.Marker, true
}

// saveBody is the dashboard JSON push sends: the content, the marker,
// "id": null so Grafana finds the dashboard by uid, and the version read
// (0 to create) for Grafana's optimistic locking.
func saveBody(c Content, m Marker, version int) json.RawMessage {
	out := make(map[string]any, len(c)+3)
	for k, v := range c {
		out[k] = v
	}
	out["id"] = nil
	out["version"] = version
	out[MarkerKey] = m
	b, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("grafana: encode dashboard: %v", err))
	}
	return b
}

// Schemas of a dashboard document.
const (
	// SchemaV1 is the classic dashboard JSON model (panels, templating):
	// what /api/dashboards takes and dashboard.grafana.app/v1 has as spec.
	SchemaV1 = "v1"
	// SchemaV2 is the dashboard.grafana.app/v2 schema (elements, layout),
	// which Grafana 13 stores dashboards saved from its UI in.
	SchemaV2 = "v2"
)

// MarkerAnnotation and PushedByAnnotation hold the marker on the /apis
// API, where a v2 spec has no room for a field of its own: the content
// hash and who pushed it, as metadata annotations.
const (
	MarkerAnnotation   = "dbmonctl/content-hash"
	PushedByAnnotation = "dbmonctl/pushed-by"
)

// document is the dashboard to push, in either schema.
type document struct {
	schema     string
	uid, title string
	// content is what identity compares and the marker hashes: for v1 the
	// classic JSON without serverFields (its "uid" included, so a hash is
	// the same whichever API stored it); for v2 the resource's spec.
	content Content
}

// parseDocument reads classic dashboard JSON, or a dashboard resource
// ({apiVersion: dashboard.grafana.app/v1 or /v2, kind: Dashboard,
// metadata: {name}, spec}) as `dbmonctl generate --schema v2` writes and
// Grafana exports.
func parseDocument(data []byte) (document, error) {
	c, err := ParseContent(data)
	if err != nil {
		return document{}, err
	}
	apiVersion, isResource := c["apiVersion"].(string)
	if _, hasSpec := c["spec"]; !isResource || !hasSpec {
		return document{schema: SchemaV1, uid: c.UID(), title: c.Title(), content: c}, nil
	}
	var r struct {
		Kind     string         `json:"kind"`
		Metadata ObjectMeta     `json:"metadata"`
		Spec     map[string]any `json:"spec"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return document{}, fmt.Errorf("decode dashboard resource: %w", err)
	}
	if r.Kind != "Dashboard" {
		return document{}, fmt.Errorf("decode dashboard resource: kind is %q, want \"Dashboard\"", r.Kind)
	}
	if r.Spec == nil {
		return document{}, errors.New("decode dashboard resource: spec is not an object")
	}
	switch apiVersion {
	case GroupDashboard + "/v1":
		spec := specContent(r.Spec, r.Metadata.Name)
		return document{schema: SchemaV1, uid: r.Metadata.Name, title: spec.Title(), content: spec}, nil
	case GroupDashboard + "/v2":
		spec := Content(r.Spec)
		return document{schema: SchemaV2, uid: r.Metadata.Name, title: spec.Title(), content: spec}, nil
	}
	return document{}, fmt.Errorf("decode dashboard resource: apiVersion %q is not supported (want %s/v1 or %s/v2)", apiVersion, GroupDashboard, GroupDashboard)
}

// specContent is the content of a v1 resource's spec: the classic JSON as
// Grafana serves it on /api, with the uid (the resource's name) put back
// and the server-managed fields dropped.
func specContent(spec map[string]any, name string) Content {
	c := make(Content, len(spec)+1)
	for k, v := range spec {
		c[k] = v
	}
	for _, k := range serverFields {
		delete(c, k)
	}
	c["uid"] = name
	return c
}
