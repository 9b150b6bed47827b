package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/grafana/grafanatest"
)

// mode is one API push can go through, with the fake Grafana that serves it.
type mode struct {
	name    string
	profile grafanatest.Profile
	api     API
	// wantAPI is PushResult.API; save and get are the paths (or prefixes,
	// ending in "*") of the dashboard save and read.
	wantAPI   string
	save, get string
}

var modes = []mode{
	{"classic /api on Grafana 11", grafanatest.Grafana11, APIAuto, "/api", "/api/dashboards/db", "/api/dashboards/uid/*"},
	{"/apis v1 on Grafana 13", grafanatest.Grafana13, APIAuto, "/apis/dashboard.grafana.app/v1",
		"/apis/dashboard.grafana.app/v1/namespaces/default/dashboards*", "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/*"},
}

func pushMode(t *testing.T, c *Client, m mode, o PushOptions) (PushResult, error) {
	t.Helper()
	if o.API == "" {
		o.API = m.api
	}
	return push(t, c, o)
}

// writes counts the requests that could change the server.
func writes(srv *grafanatest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

func TestPushKeepsEveryGuaranteeOnBothAPIs(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Run("it creates, then leaves an identical dashboard alone", func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				c, _ := newTestClient(t, srv, 0)
				res, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)})
				if err != nil || res.Action != Created || !res.FolderCreated || res.Version != 1 || res.API != m.wantAPI || res.MarkerDropped {
					t.Fatalf("first push: %+v, %v", res, err)
				}
				if !srv.HasFolder(1, "dbmonctl") {
					t.Error("folder not created")
				}
				before, nw := srv.Snapshot(), writes(srv)
				res, err = pushMode(t, c, m, PushOptions{Dashboard: fixture(t)})
				if err != nil || res.Action != Unchanged || res.Version != 1 {
					t.Fatalf("re-push: %+v, %v", res, err)
				}
				if srv.Snapshot() != before || writes(srv) != nw {
					t.Error("an unchanged re-push wrote to the server")
				}
				if msgs := srv.Messages(1, "dbmon-queries"); len(msgs) != 1 || !strings.Contains(msgs[0], "dbmonctl test") {
					t.Errorf("version-history messages %q", msgs)
				}
			})
			t.Run("it updates what it pushed, and a dry run only reads", func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				c, _ := newTestClient(t, srv, 0)
				if _, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				changed := edit(t, fixture(t), func(d map[string]any) { d["refresh"] = "10s" })
				before, nw := srv.Snapshot(), writes(srv)
				res, err := pushMode(t, c, m, PushOptions{Dashboard: changed, DryRun: true})
				if err != nil || res.Action != Updated || !strings.Contains(res.Diff, `+  "refresh": "10s",`) {
					t.Fatalf("dry run: %+v, %v", res, err)
				}
				if srv.Snapshot() != before || writes(srv) != nw {
					t.Fatal("the dry run wrote")
				}
				res, err = pushMode(t, c, m, PushOptions{Dashboard: changed})
				if err != nil || res.Action != Updated || res.PreviousVersion != 1 || res.Version != 2 || res.EditedOutside {
					t.Fatalf("update: %+v, %v", res, err)
				}
			})
			t.Run("it refuses a dashboard edited in the UI unless forced", func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				c, _ := newTestClient(t, srv, 0)
				if _, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				d["refresh"] = "1m"
				srv.SaveAsUser(1, "dbmonctl", d, "alice", "")
				before := srv.Snapshot()
				_, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)})
				if !errors.Is(err, ErrEditedOutside) || !strings.Contains(err.Error(), "alice") {
					t.Fatalf("err = %v, want ErrEditedOutside naming alice", err)
				}
				if srv.Snapshot() != before {
					t.Fatal("a refused push changed the server")
				}
				res, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t), Force: true})
				if err != nil || res.Action != Updated {
					t.Fatalf("forced: %+v, %v", res, err)
				}
			})
			t.Run("it refuses a provisioned dashboard, naming the file", func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				c, _ := newTestClient(t, srv, 0)
				srv.AddFolder(1, "dbmonctl", "Database")
				srv.Provision(1, "dbmonctl", map[string]any{"uid": "dbmon-queries", "title": "Database Queries"}, "/etc/dash/db.json", false)
				before := srv.Snapshot()
				_, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)})
				if !errors.Is(err, ErrProvisioned) || !strings.Contains(err.Error(), "/etc/dash/db.json") {
					t.Fatalf("err = %v, want ErrProvisioned naming the file", err)
				}
				_, err = pushMode(t, c, m, PushOptions{Dashboard: fixture(t), Force: true})
				if !errors.Is(err, ErrProvisioned) {
					t.Fatalf("forced: err = %v, want the server's refusal as ErrProvisioned", err)
				}
				if srv.Snapshot() != before {
					t.Fatal("a refused push changed the server")
				}
			})
			t.Run("it recovers from a reset after the save went through", func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				c, _ := newTestClient(t, srv, 0)
				if _, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				srv.Inject(grafanatest.Fault{Method: saveMethod(m), Path: m.save, Reset: true, Apply: true, Times: 1})
				changed := edit(t, fixture(t), func(d map[string]any) { d["refresh"] = "1m" })
				res, err := pushMode(t, c, m, PushOptions{Dashboard: changed})
				if err != nil || res.Version != 2 {
					t.Fatalf("%+v, %v", res, err)
				}
			})
		})
	}
}

