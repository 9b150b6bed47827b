package alertmanager

import "time"

// Config is an Alertmanager configuration: global settings, the routing
// tree, the receivers it routes to, and the inhibit rules between alerts.
type Config struct {
	// Global holds the settings that apply to the whole Alertmanager.
	Global Global
	// Route is the root of the routing tree. It must name a receiver (the
	// default for alerts no child route matches) and must not have matchers.
	Route *Route
	// Receivers are the notification targets routes refer to by name.
	Receivers []Receiver
	// InhibitRules mute target alerts while a matching source alert fires.
	InhibitRules []InhibitRule
	// Templates are globs of notification template files Alertmanager
	// loads; templates inline in receiver fields need none.
	Templates []string
}

// Global holds Alertmanager-wide settings.
type Global struct {
	// ResolveTimeout is how long Alertmanager waits, for an alert without an
	// end time, before declaring it resolved. Zero keeps Alertmanager's
	// default (5m).
	ResolveTimeout time.Duration
}

// Route is one node of the routing tree. Alertmanager walks the tree depth
// first: an alert goes to the first child route whose matchers all match
// (and on to later siblings while the matched route has Continue), or to
// the node itself when no child matches. Zero timings and an empty GroupBy
// inherit the parent's.
type Route struct {
	// Receiver is the name of the receiver that gets the alerts this node
	// matches; empty inherits the parent's.
	Receiver string
	// Matchers select the alerts of this node, one matcher a string in
	// Alertmanager's syntax with a double-quoted value: `severity="critical"`,
	// `family=~"a|b"`. All must match.
	Matchers []string
	// GroupBy are the label names that split alerts into notification groups.
	GroupBy []string
	// GroupWait is how long a new group waits for more alerts before its
	// first notification.
	GroupWait time.Duration
	// GroupInterval is how long a group waits before notifying about alerts
	// added to it.
	GroupInterval time.Duration
	// RepeatInterval is how long a group waits before notifying again about
	// the same firing alerts.
	RepeatInterval time.Duration
	// Continue lets an alert that matched this node go on to match its
	// following siblings. The root route must not set it.
	Continue bool
	// Routes are the child routes, tried in order.
	Routes []*Route
}

// Receiver is a named set of integrations; one notification goes to each.
type Receiver struct {
	// Name is the unique name routes refer to.
	Name      string
	PagerDuty []PagerDutyConfig
	Slack     []SlackConfig
	Email     []EmailConfig
	Webhook   []WebhookConfig
}

// Integrations is the number of integrations of r: zero means a receiver
// that drops every notification.
func (r Receiver) Integrations() int {
	return len(r.PagerDuty) + len(r.Slack) + len(r.Email) + len(r.Webhook)
}

// PagerDutyConfig is a PagerDuty Events API v2 integration. Text fields may
// hold Alertmanager templates.
type PagerDutyConfig struct {
	// SendResolved also notifies when the alerts resolve, which closes the
	// PagerDuty incident.
	SendResolved bool
	// RoutingKeyFile is the file Alertmanager reads the integration key from.
	RoutingKeyFile string
	// RoutingKey is an inline integration key. Validate rejects it: it
	// exists so that a spec setting it gets a clear error, not a leak.
	RoutingKey string
	// ServiceKeyFile is the file of an Events API v1 service key (instead
	// of RoutingKeyFile).
	ServiceKeyFile string
	// ServiceKey is an inline v1 service key, rejected like RoutingKey.
	ServiceKey string
	// URL is the Events API endpoint; empty keeps Alertmanager's default.
	URL string
	// Client and ClientURL name the monitoring client in the incident.
	Client    string
	ClientURL string
	// Description is the incident title.
	Description string
	// Severity is the PagerDuty severity: critical, error, warning or info.
	Severity string
	// Details are extra fields of the incident, added to Alertmanager's
	// default ones (firing, resolved, counts).
	Details map[string]string
}

// SlackConfig is a Slack incoming-webhook integration. Text fields may
// hold Alertmanager templates.
type SlackConfig struct {
	// SendResolved also posts when the alerts resolve.
	SendResolved bool
	// APIURLFile is the file Alertmanager reads the webhook URL from.
	APIURLFile string
	// APIURL is an inline webhook URL, which embeds a token. Validate
	// rejects it.
	APIURL string
	// Channel is the channel (#name) or user (@name) to post to.
	Channel string
	// Username is the name the message is posted as; empty keeps the
	// webhook's.
	Username string
	// Color is the attachment colour (good, warning, danger or #rrggbb).
	Color string
	// Title, TitleLink and Text are the attachment's title, title link and body.
	Title     string
	TitleLink string
	Text      string
}

// EmailConfig is an SMTP integration. Text fields may hold Alertmanager
// templates.
type EmailConfig struct {
	// SendResolved also mails when the alerts resolve.
	SendResolved bool
	// To is the recipient address (a comma-separated list is allowed).
	To string
	// From is the sender address.
	From string
	// Smarthost is the SMTP server, host:port.
	Smarthost string
	// AuthUsername is the SMTP login; empty disables authentication.
	AuthUsername string
	// AuthPasswordFile is the file Alertmanager reads the SMTP password from.
	AuthPasswordFile string
	// AuthPassword is an inline SMTP password. Validate rejects it.
	AuthPassword string
	// RequireTLS makes Alertmanager insist on STARTTLS; nil keeps its
	// default (true).
	RequireTLS *bool
	// Headers are extra mail headers, such as Subject.
	Headers map[string]string
	// HTML and Text are the two bodies of the mail.
	HTML string
	Text string
}

// WebhookConfig is a generic webhook integration. Alertmanager 0.25 has no
// url_file, so the URL is written inline: do not put a token in it.
type WebhookConfig struct {
	// SendResolved also posts when the alerts resolve.
	SendResolved bool
	// URL is the endpoint Alertmanager posts the notification JSON to.
	URL string
	// MaxAlerts caps the alerts in one post; zero means all.
	MaxAlerts int
}

// InhibitRule mutes target alerts while a source alert fires whose labels
// named in Equal have the same values (a label missing on both sides counts
// as equal).
type InhibitRule struct {
	// SourceMatchers select the muting alerts, in the syntax of Route.Matchers.
	SourceMatchers []string
	// TargetMatchers select the muted alerts.
	TargetMatchers []string
	// Equal are the label names whose values must be equal on both sides.
	Equal []string
}

// Receiver returns the receiver named name, or false.
func (c *Config) Receiver(name string) (Receiver, bool) {
	for _, r := range c.Receivers {
		if r.Name == name {
			return r, true
		}
	}
	return Receiver{}, false
}
