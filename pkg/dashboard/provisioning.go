package dashboard

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ProvisioningOptions describe a Grafana file-provisioning dashboards
// provider: Grafana loads every dashboard JSON file under Path into
// Folder, for users who deploy by files instead of through the HTTP API.
type ProvisioningOptions struct {
	// Header is written verbatim at the top of the file; every line must
	// be a YAML comment (start with '#'). Empty writes no header.
	Header string
	// Name is the provider's name, unique among Grafana's providers.
	Name string
	// OrgID is the Grafana organisation the dashboards go into; 0 means 1,
	// Grafana's default organisation.
	OrgID int
	// Folder and FolderUID are the title and UID of the folder the
	// dashboards appear in; Grafana creates it if missing.
	Folder, FolderUID string
	// Path is the directory Grafana reads the dashboard JSON files from,
	// as seen by the Grafana server.
	Path string
	// UpdateIntervalSeconds is how often Grafana rescans Path; 0 means
	// Grafana's default (10 s).
	UpdateIntervalSeconds int
	// AllowUIUpdates lets users save changes made in the UI; they are
	// overwritten by the next file change, so it is normally false.
	AllowUIUpdates bool
	// DisableDeletion keeps a dashboard in Grafana after its file is removed.
	DisableDeletion bool
}

// provisioningFile mirrors Grafana's provisioning/dashboards/*.yaml format.
type provisioningFile struct {
	APIVersion int                    `yaml:"apiVersion"`
	Providers  []provisioningProvider `yaml:"providers"`
}

type provisioningProvider struct {
	Name                  string              `yaml:"name"`
	OrgID                 int                 `yaml:"orgId"`
	Folder                string              `yaml:"folder"`
	FolderUID             string              `yaml:"folderUid"`
	Type                  string              `yaml:"type"`
	DisableDeletion       bool                `yaml:"disableDeletion"`
	UpdateIntervalSeconds int                 `yaml:"updateIntervalSeconds,omitempty"`
	AllowUIUpdates        bool                `yaml:"allowUiUpdates"`
	Options               provisioningOptions `yaml:"options"`
}

type provisioningOptions struct {
	Path                      string `yaml:"path"`
	FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
}

// RenderProvisioning writes the dashboards provider file (apiVersion 1)
// that points Grafana at the generated dashboard JSON.
func RenderProvisioning(o ProvisioningOptions) ([]byte, error) {
	var problems []string
	if o.Name == "" {
		problems = append(problems, "name must not be empty")
	}
	if o.Path == "" {
		problems = append(problems, "path must not be empty")
	}
	for _, line := range strings.Split(strings.TrimSuffix(o.Header, "\n"), "\n") {
		if o.Header != "" && !strings.HasPrefix(line, "#") {
			problems = append(problems, fmt.Sprintf("header line %q is not a YAML comment", line))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("render dashboard provisioning: %s", strings.Join(problems, "; "))
	}
	org := o.OrgID
	if org == 0 {
		org = 1
	}
	f := provisioningFile{
		APIVersion: 1,
		Providers: []provisioningProvider{{
			Name:                  o.Name,
			OrgID:                 org,
			Folder:                o.Folder,
			FolderUID:             o.FolderUID,
			Type:                  "file",
			DisableDeletion:       o.DisableDeletion,
			UpdateIntervalSeconds: o.UpdateIntervalSeconds,
			AllowUIUpdates:        o.AllowUIUpdates,
			// The folder is set explicitly; deriving it from the
			// directory layout would ignore Folder and FolderUID.
			Options: provisioningOptions{Path: o.Path, FoldersFromFilesStructure: false},
		}},
	}
	var b bytes.Buffer
	if o.Header != "" {
		b.WriteString(strings.TrimSuffix(o.Header, "\n"))
		b.WriteString("\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("render dashboard provisioning: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render dashboard provisioning: %w", err)
	}
	return b.Bytes(), nil
}