// errSaveConflict stands for the save conflict of either API: 412 on
// /api, 409 on /apis.
var errSaveConflict = errors.New("412 or 409")

// saveMethod is the method of an update on m.
func saveMethod(m mode) string {
	if m.wantAPI == "/api" {
		return http.MethodPost
	}
	return http.MethodPut
}

func TestPushFaultsOnBothAPIs(t *testing.T) {
	type fault struct {
		name  string
		fault func(m mode) grafanatest.Fault
		setup func(t *testing.T, srv *grafanatest.Server)
		// want: the sentinel; nil means success after retries.
		want      error
		wantText  string
		wantTries int
	}
	pushed := func(t *testing.T, srv *grafanatest.Server) {}
	tests := []fault{
		{
			name: "a 401 is an auth error and the echoed token is redacted",
			fault: func(m mode) grafanatest.Fault {
				return grafanatest.Fault{Method: "GET", Path: m.get, Status: 401, Body: `{"message":"bad token ` + testToken + `"}`}
			},
			want:      ErrUnauthorized,
			wantText:  "[REDACTED]",
			wantTries: 1,
		},
		{
			name:      "a 403 names the missing permission",
			fault:     func(m mode) grafanatest.Fault { return grafanatest.Fault{Method: "GET", Path: m.get, Status: 403} },
			want:      ErrForbidden,
			wantText:  "permission",
			wantTries: 1,
		},
		{
			name: "a 409 or 412 on the save is a conflict to run again",
			fault: func(m mode) grafanatest.Fault {
				if m.wantAPI == "/api" {
					return grafanatest.Fault{Method: "POST", Path: m.save, Status: 412, Body: `{"status":"version-mismatch","message":"The dashboard has been changed by someone else"}`}
				}
				return grafanatest.Fault{Method: "POST", Path: m.save, Status: 409, Body: `{"kind":"Status","status":"Failure","reason":"AlreadyExists","message":"exists","code":409}`}
			},
			want:      errSaveConflict,
			wantText:  "run push again",
			wantTries: 1,
		},
		{
			name:      "a 413 says the dashboard is too large",
			setup:     func(_ *testing.T, srv *grafanatest.Server) { srv.SetMaxBody(100) },
			want:      ErrTooLarge,
			wantText:  "larger than the server accepts",
			wantTries: 1,
		},
		{
			name: "a 429 is retried",
			fault: func(m mode) grafanatest.Fault {
				return grafanatest.Fault{Method: "GET", Path: m.get, Status: 429, Times: 1}
			},
			wantTries: 2,
		},
		{
			name: "a 503 is retried",
			fault: func(m mode) grafanatest.Fault {
				return grafanatest.Fault{Method: "POST", Path: m.save, Status: 503, Times: 2}
			},
			wantTries: 3,
		},
		{
			name:      "a 500 is not retried",
			fault:     func(m mode) grafanatest.Fault { return grafanatest.Fault{Method: "POST", Path: m.save, Status: 500} },
			want:      errors.New("500 Internal Server Error"),
			wantTries: 1,
		},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				srv := grafanatest.NewWithProfile(testToken, m.profile)
				defer srv.Close()
				if tt.setup == nil {
					tt.setup = pushed
				}
				tt.setup(t, srv)
				var f grafanatest.Fault
				if tt.fault != nil {
					f = tt.fault(m)
					srv.Inject(f)
				}
				c, _ := newTestClient(t, srv, 0)
				_, err := pushMode(t, c, m, PushOptions{Dashboard: fixture(t)})
				switch {
				case tt.want == nil && err != nil:
					t.Fatalf("err = %v", err)
				case tt.want != nil && err == nil:
					t.Fatalf("no error, want %v", tt.want)
				case tt.want == errSaveConflict && (errors.Is(err, ErrPrecondition) || errors.Is(err, ErrConflict)):
				case tt.want != nil && !errors.Is(err, tt.want) && !strings.Contains(err.Error(), tt.want.Error()):
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if err != nil && (!strings.Contains(err.Error(), tt.wantText) || strings.Contains(err.Error(), testToken)) {
					t.Errorf("error %q: want %q and no token", err, tt.wantText)
				}
				if tt.fault == nil {
					return
				}
				tries := 0
				for _, r := range srv.Requests() {
					if r.Method == f.Method && strings.HasPrefix(r.Path, strings.TrimSuffix(f.Path, "*")) {
						tries++
					}
				}
				if tries != tt.wantTries {
					t.Errorf("%d tries, want %d", tries, tt.wantTries)
				}
			})
		}
	}
}

