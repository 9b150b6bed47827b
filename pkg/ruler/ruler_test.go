package ruler_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
	"github.com/dbmonctl/dbmonctl/pkg/cortextest"
	"github.com/dbmonctl/dbmonctl/pkg/ruler"
)

const (
	token  = "s3cr3t-token"
	owner  = "tool"
	ns     = "team-a"
	tenant = "tenant-1"
)

// noWait is a retry policy that records its waits instead of sleeping.
func noWait(waits *[]time.Duration) apiclient.Retry {
	return apiclient.Retry{
		Attempts: 4,
		Base:     100 * time.Millisecond,
		Max:      time.Second,
		Jitter:   func() float64 { return 0 },
		Sleep: func(_ context.Context, d time.Duration) error {
			if waits != nil {
				*waits = append(*waits, d)
			}
			return nil
		},
	}
}

func newClient(t *testing.T, srv *cortextest.Server, tenantID, prefix string, waits *[]time.Duration) *ruler.Client {
	t.Helper()
	api, err := apiclient.New(apiclient.Options{Address: srv.URL, Tenant: tenantID, Token: token, Retry: noWait(waits)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ruler.NewClient(api, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func group(name string, exprs ...string) rulefmt.RuleGroup {
	g := rulefmt.RuleGroup{Name: name, Interval: model.Duration(30 * time.Second)}
	for i, e := range exprs {
		g.Rules = append(g.Rules, rulefmt.Rule{
			Alert:       name + "Alert" + string(rune('A'+i)),
			Expr:        e,
			For:         model.Duration(5 * time.Minute),
			Labels:      map[string]string{"severity": "warning"},
			Annotations: map[string]string{"summary": "something is wrong"},
		})
	}
	return g
}

// sync plans and applies desired into namespace ns, as a CLI would.
func sync(t *testing.T, c *ruler.Client, desired []rulefmt.RuleGroup, prune bool) (ruler.Plan, ruler.Result, error) {
	t.Helper()
	ctx := context.Background()
	cur, err := c.Groups(ctx, ns)
	if err != nil {
		t.Fatalf("read namespace: %v", err)
	}
	p, err := ruler.NewPlan(ns, cur, desired, ruler.PlanOptions{Owner: owner, Prune: prune})
	if err != nil {
		return p, ruler.Result{}, err
	}
	r, err := ruler.Apply(ctx, c, p)
	return p, r, err
}

func names(gs []rulefmt.RuleGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func marker(t *testing.T, srv *cortextest.Server, tenantID string) ruler.Marker {
	t.Helper()
	for _, g := range srv.Groups(tenantID, ns) {
		m, ok, err := ruler.ParseMarker(g)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return m
		}
	}
	t.Fatalf("no ownership marker in namespace %q", ns)
	return ruler.Marker{}
}

func TestSyncCreatesThenWritesNothing(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	desired := []rulefmt.RuleGroup{group("b", "up == 0"), group("a", "up == 0", "up > 1")}

	p, r, err := sync(t, c, desired, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range p.Changes {
		got = append(got, ch.String())
	}
	want := []string{
		`create ownership marker "tool-ownership" in namespace "team-a"`,
		`create group "a" in namespace "team-a"`,
		`create group "b" in namespace "team-a"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Applied) != 3 || r.Failed != nil {
		t.Errorf("result %+v", r)
	}
	if got := names(srv.Groups(tenant, ns)); !slices.Equal(got, []string{"a", "b", "tool-ownership"}) {
		t.Errorf("server groups %v", got)
	}
	if m := marker(t, srv, tenant); m.Owner != owner || !slices.Equal(m.Groups, []string{"a", "b"}) {
		t.Errorf("marker %+v", m)
	}

	writes := srv.Writes()
	p, _, err = sync(t, c, desired, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || srv.Writes() != writes {
		t.Errorf("second sync: changes %v, %d writes, want none", p.Changes, srv.Writes()-writes)
	}
	if !slices.Equal(p.Unchanged, []string{"a", "b"}) {
		t.Errorf("unchanged %v", p.Unchanged)
	}
}

func TestUpdateDiffAndNoMarkerWrite(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	if _, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0")}, false); err != nil {
		t.Fatal(err)
	}
	p, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 1")}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != ruler.Update || p.Changes[0].Marker {
		t.Fatalf("changes %v, want one update of the group", p.Changes)
	}
	d := p.Diff()
	for _, want := range []string{"--- a/team-a/a\n", "+++ b/team-a/a\n", "-    expr: up == 0\n", "+    expr: up == 1\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if got := srv.Groups(tenant, ns)[0].Rules[0].Expr; got != "up == 1" {
		t.Errorf("server expr %q", got)
	}
}

func TestEqualityIsCanonical(t *testing.T) {
	// What the server echoes may differ in form from what was sent: the
	// same duration spelled differently, empty maps, a trailing newline.
	sent := group("a", "up == 0")
	echoed := sent
	echoed.Interval = model.Duration(30 * time.Second)
	echoed.Labels = map[string]string{}
	echoed.Rules = []rulefmt.Rule{sent.Rules[0]}
	echoed.Rules[0].Expr = "up == 0\n"
	echoed.Rules[0].Labels = map[string]string{"severity": "warning"}
	cur := []rulefmt.RuleGroup{ruler.MarkerGroup(owner, []string{"a"}), echoed}
	p, err := ruler.NewPlan(ns, cur, []rulefmt.RuleGroup{sent}, ruler.PlanOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Errorf("changes %v, want none:\n%s", p.Changes, p.Diff())
	}
}

func TestPruneDeletesOnlyManagedGroups(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	if _, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0"), group("old", "up == 0")}, false); err != nil {
		t.Fatal(err)
	}
	srv.PutGroup(tenant, ns, group("handmade", "up == 2")) // someone else's, in our namespace

	p, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0")}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || !slices.Equal(p.Kept, []string{"old"}) || !slices.Equal(p.Foreign, []string{"handmade"}) {
		t.Fatalf("without prune: changes %v kept %v foreign %v", p.Changes, p.Kept, p.Foreign)
	}

	p, _, err = sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0")}, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range p.Changes {
		got = append(got, ch.String())
	}
	want := []string{
		`delete group "old" in namespace "team-a"`,
		`update ownership marker "tool-ownership" in namespace "team-a"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
	if got := names(srv.Groups(tenant, ns)); !slices.Equal(got, []string{"a", "handmade", "tool-ownership"}) {
		t.Errorf("server groups %v", got)
	}
	if m := marker(t, srv, tenant); !slices.Equal(m.Groups, []string{"a"}) {
		t.Errorf("marker lists %v", m.Groups)
	}
}

func TestPruneEverythingReleasesTheNamespace(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	if _, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0")}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sync(t, c, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := srv.Namespaces(tenant); len(got) != 0 {
		t.Errorf("namespaces left: %v", got)
	}
}

func TestOwnershipRefusals(t *testing.T) {
	other := ruler.MarkerGroup("someone-else", []string{"x"})
	cases := []struct {
		name    string
		current []rulefmt.RuleGroup
		desired []rulefmt.RuleGroup
		want    string
	}{
		{
			"a namespace with groups and no marker is not adopted",
			[]rulefmt.RuleGroup{group("x", "up == 0"), group("y", "up == 0")},
			[]rulefmt.RuleGroup{group("a", "up == 0")},
			`namespace "team-a" holds 2 rule group(s) ("x", "y") and no ownership marker of tool: it is not managed by tool`,
		},
		{
			"another owner's marker is respected",
			[]rulefmt.RuleGroup{other, group("x", "up == 0")},
			[]rulefmt.RuleGroup{group("a", "up == 0")},
			`namespace "team-a" is managed by "someone-else", not "tool"`,
		},
		{
			"a desired group that exists unmanaged is not taken over",
			[]rulefmt.RuleGroup{ruler.MarkerGroup(owner, []string{"a"}), group("a", "up == 0"), group("b", "up == 0")},
			[]rulefmt.RuleGroup{group("a", "up == 0"), group("b", "up == 1")},
			`rule group(s) "b" of namespace "team-a" exist but are not managed by tool`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ruler.NewPlan(ns, c.current, c.desired, ruler.PlanOptions{Owner: owner, Prune: true})
			if !errors.Is(err, ruler.ErrNotOwned) {
				t.Fatalf("err %v, want ErrNotOwned", err)
			}
			if err.Error() != c.want {
				t.Errorf("err\n%s\nwant\n%s", err, c.want)
			}
		})
	}
}

func TestBadDesiredGroups(t *testing.T) {
	cases := []struct {
		name    string
		desired []rulefmt.RuleGroup
		want    string
	}{
		{"empty name", []rulefmt.RuleGroup{group("", "up")}, "groups[0]: name is empty"},
		{"duplicate", []rulefmt.RuleGroup{group("a", "up"), group("a", "up")}, `groups[1] "a": name is used twice`},
		{"marker name", []rulefmt.RuleGroup{group("tool-ownership", "up")}, "reserved for the ownership marker"},
		{"no rules", []rulefmt.RuleGroup{{Name: "a"}}, "has no rules"},
		{"marker lookalike", []rulefmt.RuleGroup{func() rulefmt.RuleGroup { g := ruler.MarkerGroup("x", nil); g.Name = "a"; return g }()}, "looks like an ownership marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ruler.NewPlan(ns, nil, c.desired, ruler.PlanOptions{Owner: owner})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestDamagedMarkerIsAnError(t *testing.T) {
	m := ruler.MarkerGroup(owner, []string{"a"})
	m.Rules[0].Annotations["managed_groups"] = "a, b"
	_, err := ruler.NewPlan(ns, []rulefmt.RuleGroup{m}, nil, ruler.PlanOptions{Owner: owner, Prune: true})
	if err == nil || !strings.Contains(err.Error(), "not a JSON list") {
		t.Errorf("err %v", err)
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	g := ruler.MarkerGroup("o", []string{"b", "a", "b"})
	m, ok, err := ruler.ParseMarker(g)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if m.Owner != "o" || m.Group != "o-ownership" || !slices.Equal(m.Groups, []string{"a", "b"}) {
		t.Errorf("%+v", m)
	}
	if _, ok, _ := ruler.ParseMarker(group("a", "up")); ok {
		t.Error("an ordinary group parsed as a marker")
	}
}

func TestPartialFailureLeavesGroupsManaged(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	// The marker and group "a" go through (the server applies them but
	// the fault answers), group "b" is refused, "c" is never tried.
	desired := []rulefmt.RuleGroup{group("a", "up == 0"), group("b", "up == 0"), group("c", "up == 0")}
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Path: "/api/v1/rules/team-a", Apply: true, Status: http.StatusAccepted, Times: 2})
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Path: "/api/v1/rules/team-a", Status: http.StatusBadRequest,
		Body: "per-user rules per rule group limit (limit: 1 actual: 2) exceeded", Times: 1})
	_, r, err := sync(t, c, desired, false)
	var ae *ruler.ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, apiclient.ErrRejected) {
		t.Fatalf("err %v, want an ApplyError matching ErrRejected", err)
	}
	if !strings.Contains(err.Error(), `create group "b"`) || !strings.Contains(err.Error(), "limit (limit: 1 actual: 2)") {
		t.Errorf("err %q does not name the change and the engine's reason", err)
	}
	if len(r.Applied) != 2 || r.Failed == nil || r.Failed.Group != "b" || len(r.NotApplied) != 1 || r.NotApplied[0].Group != "c" {
		t.Errorf("result: applied %v failed %v not applied %v", r.Applied, r.Failed, r.NotApplied)
	}
	// 400 is final: one try only.
	posts := 0
	for _, q := range srv.Requests() {
		if q.Method == http.MethodPost {
			posts++
		}
	}
	if posts != 3 {
		t.Errorf("%d POSTs, want 3 (marker, a, b once)", posts)
	}
	// Every group that exists is listed, so the next sync resumes.
	if m := marker(t, srv, tenant); !slices.Equal(m.Groups, []string{"a", "b", "c"}) {
		t.Errorf("marker lists %v", m.Groups)
	}
	srv.ClearFaults()
	p, _, err := sync(t, c, desired, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range p.Changes {
		got = append(got, ch.String())
	}
	if !slices.Equal(got, []string{`create group "b" in namespace "team-a"`, `create group "c" in namespace "team-a"`}) {
		t.Errorf("resumed changes %q", got)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	var waits []time.Duration
	c := newClient(t, srv, tenant, "", &waits)
	srv.Inject(cortextest.Fault{Method: http.MethodGet, Status: http.StatusServiceUnavailable, Times: 1})
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Reset: true, Times: 1})
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "2"}, Times: 1})
	srv.Inject(cortextest.Fault{Method: http.MethodPost, Status: http.StatusInternalServerError, Apply: true, Times: 1})
	if _, _, err := sync(t, c, []rulefmt.RuleGroup{group("a", "up == 0")}, false); err != nil {
		t.Fatal(err)
	}
	// Base 100ms, no jitter: waits are half the step, or Retry-After.
	want := []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 2 * time.Second, 200 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if got := names(srv.Groups(tenant, ns)); !slices.Equal(got, []string{"a", "tool-ownership"}) {
		t.Errorf("server groups %v", got)
	}
}

