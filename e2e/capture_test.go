//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Receiver kinds, as the drill's table names them.
const (
	viaPagerDuty = "pagerduty"
	viaSlack     = "slack"
	viaEmail     = "email"
)

// notification is one message a capture server received.
type notification struct {
	At  time.Time
	Via string // viaPagerDuty, viaSlack or viaEmail
	// Dest is the Slack channel, the SMTP recipients, or the name of the
	// PagerDuty service the routing key belongs to (empty for the one
	// service of newPagerDutyServer).
	Dest string
	To   string // the email's To header
	// Alerts are the alert names the message is about.
	Alerts []string
	// Title is what a human sees first: the PagerDuty summary, the Slack
	// attachment title, the email subject.
	Title string
	// Severity is the PagerDuty event severity; Action its event_action.
	Severity, Action string
	Raw              string
}

func (n notification) String() string {
	return fmt.Sprintf("%s %s %s %v %q", n.At.Format("15:04:05.000"), n.Via, n.Dest, n.Alerts, n.Title)
}

// inbox collects what every capture server received, and the protocol
// problems they saw: a wrong secret, a malformed payload.
type inbox struct {
	mu       sync.Mutex
	list     []notification
	problems []string
	// alertNames are the names to look for in a message, from the
	// generated rule file.
	alertNames []string
}

func (b *inbox) add(n notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, n)
}

func (b *inbox) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

func (b *inbox) snapshot() ([]notification, []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]notification(nil), b.list...), append([]string(nil), b.problems...)
}

// names returns the alert names mentioned in the title, or failing that in
// the whole message: templates differ, but every default and generated
// template names the alert somewhere.
func (b *inbox) names(title, raw string) []string {
	find := func(s string) []string {
		var found []string
		for _, a := range b.alertNames {
			if strings.Contains(s, a) {
				found = append(found, a)
			}
		}
		sort.Strings(found)
		return found
	}
	if f := find(title); len(f) > 0 {
		return f
	}
	return find(raw)
}

// newPagerDutyServer captures PagerDuty Events API v2 calls
// (POST /v2/enqueue) the way PagerDuty answers them: 202 and a JSON
// status. A call with a routing key other than the one in the key file is
// answered 400, as PagerDuty would, and recorded as a problem.
func newPagerDutyServer(t *testing.T, b *inbox, routingKey string) *httptest.Server {
	return newPagerDutyServices(t, b, map[string]string{routingKey: ""})
}

// newPagerDutyServices is newPagerDutyServer for several PagerDuty
// services, one per routing key: services maps each key to the name a
// notification carries as its Dest, so a test can tell which team's
// service was paged. Any other key is answered 400 and recorded as a
// problem.
func newPagerDutyServices(t *testing.T, b *inbox, services map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
			b.problem("pagerduty: unexpected %s %s", r.Method, r.URL.Path)
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var ev struct {
			RoutingKey  string `json:"routing_key"`
			EventAction string `json:"event_action"`
			DedupKey    string `json:"dedup_key"`
			Payload     struct {
				Summary  string `json:"summary"`
				Severity string `json:"severity"`
				Source   string `json:"source"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			b.problem("pagerduty: malformed event: %v: %s", err, body)
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": err.Error()})
			return
		}
		dest, ok := services[ev.RoutingKey]
		if !ok {
			b.problem("pagerduty: routing key %q is not the one in any key file", ev.RoutingKey)
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{"Invalid routing key"}})
			return
		}
		b.add(notification{At: time.Now(), Via: viaPagerDuty, Dest: dest, Alerts: b.names(ev.Payload.Summary, string(body)),
			Title: ev.Payload.Summary, Severity: ev.Payload.Severity, Action: ev.EventAction, Raw: string(body)})
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newSlackServer captures Slack incoming-webhook posts. Only the webhook
// path in the URL file is accepted, which proves Alertmanager read it.
func newSlackServer(t *testing.T, b *inbox, path string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != path {
			b.problem("slack: unexpected %s %s (the webhook is %s)", r.Method, r.URL.Path, path)
			http.Error(w, "invalid_token", http.StatusForbidden)
			return
		}
		var msg struct {
			Channel     string `json:"channel"`
			Text        string `json:"text"`
			Attachments []struct {
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			b.problem("slack: malformed message: %v: %s", err, body)
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		title := msg.Text
		if len(msg.Attachments) > 0 {
			title = msg.Attachments[0].Title
		}
		b.add(notification{At: time.Now(), Via: viaSlack, Dest: msg.Channel, Alerts: b.names(title, string(body)), Title: title, Raw: string(body)})
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