func TestPushChoosesTheAPI(t *testing.T) {
	tests := []struct {
		name    string
		profile grafanatest.Profile
		api     API
		v2      bool
		wantAPI string
		want    error
	}{
		{"auto uses /api on a server without /apis", grafanatest.Grafana11, APIAuto, false, "/api", nil},
		{"auto uses /api when /apis serves no GA dashboard version", grafanatest.Grafana12, APIAuto, false, "/api", nil},
		{"auto uses /apis v1 on Grafana 13", grafanatest.Grafana13, APIAuto, false, "/apis/dashboard.grafana.app/v1", nil},
		{"classic is honoured on Grafana 13", grafanatest.Grafana13, APIClassic, false, "/api", nil},
		{"apis on a server without /apis fails", grafanatest.Grafana11, APIResources, false, "", ErrAPIUnavailable},
		{"apis on Grafana 12 fails: v1 is not served", grafanatest.Grafana12, APIResources, false, "", ErrAPIUnavailable},
		{"a v2 dashboard goes to /apis v2 on Grafana 13", grafanatest.Grafana13, APIAuto, true, "/apis/dashboard.grafana.app/v2", nil},
		{"a v2 dashboard on Grafana 12 fails: only v2alpha1 is served", grafanatest.Grafana12, APIAuto, true, "", ErrAPIUnavailable},
		{"a v2 dashboard through the classic API fails before any write", grafanatest.Grafana13, APIClassic, true, "", ErrSchemaV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.NewWithProfile(testToken, tt.profile)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			data := fixture(t)
			if tt.v2 {
				data = v2Fixture(t, "Database Queries")
			}
			res, err := push(t, c, PushOptions{Dashboard: data, API: tt.api})
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if writes(srv) != 0 {
					t.Error("a push that could not choose its API wrote")
				}
				return
			}
			if err != nil || res.API != tt.wantAPI || res.Action != Created {
				t.Fatalf("%+v, %v; want created through %s", res, err, tt.wantAPI)
			}
		})
	}
}