func TestFinalAnswers(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		sentinel error
	}{
		{"401", http.StatusUnauthorized, apiclient.ErrUnauthorized},
		{"403", http.StatusForbidden, apiclient.ErrForbidden},
		{"400", http.StatusBadRequest, apiclient.ErrRejected},
		{"413", http.StatusRequestEntityTooLarge, apiclient.ErrTooLarge},
		{"404 of a wrong path", http.StatusNotFound, apiclient.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := cortextest.New(token)
			defer srv.Close()
			cl := newClient(t, srv, tenant, "", nil)
			srv.Inject(cortextest.Fault{Status: c.status, Body: "404 page not found"})
			_, err := cl.Groups(context.Background(), ns)
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("err %v, want %v", err, c.sentinel)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: %d is never retried", n, c.status)
			}
		})
	}
}

func TestRealRefusals(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	srv.Forbid("closed")
	ctx := context.Background()

	api, _ := apiclient.New(apiclient.Options{Address: srv.URL, Tenant: tenant, Token: "wrong-token", Retry: noWait(nil)})
	c, _ := ruler.NewClient(api, "")
	if _, err := c.Groups(ctx, ns); !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := newClient(t, srv, "closed", "", nil).Groups(ctx, ns); !errors.Is(err, apiclient.ErrForbidden) {
		t.Errorf("forbidden tenant: %v", err)
	}
	if _, err := newClient(t, srv, tenant, "/prometheus/config/v1/rules", nil).Groups(ctx, ns); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("wrong prefix: %v, want ErrNotFound (not an empty namespace)", err)
	}
	srv.SetLimits(cortextest.Limits{MaxBody: 100})
	err := newClient(t, srv, tenant, "", nil).SetGroup(ctx, ns, group("big", strings.Repeat("up == 0 or ", 20)+"up"))
	if !errors.Is(err, apiclient.ErrTooLarge) {
		t.Errorf("large group: %v", err)
	}
}

