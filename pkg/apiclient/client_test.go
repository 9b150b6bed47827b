package apiclient

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidateTenant(t *testing.T) {
	good := []string{"a", "team-a", "Team_1.prod", "x!*'()", strings.Repeat("a", 150)}
	bad := map[string]string{
		"":                       "empty",
		".":                      "not allowed",
		"..":                     "not allowed",
		"a/b":                    `character '/'`,
		"a|b":                    `character '|'`,
		"é":                      `character 'é'`,
		strings.Repeat("a", 151): "limit is 150",
	}
	for _, id := range good {
		if err := ValidateTenant(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for id, want := range bad {
		if err := ValidateTenant(id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", id, err, want)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	cases := map[string]Options{
		"address is empty":                {},
		"scheme must be http or https":    {Address: "ftp://x"},
		"no host":                         {Address: "http://"},
		"must not have a query":           {Address: "http://x/?a=1"},
		"character '/'":                   {Address: "http://x", Tenant: "a/b"},
		"token or username contains":      {Address: "http://x", Token: "a\nb"},
		"address does not parse as a URL": {Address: "http://x:pass word@[::1"},
	}
	for want, o := range cases {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err %v, want %q", o, err, want)
		}
	}
}

func TestRetryWait(t *testing.T) {
	r := Retry{Base: 100 * time.Millisecond, Max: 400 * time.Millisecond, Jitter: func() float64 { return 0.5 }}.WithDefaults()
	want := []time.Duration{75, 150, 300, 300, 300}
	for i, w := range want {
		if got := r.Wait(i+1, 0); got != w*time.Millisecond {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := r.Wait(1, 5*time.Second); got != 5*time.Second {
		t.Errorf("Retry-After: %v", got)
	}
	if got := parseRetryAfter("3600"); got != time.Minute {
		t.Errorf("Retry-After is capped: %v", got)
	}
}

// server answers with the statuses given, in turn, then 200.
func server(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32, *http.Header) {
	var n atomic.Int32
	var last http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		last = r.Header.Clone()
		if i < len(statuses) {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"nope"}`, statuses[i])
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &last
}

func fastRetry() Retry {
	return Retry{Attempts: 3, Jitter: func() float64 { return 0 }, Sleep: func(context.Context, time.Duration) error { return nil }}
}

func TestHeaders(t *testing.T) {
	srv, _, h := server(t)
	c, _ := New(Options{Address: srv.URL, Tenant: "t1", Token: "tok-1234", UserAgent: "x/1"})
	if _, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/p"}); err != nil {
		t.Fatal(err)
	}
	if h.Get(TenantHeader) != "t1" || h.Get("Authorization") != "Bearer tok-1234" || h.Get("User-Agent") != "x/1" {
		t.Errorf("headers %v", *h)
	}
	c, _ = New(Options{Address: srv.URL, Username: "inst", Token: "tok-1234"})
	if _, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/p"}); err != nil {
		t.Fatal(err)
	}
	if h.Get(TenantHeader) != "" || !strings.HasPrefix(h.Get("Authorization"), "Basic ") {
		t.Errorf("basic auth without tenant: %v", *h)
	}
}

func TestRetries(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		tries    int32
		sentinel error
		giveUp   bool
	}{
		{"a 503 then success", []int{503}, 2, nil, false},
		{"500, 502, 504 run out of attempts", []int{500, 502, 504}, 3, ErrUnavailable, true},
		{"429 is retried", []int{429, 429, 429}, 3, ErrRateLimited, true},
		{"400 is final", []int{400}, 1, ErrRejected, false},
		{"401 is final", []int{401}, 1, ErrUnauthorized, false},
		{"404 is final", []int{404}, 1, ErrNotFound, false},
		{"413 is final", []int{413}, 1, ErrTooLarge, false},
		{"503 then 400 stops at the 400", []int{503, 400}, 2, ErrRejected, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, n, _ := server(t, c.statuses...)
			cl, _ := New(Options{Address: srv.URL, Retry: fastRetry()})
			_, err := cl.Do(context.Background(), Request{Method: http.MethodPost, Path: "/p", Body: []byte("x")})
			if n.Load() != c.tries {
				t.Errorf("%d tries, want %d", n.Load(), c.tries)
			}
			if c.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("err %v, want %v", err, c.sentinel)
			}
			var g *GiveUpError
			if errors.As(err, &g) != c.giveUp {
				t.Errorf("err %v: give-up wrapping %v, want %v", err, !c.giveUp, c.giveUp)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Message != "nope" {
				t.Errorf("message of %v", err)
			}
		})
	}
}

func TestNoRetryPastTheDeadline(t *testing.T) {
	srv, n, _ := server(t, 503, 503)
	cl, _ := New(Options{Address: srv.URL, Retry: Retry{Attempts: 5, Base: time.Hour, Max: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cl.Do(ctx, Request{Method: http.MethodGet, Path: "/p"})
	if n.Load() != 1 || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "the deadline leaves no time") {
		t.Errorf("%d tries, err %v", n.Load(), err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	tries := 0
	cl, _ := New(Options{Address: addr, Retry: Retry{Attempts: 3, Sleep: func(context.Context, time.Duration) error { tries++; return nil }}})
	_, err := cl.Do(context.Background(), Request{Method: http.MethodGet, Path: "/p"})
	var ue *UnreachableError
	if !errors.As(err, &ue) || tries != 2 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err %v after %d waits", err, tries)
	}
}

func TestUntrustedCertificateIsNotRetried(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	waits := 0
	cl, _ := New(Options{Address: srv.URL, Retry: Retry{Attempts: 3, Sleep: func(context.Context, time.Duration) error { waits++; return nil }}})
	_, err := cl.Do(context.Background(), Request{Method: http.MethodGet, Path: "/p"})
	if err == nil || waits != 0 || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err %v after %d waits", err, waits)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "echo: "+r.Header.Get("Authorization")+" and body-s3cr3t and pw-s3cr3t", http.StatusBadRequest)
	}))
	defer srv.Close()
	addr := strings.Replace(srv.URL, "http://", "http://user:pw-s3cr3t@", 1)
	cl, err := New(Options{Address: addr, Token: "tok-s3cr3t", Secrets: []string{"body-s3cr3t", "ab"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Do(context.Background(), Request{Method: http.MethodPost, Path: "/p"})
	for _, s := range []string{"tok-s3cr3t", "body-s3cr3t", "pw-s3cr3t"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows %q: %v", s, err)
		}
	}
	if strings.Contains(cl.URL(), "pw-s3cr3t") {
		t.Errorf("URL() shows the password: %s", cl.URL())
	}
}