// v2Fixture is a small dashboard.grafana.app/v2 resource.
func v2Fixture(t *testing.T, title string) []byte {
	t.Helper()
	r := map[string]any{
		"apiVersion": "dashboard.grafana.app/v2", "kind": "Dashboard",
		"metadata": map[string]any{"name": "dbmon-queries"},
		"spec": map[string]any{
			"title": title, "elements": map[string]any{}, "variables": []any{}, "annotations": []any{}, "tags": []any{},
			"layout":       map[string]any{"kind": "GridLayout", "spec": map[string]any{"items": []any{}}},
			"timeSettings": map[string]any{"from": "now-1h", "to": "now", "autoRefresh": "5s"},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushADashboardGrafana13SavedAsV2(t *testing.T) {
	// dbmonctl pushes; a user saves the dashboard in Grafana 13's UI,
	// which stores it as v2.
	setup := func(t *testing.T, keepAnnotations bool) (*grafanatest.Server, *Client) {
		srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
		c, _ := newTestClient(t, srv, 0)
		if _, err := push(t, c, PushOptions{Dashboard: fixture(t), API: APIClassic}); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Spec map[string]any `json:"spec"`
		}
		json.Unmarshal(v2Fixture(t, "Database Queries (edited)"), &r)
		srv.SaveV2AsUser(1, "dbmonctl", "dbmon-queries", r.Spec, "user:alice", keepAnnotations)
		return srv, c
	}
	t.Run("the classic API cannot read it: ErrSchemaV2 says how to proceed", func(t *testing.T) {
		srv, c := setup(t, true)
		defer srv.Close()
		before := srv.Snapshot()
		_, err := push(t, c, PushOptions{Dashboard: fixture(t), API: APIClassic})
		if !errors.Is(err, ErrSchemaV2) {
			t.Fatalf("err = %v, want ErrSchemaV2", err)
		}
		for _, want := range []string{"406", "schema v2", "--api auto", "--force", "--schema v2"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if srv.Snapshot() != before {
			t.Error("server changed")
		}
	})
	for _, keep := range []bool{true, false} {
		name := "the UI kept the marker annotation"
		if !keep {
			name = "the UI dropped the marker annotation"
		}
		t.Run("auto reads it through /apis and refuses it as an edit unless forced: "+name, func(t *testing.T) {
			srv, c := setup(t, keep)
			defer srv.Close()
			before := srv.Snapshot()
			res, err := push(t, c, PushOptions{Dashboard: fixture(t), DryRun: true})
			if err != nil || res.StoredSchema != SchemaV2 || !res.EditedOutside || !strings.Contains(res.Diff, "schema v2") {
				t.Fatalf("dry run: %+v, %v", res, err)
			}
			_, err = push(t, c, PushOptions{Dashboard: fixture(t)})
			if !errors.Is(err, ErrEditedOutside) || !strings.Contains(err.Error(), "saved as schema v2") || !strings.Contains(err.Error(), "--schema v2") {
				t.Fatalf("err = %v, want ErrEditedOutside about schema v2", err)
			}
			if srv.Snapshot() != before {
				t.Fatal("server changed")
			}
			res, err = push(t, c, PushOptions{Dashboard: fixture(t), Force: true})
			if err != nil || res.Action != Updated || res.API != "/apis/dashboard.grafana.app/v1" {
				t.Fatalf("forced: %+v, %v", res, err)
			}
			if srv.Schema(1, "dbmon-queries") != "v1" {
				t.Error("the forced push did not store v1")
			}
			// The classic API can read it again, and it is dbmonctl's.
			res, err = push(t, c, PushOptions{Dashboard: fixture(t), API: APIClassic})
			if err != nil || res.Action != Unchanged {
				t.Fatalf("classic after force: %+v, %v", res, err)
			}
		})
	}
	t.Run("--schema v2 pushes dbmonctl's dashboard as v2 with --force", func(t *testing.T) {
		srv, c := setup(t, true)
		defer srv.Close()
		_, err := push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries")})
		if !errors.Is(err, ErrEditedOutside) {
			t.Fatalf("err = %v, want ErrEditedOutside", err)
		}
		res, err := push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries"), Force: true})
		if err != nil || res.API != "/apis/dashboard.grafana.app/v2" || res.Schema != SchemaV2 {
			t.Fatalf("%+v, %v", res, err)
		}
		res, err = push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries")})
		if err != nil || res.Action != Unchanged {
			t.Fatalf("re-push: %+v, %v", res, err)
		}
	})
}

func TestPushV2Resources(t *testing.T) {
	srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	res, err := push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries")})
	if err != nil || res.Action != Created || res.Schema != SchemaV2 || res.MarkerDropped {
		t.Fatalf("create: %+v, %v", res, err)
	}
	if srv.Schema(1, "dbmon-queries") != "v2" || srv.Annotations(1, "dbmon-queries")[MarkerAnnotation] != res.ContentHash {
		t.Fatalf("stored %q with annotations %v", srv.Schema(1, "dbmon-queries"), srv.Annotations(1, "dbmon-queries"))
	}
	res, err = push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries")})
	if err != nil || res.Action != Unchanged {
		t.Fatalf("re-push: %+v, %v", res, err)
	}
	res, err = push(t, c, PushOptions{Dashboard: v2Fixture(t, "DB Queries")})
	if err != nil || res.Action != Updated || res.Version != 2 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	// The v1 dashboard replaces the v2 one dbmonctl pushed without --force.
	res, err = push(t, c, PushOptions{Dashboard: fixture(t)})
	if err != nil || res.Action != Updated || res.StoredSchema != SchemaV2 {
		t.Fatalf("v1 over dbmonctl's v2: %+v, %v", res, err)
	}
}

func TestPushWarnsWhenTheServerDropsTheMarker(t *testing.T) {
	srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
	defer srv.Close()
	srv.DropCustomAnnotations(true)
	c, _ := newTestClient(t, srv, 0)
	res, err := push(t, c, PushOptions{Dashboard: v2Fixture(t, "Database Queries")})
	if err != nil || !res.MarkerDropped {
		t.Fatalf("v2: %+v, %v; want MarkerDropped", res, err)
	}
	// A v1 spec keeps its marker in the JSON, so nothing is lost.
	srv2 := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
	defer srv2.Close()
	srv2.DropCustomAnnotations(true)
	c2, _ := newTestClient(t, srv2, 0)
	res, err = push(t, c2, PushOptions{Dashboard: fixture(t)})
	if err != nil || res.MarkerDropped {
		t.Fatalf("v1: %+v, %v", res, err)
	}
	changed := edit(t, fixture(t), func(d map[string]any) { d["refresh"] = "1m" })
	if res, err = push(t, c2, PushOptions{Dashboard: changed}); err != nil || res.Action != Updated {
		t.Fatalf("v1 update: %+v, %v", res, err)
	}
}

func TestPushMovesBetweenAPIsWithoutSeeingAnEdit(t *testing.T) {
	srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	// Pushed through /api before the upgrade to auto…
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t), API: APIClassic}); err != nil {
		t.Fatal(err)
	}
	// …it is the same dashboard, still dbmonctl's, through /apis.
	res, err := push(t, c, PushOptions{Dashboard: fixture(t), API: APIResources})
	if err != nil || res.Action != Unchanged {
		t.Fatalf("through /apis: %+v, %v", res, err)
	}
	changed := edit(t, fixture(t), func(d map[string]any) { d["refresh"] = "1m" })
	if res, err = push(t, c, PushOptions{Dashboard: changed, API: APIResources}); err != nil || res.Action != Updated {
		t.Fatalf("update through /apis: %+v, %v", res, err)
	}
	if res, err = push(t, c, PushOptions{Dashboard: changed, API: APIClassic}); err != nil || res.Action != Unchanged {
		t.Fatalf("back through /api: %+v, %v", res, err)
	}
}