func TestDeadlineBoundsTheSync(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	api, _ := apiclient.New(apiclient.Options{Address: srv.URL, Tenant: tenant, Token: token})
	c, _ := ruler.NewClient(api, "")
	srv.Inject(cortextest.Fault{Delay: time.Minute, Status: http.StatusOK})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Groups(ctx, ns)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want DeadlineExceeded", err)
	}
}

func TestTenantsDoNotSeeEachOther(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	a := newClient(t, srv, "tenant-a", "", nil)
	b := newClient(t, srv, "tenant-b", "", nil)
	if _, _, err := sync(t, a, []rulefmt.RuleGroup{group("only-a", "up == 0")}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sync(t, b, []rulefmt.RuleGroup{group("only-b", "up == 0")}, true); err != nil {
		t.Fatal(err)
	}
	all, err := b.Namespaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all[ns]); !slices.Equal(got, []string{"only-b", "tool-ownership"}) {
		t.Errorf("tenant b sees %v", got)
	}
	if got := names(srv.Groups("tenant-a", ns)); !slices.Equal(got, []string{"only-a", "tool-ownership"}) {
		t.Errorf("tenant a holds %v after b's pruning sync", got)
	}
}

func TestMimirPrefixAndEscapedNames(t *testing.T) {
	srv := cortextest.NewWithPrefix(token, ruler.MimirPrefix)
	defer srv.Close()
	c := newClient(t, srv, tenant, ruler.MimirPrefix, nil)
	ctx := context.Background()
	g := group("db/queries", "up == 0")
	if err := c.SetGroup(ctx, "ns/with slash", g); err != nil {
		t.Fatal(err)
	}
	got, err := c.Groups(ctx, "ns/with slash")
	if err != nil || len(got) != 1 || got[0].Name != "db/queries" {
		t.Fatalf("groups %v, err %v", got, err)
	}
	if err := c.DeleteGroup(ctx, "ns/with slash", "db/queries"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, "ns/with slash", "db/queries"); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	srv := cortextest.New(token)
	defer srv.Close()
	c := newClient(t, srv, tenant, "", nil)
	srv.Inject(cortextest.Fault{Status: http.StatusBadRequest, Body: "bad header Authorization: Bearer " + token})
	_, err := c.Groups(context.Background(), ns)
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("err %v", err)
	}
}
