package main

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
	"github.com/dbmonctl/dbmonctl/specs"
)

// Dashboard schemas of --schema.
const (
	schemaV1 = "v1"
	schemaV2 = "v2"
)

// fileDashboardV2 is where generate --schema v2 writes the dashboard as a
// dashboard.grafana.app/v2 resource. grafana/dashboard.json stays the v1
// JSON: Grafana 13's file provisioning still only loads that.
const fileDashboardV2 = "grafana/dashboard.v2.json"

// checkSchema rejects a --schema value other than v1 or v2.
func checkSchema(schema string) error {
	if schema != schemaV1 && schema != schemaV2 {
		return usageError("--schema must be v1 or v2, got %q", schema)
	}
	return nil
}

// addSchemaFiles adds the files of --schema to generate's file set: for v2
// the v2 resource beside the v1 JSON.
func addSchemaFiles(files map[string][]byte, p *specs.Pack, schema string) error {
	if err := checkSchema(schema); err != nil {
		return err
	}
	if schema != schemaV2 {
		return nil
	}
	b, err := dashboard.RenderV2(p.Dashboard)
	if err != nil {
		return fmt.Errorf("render v2 dashboard %q: %w", p.Config.Dashboard.UID, err)
	}
	files[fileDashboardV2] = b
	return nil
}