func TestPushNamespaces(t *testing.T) {
	t.Run("org 2 is namespace org-2", func(t *testing.T) {
		srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
		defer srv.Close()
		srv.AddOrg(2)
		c, _ := newTestClient(t, srv, 2)
		if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
			t.Fatal(err)
		}
		if srv.Schema(2, "dbmon-queries") == "" || srv.Schema(1, "dbmon-queries") != "" {
			t.Error("dashboard not in org 2 only")
		}
		if srv.Count("GET", "/apis/dashboard.grafana.app/v1/namespaces/org-2/dashboards/dbmon-queries") != 1 {
			t.Errorf("requests %v", srv.Requests())
		}
	})
	t.Run("Grafana Cloud needs its stacks namespace", func(t *testing.T) {
		p := grafanatest.Grafana13
		p.StackID = 123
		srv := grafanatest.NewWithProfile(testToken, p)
		defer srv.Close()
		c, _ := newTestClient(t, srv, 0)
		_, err := push(t, c, PushOptions{Dashboard: fixture(t)})
		if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "--namespace") {
			t.Fatalf("default namespace on a stack: err = %v", err)
		}
		if _, err := push(t, c, PushOptions{Dashboard: fixture(t), Namespace: "stacks-123"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPushManagedDashboardOnAPIs(t *testing.T) {
	srv := grafanatest.NewWithProfile(testToken, grafanatest.Grafana13)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	srv.AddFolder(1, "dbmonctl", "Database")
	srv.Provision(1, "dbmonctl", map[string]any{"uid": "dbmon-queries", "title": "Database Queries"}, "/etc/dash/db.json", true)
	res, err := push(t, c, PushOptions{Dashboard: fixture(t), DryRun: true})
	if err != nil || !res.Provisioned || res.ManagedBy != ManagerClassicFileProvisioning || res.ProvisionedFrom != "/etc/dash/db.json" {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	// allowUiUpdates: --force saves, keeping the manager's annotations.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Push(ctx, c, PushOptions{Dashboard: fixture(t), FolderUID: "dbmonctl", Force: true}); err != nil {
		t.Fatal(err)
	}
}
