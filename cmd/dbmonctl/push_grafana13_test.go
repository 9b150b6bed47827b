package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/internal/grafana/grafanatest"
)

// saveInGrafana13UI stores the pushed dashboard as Grafana 13's UI does
// after a user saves it: in schema v2.
func saveInGrafana13UI(t *testing.T, srv *grafanatest.Server) {
	t.Helper()
	spec := map[string]any{"title": "Database Queries (edited)", "elements": map[string]any{},
		"layout": map[string]any{"kind": "GridLayout", "spec": map[string]any{"items": []any{}}}}
	srv.SaveV2AsUser(1, "dbmonctl", "dbmon-queries", spec, "user:alice", true)
}

func TestPushGrafana13(t *testing.T) {
	tests := []struct {
		name     string
		profile  grafanatest.Profile
		setup    func(t *testing.T, srv *grafanatest.Server)
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:     "auto pushes through /apis v1 on Grafana 13",
			profile:  grafanatest.Grafana13,
			args:     []string{"--file", pushFixture},
			wantCode: ExitOK,
			want:     []string{"api /apis/dashboard.grafana.app/v1\n", `dashboard "dbmon-queries" created, version 1`},
		},
		{
			name:     "--api classic keeps the classic /api on Grafana 13",
			profile:  grafanatest.Grafana13,
			args:     []string{"--file", pushFixture, "--api", "classic"},
			wantCode: ExitOK,
			want:     []string{"api /api\n"},
		},
		{
			name:    "a dashboard saved as v2 in the UI cannot be read through the classic /api: exit 8",
			profile: grafanatest.Grafana13,
			setup: func(t *testing.T, srv *grafanatest.Server) {
				if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != 0 {
					t.Fatal(r.stderr)
				}
				saveInGrafana13UI(t, srv)
			},
			args:     []string{"--file", pushFixture, "--api", "classic"},
			wantCode: ExitSchemaV2,
			want:     []string{"406", "schema v2", "--api auto", "--force", "--schema v2"},
		},
		{
			name:    "through /apis the v2 save is an edit in Grafana: exit 6 until --force",
			profile: grafanatest.Grafana13,
			setup: func(t *testing.T, srv *grafanatest.Server) {
				if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != 0 {
					t.Fatal(r.stderr)
				}
				saveInGrafana13UI(t, srv)
			},
			args:     []string{"--file", pushFixture},
			wantCode: ExitConflict,
			want:     []string{"saved as schema v2 in Grafana", "--force", "--schema v2"},
		},
		{
			name:    "--force overwrites the v2 save with dbmonctl's version",
			profile: grafanatest.Grafana13,
			setup: func(t *testing.T, srv *grafanatest.Server) {
				if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != 0 {
					t.Fatal(r.stderr)
				}
				saveInGrafana13UI(t, srv)
			},
			args:     []string{"--file", pushFixture, "--force"},
			wantCode: ExitOK,
			want:     []string{`dashboard "dbmon-queries" updated from version 2 to 3`},
		},
		{
			name:     "--schema v2 pushes the spec's dashboard as a v2 resource",
			profile:  grafanatest.Grafana13,
			args:     []string{"--schema", "v2"},
			wantCode: ExitOK,
			want:     []string{"api /apis/dashboard.grafana.app/v2\n", "created, version 1"},
		},
		{
			name:     "--schema v2 on a server without the v2 API: exit 9",
			profile:  grafanatest.Grafana12,
			args:     []string{"--schema", "v2"},
			wantCode: ExitAPIUnavailable,
			want:     []string{"does not serve dashboard.grafana.app/v2", "Grafana 13"},
		},
		{
			name:     "--api apis on Grafana 11: exit 9",
			profile:  grafanatest.Grafana11,
			args:     []string{"--file", pushFixture, "--api", "apis"},
			wantCode: ExitAPIUnavailable,
			want:     []string{"does not serve dashboard.grafana.app/v1"},
		},
		{
			name:     "Grafana Cloud's stacks namespace",
			profile:  grafanatest.Profile{Version: "13.0.1", Dashboard: []string{"v1", "v2"}, Folder: []string{"v1beta1"}, StackID: 42},
			args:     []string{"--file", pushFixture, "--namespace", "stacks-42"},
			wantCode: ExitOK,
			want:     []string{"created, version 1"},
		},
		{
			name:     "a wrong namespace is an auth error that names --namespace",
			profile:  grafanatest.Grafana13,
			args:     []string{"--file", pushFixture, "--namespace", "stacks-1"},
			wantCode: ExitAuth,
			want:     []string{"--namespace"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.NewWithProfile(pushTestToken, tt.profile)
			defer srv.Close()
			if tt.setup != nil {
				tt.setup(t, srv)
			}
			r := runPushCLI(t, srv, nil, "", tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, want) {
					t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
				}
			}
		})
	}
}

func TestPushGrafana13UsageErrors(t *testing.T) {
	srv := grafanatest.NewWithProfile(pushTestToken, grafanatest.Grafana13)
	defer srv.Close()
	for _, args := range [][]string{
		{"--file", pushFixture, "--api", "k8s"},
		{"--schema", "v3"},
		{"--file", pushFixture, "--schema", "v2"},
		{"--file", pushFixture, "--api", "classic", "--namespace", "org-2"},
	} {
		r := runPushCLI(t, srv, nil, "", args...)
		if r.code != ExitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, r.code, ExitUsage, r.stderr)
		}
	}
	if len(srv.Requests()) != 0 {
		t.Error("a usage error reached the server")
	}
}

func TestGenerateSchemaV2AddsTheV2Resource(t *testing.T) {
	dir := t.TempDir()
	var out, errb strings.Builder
	code := Run(t.Context(), []string{"generate", "--out", dir, "--schema", "v2"}, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, fileDashboardV2))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		APIVersion string `json:"apiVersion"`
		Metadata   struct{ Name string }
	}
	if err := json.Unmarshal(b, &r); err != nil || r.APIVersion != "dashboard.grafana.app/v2" || r.Metadata.Name == "" {
		t.Fatalf("v2 file: %v %+v", err, r)
	}
	v1, err := os.ReadFile(filepath.Join(dir, "grafana/dashboard.json"))
	if err != nil || !strings.Contains(string(v1), `"schemaVersion"`) {
		t.Fatalf("grafana/dashboard.json is not the v1 JSON: %v", err)
	}
	// The default output does not have it.
	code = Run(t.Context(), []string{"generate", "--out", dir, "--check"}, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	if code != ExitFailure {
		t.Errorf("generate --check without --schema v2 exit %d, want the v2 file reported stale", code)
	}
	code = Run(t.Context(), []string{"generate", "--out", dir, "--schema", "v3"}, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	if code != ExitUsage {
		t.Errorf("--schema v3: exit %d, want %d", code, ExitUsage)
	}
}
