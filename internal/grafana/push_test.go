package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/grafana/grafanatest"
)

const testToken = "glsa_test_TOKEN_0123456789abcdef"

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit returns the fixture with a change applied to its decoded object.
func edit(t *testing.T, data []byte, f func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sleeps records the waits of the retry policy instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func newTestClient(t *testing.T, srv *grafanatest.Server, orgID int64) (*Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	c, err := NewClient(Options{
		URL:   srv.URL,
		Token: testToken,
		OrgID: orgID,
		Retry: Retry{Attempts: 4, Base: 10 * time.Millisecond, Max: 40 * time.Millisecond,
			Jitter: func() float64 { return 0 }, Sleep: sl.sleep},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

func push(t *testing.T, c *Client, o PushOptions) (PushResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if o.FolderUID == "" {
		o.FolderUID, o.FolderTitle = "dbmonctl", "Database"
	}
	if o.PushedBy == "" {
		o.PushedBy = "dbmonctl test"
	}
	return Push(ctx, c, o)
}

func TestPushCreatesThenLeavesAnIdenticalDashboardAlone(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	data := fixture(t)

	res, err := push(t, c, PushOptions{Dashboard: data})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Created || !res.FolderCreated || res.Version != 1 || res.Server != grafanatest.Version {
		t.Fatalf("first push: %+v", res)
	}
	if want := srv.URL + "/d/dbmon-queries/database-queries"; res.URL != want {
		t.Errorf("URL = %q, want %q", res.URL, want)
	}
	stored, _, folder, ok := srv.Dashboard(1, "dbmon-queries")
	if !ok || folder != "dbmonctl" {
		t.Fatalf("stored: ok=%v folder=%q", ok, folder)
	}
	m, _ := stored[MarkerKey].(map[string]any)
	if m["contentHash"] != res.ContentHash || m["pushedBy"] != "dbmonctl test" {
		t.Errorf("marker = %v, want hash %s", m, res.ContentHash)
	}
	msgs := srv.Messages(1, "dbmon-queries")
	short := strings.TrimPrefix(res.ContentHash, "sha256:")[:12]
	if len(msgs) != 1 || !strings.Contains(msgs[0], "dbmonctl test") || !strings.Contains(msgs[0], short) {
		t.Errorf("messages = %q, want the version and hash %s", msgs, short)
	}

	before := srv.Snapshot()
	posts := srv.Count("POST", "/api/dashboards/db")
	res, err = push(t, c, PushOptions{Dashboard: data})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Unchanged || res.Version != 1 || res.Diff != "" {
		t.Errorf("re-push: %+v", res)
	}
	if srv.Snapshot() != before || srv.Count("POST", "/api/dashboards/db") != posts || srv.Count("POST", "/api/folders") != 1 {
		t.Error("an unchanged re-push wrote to the server")
	}
}

func TestPushIgnoresKeyOrderNumberFormAndServerFields(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	// Same content re-encoded: other key order, 0.5 written 5e-1, an id
	// and a version the file should not carry anyway.
	same := strings.Replace(string(edit(t, fixture(t), func(m map[string]any) {
		m["id"] = 99
		m["version"] = 42
	})), `"value":0.5`, `"value":5e-1`, 1)
	if !strings.Contains(same, "5e-1") {
		t.Fatal("test setup: number not rewritten")
	}
	res, err := push(t, c, PushOptions{Dashboard: []byte(same)})
	if err != nil || res.Action != Unchanged {
		t.Fatalf("got %+v, %v; want unchanged", res, err)
	}
}

func TestPushUpdatesWhatItPushedWithOptimisticLocking(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	changed := edit(t, fixture(t), func(m map[string]any) { m["refresh"] = "10s" })
	res, err := push(t, c, PushOptions{Dashboard: changed, Message: "release 7"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Updated || res.PreviousVersion != 1 || res.Version != 2 || res.EditedOutside {
		t.Fatalf("update: %+v", res)
	}
	if !strings.Contains(res.Diff, `-  "refresh": "5s",`) || !strings.Contains(res.Diff, `+  "refresh": "10s",`) {
		t.Errorf("diff does not show the change:\n%s", res.Diff)
	}
	if msgs := srv.Messages(1, "dbmon-queries"); msgs[len(msgs)-1] != "release 7" {
		t.Errorf("message = %q", msgs[len(msgs)-1])
	}
}

func TestPushDryRunOnlyReads(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, srv *grafanatest.Server, c *Client)
		dashboard  func(t *testing.T) []byte
		wantAction Action
		wantFolder bool
		wantEdited bool
		wantInDiff string
	}{
		{
			name:       "an empty server would get the folder and the dashboard",
			setup:      func(*testing.T, *grafanatest.Server, *Client) {},
			dashboard:  fixture,
			wantAction: Created,
			wantFolder: true,
			wantInDiff: `+  "title": "Database Queries",`,
		},
		{
			name: "a pushed dashboard would be updated",
			setup: func(t *testing.T, _ *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
			},
			dashboard: func(t *testing.T) []byte {
				return edit(t, fixture(t), func(m map[string]any) { m["title"] = "DB Queries" })
			},
			wantAction: Updated,
			wantInDiff: `+  "title": "DB Queries"`,
		},
		{
			name: "a dashboard edited in the UI would need --force",
			setup: func(t *testing.T, srv *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				d["refresh"] = "1m"
				srv.SaveAsUser(1, "dbmonctl", d, "alice", "")
			},
			dashboard:  fixture,
			wantAction: Updated,
			wantEdited: true,
			wantInDiff: `-  "refresh": "1m",`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			tt.setup(t, srv, c)
			before := srv.Snapshot()
			nreq := len(srv.Requests())
			res, err := push(t, c, PushOptions{Dashboard: tt.dashboard(t), DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tt.wantAction || res.FolderCreated != tt.wantFolder || res.EditedOutside != tt.wantEdited || !res.DryRun {
				t.Errorf("result %+v", res)
			}
			if !strings.Contains(res.Diff, tt.wantInDiff) {
				t.Errorf("diff lacks %q:\n%s", tt.wantInDiff, res.Diff)
			}
			if srv.Snapshot() != before {
				t.Error("dry run changed the server")
			}
			for _, r := range srv.Requests()[nreq:] {
				if r.Method != http.MethodGet {
					t.Errorf("dry run sent %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

func TestPushRefusesDashboardsEditedOutsideDbmonctl(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, srv *grafanatest.Server, c *Client)
	}{
		{
			name: "a UI save that keeps the marker but changes the content",
			setup: func(t *testing.T, srv *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				d["tags"] = []any{"database", "mine"}
				srv.SaveAsUser(1, "dbmonctl", d, "alice", "")
			},
		},
		{
			name: "a UI save that drops the marker without other changes",
			setup: func(t *testing.T, srv *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: edit(t, fixture(t), func(m map[string]any) { m["refresh"] = "1m" })}); err != nil {
					t.Fatal(err)
				}
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				delete(d, MarkerKey)
				srv.SaveAsUser(1, "dbmonctl", d, "alice", "")
			},
		},
		{
			name: "a dashboard with the same uid created by hand",
			setup: func(t *testing.T, srv *grafanatest.Server, _ *Client) {
				srv.AddFolder(1, "dbmonctl", "Database")
				d := map[string]any{"uid": "dbmon-queries", "title": "Hand made", "panels": []any{}}
				srv.SaveAsUser(1, "dbmonctl", d, "bob", "")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			tt.setup(t, srv, c)
			before := srv.Snapshot()
			_, err := push(t, c, PushOptions{Dashboard: fixture(t)})
			if !errors.Is(err, ErrEditedOutside) {
				t.Fatalf("err = %v, want ErrEditedOutside", err)
			}
			for _, want := range []string{"--dry-run", "--force", "refusing"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
			if srv.Snapshot() != before {
				t.Fatal("a refused push changed the server")
			}
			res, err := push(t, c, PushOptions{Dashboard: fixture(t), Force: true})
			if err != nil || res.Action != Updated {
				t.Fatalf("forced push: %+v, %v", res, err)
			}
			got, _, _, _ := srv.Dashboard(1, "dbmon-queries")
			if got["title"] != "Database Queries" {
				t.Errorf("forced push left title %v", got["title"])
			}
			// Once forced, the dashboard is dbmonctl's again.
			res, err = push(t, c, PushOptions{Dashboard: edit(t, fixture(t), func(m map[string]any) { m["refresh"] = "30s" })})
			if err != nil || res.Action != Updated {
				t.Fatalf("push after force: %+v, %v", res, err)
			}
		})
	}
}

func TestPushRefusesProvisionedDashboards(t *testing.T) {
	const file = "/etc/grafana/dashboards/db.json"
	provision := func(t *testing.T, srv *grafanatest.Server, allowUIUpdates bool) {
		t.Helper()
		srv.AddFolder(1, "dbmonctl", "Database")
		d := map[string]any{"uid": "dbmon-queries", "title": "Database Queries", "panels": []any{}}
		srv.Provision(1, "dbmonctl", d, file, allowUIUpdates)
	}
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowUiUpdates=%v", allow), func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			provision(t, srv, allow)
			before := srv.Snapshot()

			res, err := push(t, c, PushOptions{Dashboard: fixture(t), DryRun: true})
			if err != nil || !res.Provisioned || res.ProvisionedFrom != file || res.Action != Updated {
				t.Fatalf("dry run: %+v, %v; want an update of a dashboard provisioned from %s", res, err, file)
			}
			_, err = push(t, c, PushOptions{Dashboard: fixture(t)})
			if !errors.Is(err, ErrProvisioned) {
				t.Fatalf("err = %v, want ErrProvisioned", err)
			}
			for _, want := range []string{file, "--force", "provisioning"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
			if srv.Snapshot() != before || srv.Count("POST", "/api/dashboards/db") != 0 {
				t.Fatal("a refused push changed the server or tried to save")
			}

			res, err = push(t, c, PushOptions{Dashboard: fixture(t), Force: true})
			if !allow {
				// Grafana itself refuses: 400 "Cannot save provisioned dashboard".
				if !errors.Is(err, ErrProvisioned) || !strings.Contains(err.Error(), MessageProvisioned) {
					t.Fatalf("forced push without allowUiUpdates: err = %v, want Grafana's refusal as ErrProvisioned", err)
				}
				if srv.Snapshot() != before {
					t.Fatal("a refused save changed the server")
				}
				return
			}
			if err != nil || res.Action != Updated {
				t.Fatalf("forced push with allowUiUpdates: %+v, %v", res, err)
			}
			if got, _, _, _ := srv.Dashboard(1, "dbmon-queries"); got[MarkerKey] == nil {
				t.Error("the forced push did not save dbmonctl's dashboard")
			}
		})
	}
	t.Run("an identical provisioned dashboard is left alone", func(t *testing.T) {
		srv := grafanatest.New(testToken)
		defer srv.Close()
		c, _ := newTestClient(t, srv, 0)
		if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
			t.Fatal(err)
		}
		d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
		srv.Provision(1, "dbmonctl", d, file, false) // the generated file, provisioned
		res, err := push(t, c, PushOptions{Dashboard: fixture(t)})
		if err != nil || res.Action != Unchanged {
			t.Fatalf("push of the provisioned content: %+v, %v; want unchanged", res, err)
		}
	})
}

func TestPushMovesADashboardBackToItsFolder(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t), FolderUID: "other", FolderTitle: "Other"}); err != nil {
		t.Fatal(err)
	}
	res, err := push(t, c, PushOptions{Dashboard: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Updated || res.MovedFrom != `"other" (Other)` || res.Diff != "" {
		t.Errorf("result %+v", res)
	}
	if _, _, folder, _ := srv.Dashboard(1, "dbmon-queries"); folder != "dbmonctl" {
		t.Errorf("folder = %q", folder)
	}
}

func TestPushSendsTheOrgHeader(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	srv.AddOrg(2)
	c, _ := newTestClient(t, srv, 2)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := srv.Dashboard(2, "dbmon-queries"); !ok {
		t.Error("dashboard not in org 2")
	}
	if _, _, _, ok := srv.Dashboard(1, "dbmon-queries"); ok {
		t.Error("dashboard landed in org 1")
	}
	for _, r := range srv.Requests() {
		if r.OrgID != "2" {
			t.Errorf("%s %s sent org %q", r.Method, r.Path, r.OrgID)
		}
	}
}

func TestPushFolderCreationRace(t *testing.T) {
	t.Run("a 409 from a concurrent creator is fine", func(t *testing.T) {
		srv := grafanatest.New(testToken)
		defer srv.Close()
		// The folder gets created, but the answer is a 409, as if another
		// push won the race.
		srv.Inject(grafanatest.Fault{Method: "POST", Path: "/api/folders", Status: 409, Apply: true,
			Body: `{"message":"a folder with the same uid already exists"}`})
		c, _ := newTestClient(t, srv, 0)
		res, err := push(t, c, PushOptions{Dashboard: fixture(t)})
		if err != nil || res.Action != Created || res.FolderCreated {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("a 409 because another folder has the title is a conflict", func(t *testing.T) {
		srv := grafanatest.New(testToken)
		defer srv.Close()
		srv.AddFolder(1, "someone-elses", "Database")
		before := srv.Snapshot()
		c, _ := newTestClient(t, srv, 0)
		_, err := push(t, c, PushOptions{Dashboard: fixture(t)})
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "--folder-uid") {
			t.Fatalf("err = %v", err)
		}
		if srv.Snapshot() != before {
			t.Error("server changed")
		}
	})
}

func TestPushSaveRejections(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, srv *grafanatest.Server, c *Client)
		wantStatus string
		wantText   string
	}{
		{
			name: "someone saves between the read and the write",
			setup: func(t *testing.T, srv *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				srv.Inject(grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 412,
					Body: `{"status":"version-mismatch","message":"The dashboard has been changed by someone else"}`})
			},
			wantStatus: StatusVersionMismatch,
			wantText:   "run push again",
		},
		{
			name: "another dashboard in the folder has the title",
			setup: func(t *testing.T, srv *grafanatest.Server, _ *Client) {
				srv.AddFolder(1, "dbmonctl", "Database")
				srv.SaveAsUser(1, "dbmonctl", map[string]any{"uid": "other", "title": "Database Queries"}, "bob", "")
			},
			wantStatus: StatusNameExists,
			wantText:   "same title",
		},
		{
			name: "the dashboard belongs to a plugin",
			setup: func(t *testing.T, srv *grafanatest.Server, c *Client) {
				if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
					t.Fatal(err)
				}
				// A plugin installed the same JSON, marker included.
				d, _, _, _ := srv.Dashboard(1, "dbmon-queries")
				srv.SaveAsUser(1, "dbmonctl", d, "plugin", "dbmon-app")
			},
			wantStatus: StatusPluginDashboard,
			wantText:   "belongs to a plugin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			tt.setup(t, srv, c)
			before := srv.Snapshot()
			posts := srv.Count("POST", "/api/dashboards/db")
			changed := edit(t, fixture(t), func(m map[string]any) { m["refresh"] = "1m" })
			_, err := push(t, c, PushOptions{Dashboard: changed})
			var ae *APIError
			if !errors.Is(err, ErrPrecondition) || !errors.As(err, &ae) || ae.Status != tt.wantStatus {
				t.Fatalf("err = %v, want 412 %s", err, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q lacks %q", err, tt.wantText)
			}
			if srv.Snapshot() != before {
				t.Error("a rejected save changed the server")
			}
			if n := srv.Count("POST", "/api/dashboards/db") - posts; n != 1 {
				t.Errorf("%d saves, want 1 (412 is not retried)", n)
			}
		})
	}
}

func TestPushRecoversFromAResetAfterTheSaveWentThrough(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, sl := newTestClient(t, srv, 0)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	// The save is applied, then the connection drops: the retry meets a
	// 412 version-mismatch against its own first try.
	srv.Inject(grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Reset: true, Apply: true, Times: 1})
	changed := edit(t, fixture(t), func(m map[string]any) { m["refresh"] = "1m" })
	res, err := push(t, c, PushOptions{Dashboard: changed})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Updated || res.Version != 2 {
		t.Errorf("result %+v", res)
	}
	if n := srv.Count("POST", "/api/dashboards/db"); n != 3 { // first push, lost reply, retry
		t.Errorf("%d saves, want 3", n)
	}
	if len(sl.d) != 1 {
		t.Errorf("slept %v, want one backoff", sl.d)
	}
	if _, v, _, _ := srv.Dashboard(1, "dbmon-queries"); v != 2 {
		t.Errorf("server version %d, want 2", v)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		fault     grafanatest.Fault
		wantErr   error // nil: push succeeds after the fault's Times
		wantTries int   // requests to the faulted path
		wantSleep []time.Duration
	}{
		{
			name:      "a 503 is retried until it clears",
			fault:     grafanatest.Fault{Path: "/api/health", Status: 503, Times: 2},
			wantTries: 3,
			wantSleep: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond},
		},
		{
			name:      "a 429's Retry-After wins over a shorter backoff",
			fault:     grafanatest.Fault{Method: "GET", Path: "/api/folders/*", Status: 429, Header: map[string]string{"Retry-After": "1"}, Times: 1},
			wantTries: 2,
			wantSleep: []time.Duration{time.Second},
		},
		{
			name:      "502 and 504 are retried",
			fault:     grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 502, Times: 1},
			wantTries: 2,
			wantSleep: []time.Duration{5 * time.Millisecond},
		},
		{
			// A POST, because net/http itself retries an idempotent request
			// reset on a reused connection, which would hide one reset.
			name:      "a connection reset is retried",
			fault:     grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Reset: true, Times: 2},
			wantTries: 3,
			wantSleep: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond},
		},
		{
			name:      "a lasting 503 gives up after the attempts",
			fault:     grafanatest.Fault{Path: "/api/health", Status: 503},
			wantErr:   errors.New("giving up after 4 attempts"),
			wantTries: 4,
			wantSleep: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond},
		},
		{
			name:      "a 500 is not retried",
			fault:     grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 500},
			wantErr:   errors.New("500 Internal Server Error"),
			wantTries: 1,
		},
		{
			name:      "a 400 is not retried",
			fault:     grafanatest.Fault{Method: "POST", Path: "/api/dashboards/db", Status: 400, Body: `{"message":"Dashboard title cannot be empty"}`},
			wantErr:   errors.New("Dashboard title cannot be empty"),
			wantTries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			srv.Inject(tt.fault)
			c, sl := newTestClient(t, srv, 0)
			_, err := push(t, c, PushOptions{Dashboard: fixture(t)})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && (err == nil || !strings.Contains(err.Error(), tt.wantErr.Error())):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			tries := 0
			for _, r := range srv.Requests() {
				if (tt.fault.Method == "" || r.Method == tt.fault.Method) && strings.HasPrefix(r.Path, strings.TrimSuffix(tt.fault.Path, "*")) {
					tries++
				}
			}
			if tries != tt.wantTries {
				t.Errorf("%d tries, want %d", tries, tt.wantTries)
			}
			if len(sl.d) != len(tt.wantSleep) {
				t.Fatalf("slept %v, want %v", sl.d, tt.wantSleep)
			}
			for i := range sl.d {
				if sl.d[i] != tt.wantSleep[i] {
					t.Errorf("sleep %d = %v, want %v", i, sl.d[i], tt.wantSleep[i])
				}
			}
		})
	}
}

