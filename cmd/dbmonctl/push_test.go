package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/grafana"
	"github.com/dbmonctl/dbmonctl/internal/grafana/grafanatest"
)

const (
	pushTestToken = "glsa_cmdtest_S3CRET_feedc0ffee"
	// pushFixture is a dashboard like generated/grafana/dashboard.json.
	pushFixture = "../../internal/grafana/testdata/dashboard.json"
)

func init() {
	// Real backoff would make the fault tests slow; the policy's shape is
	// tested in internal/grafana.
	pushRetry = grafana.Retry{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}
}

type pushRun struct {
	code           int
	stdout, stderr string
}

// runPushCLI runs dbmonctl in process against srv with the token in the
// environment, -v so that debug output is checked for the token too.
func runPushCLI(t *testing.T, srv *grafanatest.Server, env map[string]string, stdin string, args ...string) pushRun {
	t.Helper()
	e := map[string]string{"GRAFANA_URL": srv.URL, "GRAFANA_TOKEN": pushTestToken}
	for k, v := range env {
		e[k] = v
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Run(ctx, append([]string{"-v", "push"}, args...), strings.NewReader(stdin), &out, &errb,
		func(k string) string { return e[k] })
	r := pushRun{code: code, stdout: out.String(), stderr: errb.String()}
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, pushTestToken) || strings.Contains(s, "S3CRET") {
			t.Fatalf("the token appears in the output:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	}
	return r
}

func fixtureWith(t *testing.T, f func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(pushFixture)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "dashboard.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushCreatesThenReportsUnchanged(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()

	r := runPushCLI(t, srv, nil, "", "--file", pushFixture)
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"grafana " + grafanatest.Version + " at " + srv.URL + "\n",
		`folder "dbmonctl" (Database) created` + "\n",
		`dashboard "dbmon-queries" created, version 1: ` + srv.URL + "/d/dbmon-queries/database-queries\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if msgs := srv.Messages(1, "dbmon-queries"); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "pushed by dbmonctl dev, content sha256:") {
		t.Errorf("version message = %q", msgs)
	}

	before := srv.Snapshot()
	r = runPushCLI(t, srv, nil, "", "--file", pushFixture)
	if r.code != ExitOK || !strings.Contains(r.stdout, `dashboard "dbmon-queries" unchanged (version 1)`) {
		t.Fatalf("re-push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if srv.Snapshot() != before || srv.Count("POST", "/api/dashboards/db") != 1 {
		t.Error("an unchanged re-push wrote to the server")
	}
}

func TestPushDryRunPrintsTheDiffAndChangesNothing(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != ExitOK {
		t.Fatalf("setup push: exit %d: %s", r.code, r.stderr)
	}
	changed := fixtureWith(t, func(m map[string]any) { m["refresh"] = "30s" })
	before := srv.Snapshot()
	nreq := len(srv.Requests())
	r := runPushCLI(t, srv, nil, "", "--file", changed, "--dry-run")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"--- grafana/dbmon-queries (version 1)\n+++ dbmonctl/dbmon-queries\n",
		"-  \"refresh\": \"5s\",\n+  \"refresh\": \"30s\",\n",
		`dashboard "dbmon-queries" would be updated (dry run: nothing was changed)`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if srv.Snapshot() != before {
		t.Error("dry run changed the server")
	}
	for _, req := range srv.Requests()[nreq:] {
		if req.Method != "GET" {
			t.Errorf("dry run sent %s %s", req.Method, req.Path)
		}
	}
}

func TestPushDryRunAgainstAnEmptyServer(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	before := srv.Snapshot()
	r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--dry-run")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`folder "dbmonctl" (Database) would be created`, `+  "uid": "dbmon-queries"`, `would be created (dry run`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if srv.Snapshot() != before {
		t.Error("dry run changed the server")
	}
}

func TestPushRefusesAUIEditUnlessForced(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != ExitOK {
		t.Fatalf("setup push: exit %d: %s", r.code, r.stderr)
	}
	d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
	d["title"] = "Renamed in the UI"
	srv.SaveAsUser(1, "dbmonctl", d, "alice", "")
	before := srv.Snapshot()

	r := runPushCLI(t, srv, nil, "", "--file", pushFixture)
	if r.code != ExitConflict {
		t.Fatalf("exit %d, want %d\n%s", r.code, ExitConflict, r.stderr)
	}
	for _, want := range []string{"edited in Grafana since dbmonctl pushed it", "version 2", "alice", "--dry-run", "--force"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if srv.Snapshot() != before {
		t.Fatal("a refused push changed the server")
	}

	r = runPushCLI(t, srv, nil, "", "--file", pushFixture, "--dry-run")
	if r.code != ExitOK || !strings.Contains(r.stdout, `-  "title": "Renamed in the UI",`) || !strings.Contains(r.stdout, "without --force") {
		t.Errorf("dry run: exit %d\n%s", r.code, r.stdout)
	}

	r = runPushCLI(t, srv, nil, "", "--file", pushFixture, "--force")
	if r.code != ExitOK || !strings.Contains(r.stdout, `dashboard "dbmon-queries" updated from version 2 to 3`) {
		t.Fatalf("forced: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestPushFaults drives each failure Grafana can answer with through the
// CLI: exit code, message, and that the server is as it was.
func TestPushFaults(t *testing.T) {
	changed := fixtureWith(t, func(m map[string]any) { m["refresh"] = "1m" })
	// withFolder makes the faulted request the only one that could write.
	withFolder := func(_ *testing.T, srv *grafanatest.Server) { srv.AddFolder(1, "dbmonctl", "Database") }
	pushed := func(t *testing.T, srv *grafanatest.Server) {
		if r := runPushCLI(t, srv, nil, "", "--file", pushFixture); r.code != ExitOK {
			t.Fatalf("setup push: exit %d: %s", r.code, r.stderr)
		}
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, srv *grafanatest.Server)
		fault    *grafanatest.Fault
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{
			name:     "a wrong token is an auth failure",
			env:      map[string]string{"GRAFANA_TOKEN": "glsa_wrong"},
			wantCode: ExitAuth,
			wantErr:  []string{"401 Unauthorized", "grafana rejected the token", "GRAFANA_TOKEN"},
		},
		{
			name: "a 401 that echoes the token is redacted",
			fault: &grafanatest.Fault{Method: "GET", Path: "/api/folders/*", Status: 401,
				Body: `{"message":"invalid API key ` + pushTestToken + `"}`},
			wantCode: ExitAuth,
			wantErr:  []string{"invalid API key [REDACTED]"},
		},
		{
			name:     "a 403 on folder creation is an auth failure naming the permission",
			fault:    &grafanatest.Fault{Method: "POST", Path: "/api/folders", Status: 403, Body: `{"message":"You'll need additional permissions to perform this action."}`},
			wantCode: ExitAuth,
			wantErr:  []string{"403 Forbidden", "folders:create"},
		},
		{
			name:     "a 404 on the health check means a wrong URL",
			fault:    &grafanatest.Fault{Path: "/api/health", Status: 404},
			wantCode: ExitNotFound,
			wantErr:  []string{"404 Not Found", "no grafana API at", "--grafana-url"},
		},
		{
			name:     "a 404 on save is not found",
			setup:    pushed,
			fault:    &grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 404, Body: `{"message":"folder not found"}`},
			args:     []string{"--file", changed},
			wantCode: ExitNotFound,
			wantErr:  []string{"folder not found", "--folder-uid"},
		},
		{
			name:     "a 409 because another folder has the title is a conflict",
			setup:    func(_ *testing.T, srv *grafanatest.Server) { srv.AddFolder(1, "theirs", "Database") },
			wantCode: ExitConflict,
			wantErr:  []string{"409 Conflict", "another folder holds its title"},
		},
		{
			name:  "a 412 version-mismatch is a conflict",
			setup: pushed,
			fault: &grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 412,
				Body: `{"status":"version-mismatch","message":"The dashboard has been changed by someone else"}`},
			args:     []string{"--file", changed},
			wantCode: ExitConflict,
			wantErr:  []string{"412 Precondition Failed (version-mismatch)", "run push again"},
		},
		{
			name: "a 412 name-exists is a conflict",
			setup: func(_ *testing.T, srv *grafanatest.Server) {
				srv.AddFolder(1, "dbmonctl", "Database")
				srv.SaveAsUser(1, "dbmonctl", map[string]any{"uid": "theirs", "title": "Database Queries"}, "bob", "")
			},
			wantCode: ExitConflict,
			wantErr:  []string{"(name-exists)", "same title"},
		},
		{
			name: "a 412 plugin-dashboard is a conflict",
			setup: func(t *testing.T, srv *grafanatest.Server) {
				pushed(t, srv)
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				srv.SaveAsUser(1, "dbmonctl", d, "plugin", "dbmon-app")
			},
			args:     []string{"--file", changed},
			wantCode: ExitConflict,
			wantErr:  []string{"(plugin-dashboard)", "belongs to a plugin"},
		},
		{
			name: "a dashboard provisioned from a file is a conflict, not overwritten",
			setup: func(t *testing.T, srv *grafanatest.Server) {
				pushed(t, srv)
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				srv.Provision(1, "dbmonctl", d, "/var/lib/grafana/dashboards/dbmon.json", false)
			},
			args:     []string{"--file", changed},
			wantCode: ExitConflict,
			wantErr:  []string{"provisioned", "/var/lib/grafana/dashboards/dbmon.json", "--force"},
		},
		{
			name: "a forced push of a provisioned dashboard reports Grafana's refusal",
			setup: func(t *testing.T, srv *grafanatest.Server) {
				pushed(t, srv)
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				srv.Provision(1, "dbmonctl", d, "/var/lib/grafana/dashboards/dbmon.json", false)
			},
			args:     []string{"--file", changed, "--force"},
			wantCode: ExitConflict,
			wantErr:  []string{"400 Bad Request", "Cannot save provisioned dashboard", "update that file"},
		},
		{
			name: "a 413 is too large",
			setup: func(t *testing.T, srv *grafanatest.Server) {
				withFolder(t, srv)
				srv.SetMaxBody(512)
			},
			wantCode: ExitTooLarge,
			wantErr:  []string{"413 Request Entity Too Large", "larger than the server accepts"},
		},
		{
			name:     "a lasting 429 is retried, then fails",
			setup:    withFolder,
			fault:    &grafanatest.Fault{Method: "GET", Path: "/api/dashboards/uid/*", Status: 429},
			wantCode: ExitFailure,
			wantErr:  []string{"giving up after 4 attempts", "429 Too Many Requests"},
		},
		{
			name:     "a 500 fails at once",
			setup:    withFolder,
			fault:    &grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 500},
			wantCode: ExitFailure,
			wantErr:  []string{"500 Internal Server Error"},
		},
		{
			name:     "a lasting 503 is retried, then fails",
			fault:    &grafanatest.Fault{Path: "/api/health", Status: 503, Body: `{"database":"failing"}`},
			wantCode: ExitFailure,
			wantErr:  []string{"giving up after 4 attempts", "503 Service Unavailable"},
		},
		{
			name:     "a slow answer past --timeout fails",
			setup:    withFolder,
			fault:    &grafanatest.Fault{Method: "GET", Path: "/api/dashboards/uid/*", Status: 200, Delay: 10 * time.Second},
			args:     []string{"--timeout", "300ms"},
			wantCode: ExitFailure,
			wantErr:  []string{"timed out", "--timeout"},
		},
		{
			name:     "a connection reset on every save fails",
			setup:    withFolder,
			fault:    &grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Reset: true},
			wantCode: ExitFailure,
			wantErr:  []string{"giving up after 4 attempts", "POST /api/dashboards/db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(pushTestToken)
			defer srv.Close()
			if tt.setup != nil {
				tt.setup(t, srv)
			}
			before := srv.Snapshot()
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			args := tt.args
			if !contains(args, "--file") {
				args = append(args, "--file", pushFixture)
			}
			start := time.Now()
			r := runPushCLI(t, srv, tt.env, "", args...)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if after := srv.Snapshot(); after != before {
				t.Errorf("the server changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestPushFolderCreatedConcurrentlyIsFine(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	srv.Inject(grafanatest.Fault{Method: "POST", Path: "/api/folders", Status: 409, Apply: true})
	r := runPushCLI(t, srv, nil, "", "--file", pushFixture)
	if r.code != ExitOK || !strings.Contains(r.stdout, "created, version 1") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPushOptions(t *testing.T) {
	t.Run("--org-id sends X-Grafana-Org-Id and --folder-uid picks the folder", func(t *testing.T) {
		srv := grafanatest.New(pushTestToken)
		defer srv.Close()
		srv.AddOrg(3)
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--org-id", "3", "--folder-uid", "dbs", "--folder-title", "Databases")
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, _, folder, ok := srv.Dashboard(3, "dbmon-queries"); !ok || folder != "dbs" {
			t.Errorf("org 3: ok=%v folder=%q", ok, folder)
		}
		if _, _, _, ok := srv.Dashboard(1, "dbmon-queries"); ok {
			t.Error("dashboard landed in org 1")
		}
	})
	t.Run("--grafana-url wins over GRAFANA_URL", func(t *testing.T) {
		srv := grafanatest.New(pushTestToken)
		defer srv.Close()
		r := runPushCLI(t, srv, map[string]string{"GRAFANA_URL": "http://127.0.0.1:1"}, "", "--file", pushFixture, "--grafana-url", srv.URL)
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("--message is the version message", func(t *testing.T) {
		srv := grafanatest.New(pushTestToken)
		defer srv.Close()
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--message", "release 42")
		if r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if m := srv.Messages(1, "dbmon-queries"); len(m) != 1 || m[0] != "release 42" {
			t.Errorf("messages %q", m)
		}
	})
}

func TestPushToken(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(pushTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"a token file is read and trimmed", map[string]string{"GRAFANA_TOKEN": ""}, "", []string{"--token-file", tokenFile}, ExitOK, ""},
		{"a token file wins over GRAFANA_TOKEN", map[string]string{"GRAFANA_TOKEN": "glsa_wrong"}, "", []string{"--token-file", tokenFile}, ExitOK, ""},
		{"--token-file - reads standard input", map[string]string{"GRAFANA_TOKEN": ""}, pushTestToken + "\n", []string{"--token-file", "-"}, ExitOK, ""},
		{"no token at all is a usage error", map[string]string{"GRAFANA_TOKEN": ""}, "", nil, ExitUsage, "no Grafana token"},
		{"a missing token file names the file", nil, "", []string{"--token-file", tokenFile + ".missing"}, ExitFailure, "token.missing"},
		{"an empty token file is refused", nil, "", []string{"--token-file", "-"}, ExitFailure, "empty"},
		{"a token on two lines is refused", nil, "a\nb\n", []string{"--token-file", "-"}, ExitFailure, "more than one line"},
		{"there is no --token flag", nil, "", []string{"--token", pushTestToken}, ExitUsage, "unknown flag: --token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(pushTestToken)
			defer srv.Close()
			args := append([]string{"--file", pushFixture}, tt.args...)
			r := runPushCLI(t, srv, tt.env, tt.stdin, args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, r.stderr)
			}
		})
	}
}

func TestPushUsageErrors(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no URL", map[string]string{"GRAFANA_URL": ""}, []string{"--file", pushFixture}, "no Grafana URL"},
		{"a URL that is not http", map[string]string{"GRAFANA_URL": "ftp://grafana"}, []string{"--file", pushFixture}, "scheme must be http or https"},
		{"a positional argument", nil, []string{"--file", pushFixture, "extra"}, "takes no arguments"},
		{"a negative timeout", nil, []string{"--file", pushFixture, "--timeout", "-1s"}, "--timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPushCLI(t, srv, tt.env, "", tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, want %d with %q\n%s", r.code, ExitUsage, tt.wantErr, r.stderr)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
}

func TestPushPublishesEveryDashboard(t *testing.T) {
	srv := grafanatest.New(pushTestToken)
	defer srv.Close()
	r := runPushCLI(t, srv, nil, "")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, uid := range []string{"dbmon-queries", "dbmon-queries-overview", "dbmon-queries-alerts"} {
		if _, _, _, ok := srv.Dashboard(1, uid); !ok {
			t.Errorf("dashboard %q not pushed; stdout:\n%s", uid, r.stdout)
		}
	}
	// a second push leaves all three alone
	r = runPushCLI(t, srv, nil, "")
	if r.code != ExitOK || strings.Count(r.stdout, "unchanged") != 3 {
		t.Fatalf("second push: exit %d, want 3 unchanged:\n%s", r.code, r.stdout)
	}
}

func TestPushTLS(t *testing.T) {
	srv := grafanatest.NewTLS(pushTestToken)
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("an unknown CA is refused by default", func(t *testing.T) {
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--timeout", "2s")
		if r.code != ExitFailure || !strings.Contains(r.stderr, "certificate") || strings.Contains(r.stderr, "giving up") {
			t.Errorf("exit %d, want %d without retries\n%s", r.code, ExitFailure, r.stderr)
		}
		if len(srv.Requests()) != 0 {
			t.Error("a request got through an unverified TLS connection")
		}
	})
	t.Run("--ca-file trusts the server's CA", func(t *testing.T) {
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--ca-file", caFile)
		if r.code != ExitOK || strings.Contains(r.stderr, "verification is off") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("--insecure-skip-verify works and warns", func(t *testing.T) {
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--insecure-skip-verify")
		if r.code != ExitOK || !strings.Contains(r.stderr, "TLS certificate verification is off") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("a --ca-file without certificates is refused", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		os.WriteFile(bad, []byte("not a cert"), 0o600)
		r := runPushCLI(t, srv, nil, "", "--file", pushFixture, "--ca-file", bad)
		if r.code != ExitFailure || !strings.Contains(r.stderr, "no PEM certificate") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
}