func TestRetryDelayIsCappedExponentialWithJitter(t *testing.T) {
	r := Retry{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name       string
		attempt    int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{"the first wait is half the base with no jitter", 1, 0, 0, 50 * time.Millisecond},
		{"jitter spreads the upper half", 1, 0.5, 0, 75 * time.Millisecond},
		{"each attempt doubles the step", 3, 0, 0, 200 * time.Millisecond},
		{"the step is capped at Max", 10, 0.999, 0, 999500 * time.Microsecond},
		{"a longer Retry-After wins", 1, 0, 3 * time.Second, 3 * time.Second},
		{"a shorter Retry-After does not shorten the wait", 5, 0, time.Millisecond, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			r.Jitter = func() float64 { return tt.jitter }
			if got := r.WithDefaults().Wait(tt.attempt, tt.retryAfter); got != tt.want {
				t.Errorf("delay = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("a slow answer past the deadline fails fast and is not retried", func(t *testing.T) {
		srv := grafanatest.New(testToken)
		defer srv.Close()
		srv.Inject(grafanatest.Fault{Method: "GET", Path: "/api/dashboards/uid/*", Delay: 10 * time.Second, Status: 200})
		c, sl := newTestClient(t, srv, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Push(ctx, c, PushOptions{Dashboard: fixture(t), FolderUID: "f", FolderTitle: "F"})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
		if len(sl.d) != 0 {
			t.Errorf("retried a timeout: %v", sl.d)
		}
	})
	t.Run("no retry is started when its wait would cross the deadline", func(t *testing.T) {
		srv := grafanatest.New(testToken)
		defer srv.Close()
		srv.Inject(grafanatest.Fault{Path: "/api/health", Status: 503, Header: map[string]string{"Retry-After": "30"}})
		c, sl := newTestClient(t, srv, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := Push(ctx, c, PushOptions{Dashboard: fixture(t)})
		if err == nil || !strings.Contains(err.Error(), "leaves no time") {
			t.Fatalf("err = %v", err)
		}
		if len(sl.d) != 0 || srv.Count("GET", "/api/health") != 1 {
			t.Errorf("slept %v, %d tries", sl.d, srv.Count("GET", "/api/health"))
		}
	})
}

func TestTheTokenIsRedacted(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	srv.Inject(grafanatest.Fault{Method: "GET", Path: "/api/folders/*", Status: 401,
		Body: `{"message":"invalid API key: Bearer ` + testToken + `","status":"` + testToken + `"}`})
	c, _ := newTestClient(t, srv, 0)
	_, err := push(t, c, PushOptions{Dashboard: fixture(t)})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error not redacted: %v", err)
	}
	var ae *APIError
	if errors.As(err, &ae) && (strings.Contains(ae.Message, testToken) || strings.Contains(ae.Status, testToken)) {
		t.Errorf("APIError fields hold the token: %+v", ae)
	}
}

func TestHealthIsCheckedWithoutTheToken(t *testing.T) {
	srv := grafanatest.New(testToken)
	defer srv.Close()
	c, _ := newTestClient(t, srv, 0)
	if _, err := push(t, c, PushOptions{Dashboard: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/api/health" && r.Authorized {
			t.Error("health check carried the token")
		}
		if r.Path != "/api/health" && !r.Authorized {
			t.Errorf("%s %s without the token", r.Method, r.Path)
		}
	}
}

func TestPushRejectsBadDashboards(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"invalid JSON", `{"uid":`, "decode dashboard JSON"},
		{"a JSON array", `[1]`, "decode dashboard JSON"},
		{"two objects", `{"uid":"a","title":"t"} {}`, "after the top-level object"},
		{"no uid", `{"title":"t"}`, `no "uid"`},
		{"no title", `{"uid":"a"}`, `no "title"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(testToken)
			defer srv.Close()
			c, _ := newTestClient(t, srv, 0)
			_, err := push(t, c, PushOptions{Dashboard: []byte(tt.data)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if len(srv.Requests()) != 0 {
				t.Error("a bad dashboard reached the server")
			}
		})
	}
}

func TestAbsURL(t *testing.T) {
	tests := []struct {
		name, base, rel, want string
	}{
		{"a root URL joins the path", "https://g.example.com/", "/d/x/y", "https://g.example.com/d/x/y"},
		{"a sub-path Grafana already includes is not doubled", "https://example.com/grafana", "/grafana/d/x/y", "https://example.com/grafana/d/x/y"},
		{"a sub-path Grafana omits is added", "https://example.com/grafana", "/d/x/y", "https://example.com/grafana/d/x/y"},
		{"userinfo never reaches a printed URL", "https://u:secret@example.com", "/d/x", "https://example.com/d/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Options{URL: tt.base})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AbsURL(tt.rel); got != tt.want {
				t.Errorf("AbsURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewClientRejectsBadURLsWithoutQuotingSecrets(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "http://u:pa ss@%zz"} {
		_, err := NewClient(Options{URL: u, Token: "t"})
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "pa ss") {
			t.Errorf("%q: error quotes the password: %v", u, err)
		}
	}
}
