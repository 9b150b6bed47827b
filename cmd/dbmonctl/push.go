package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/dbmonctl/dbmonctl/specs"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/grafana"
	"github.com/dbmonctl/dbmonctl/pkg/dashboard"
)

// pushRetry is push's retry policy; tests shorten it.
var pushRetry = grafana.DefaultRetry()

// maxTokenFile bounds --token-file: a token is short, and reading a huge
// file by mistake should fail, not hang.
const maxTokenFile = 64 << 10

type pushOptions struct {
	file         string
	grafanaURL   string
	tokenFile    string
	orgID        int64
	folderUID    string
	folderTitle  string
	message      string
	dryRun       bool
	force        bool
	timeout      time.Duration
	caFile       string
	insecureSkip bool
	api          string
	namespace    string
	schema       string
	// folderUIDSet, folderTitleSet and schemaSet say which flags were
	// given; the folder otherwise comes from the config.
	folderUIDSet, folderTitleSet, schemaSet bool
}

// runPushCmd loads the config and pack once, renders the dashboards to
// push (or reads --file) and pushes them one after the other, stopping at
// the first failure: what was pushed before it is reported, and a re-run
// finds those unchanged.
func runPushCmd(ctx context.Context, a *app, o pushOptions) error {
	if err := checkSchema(o.schema); err != nil {
		return err
	}
	if o.file != "" && o.schemaSet {
		return usageError("--schema applies to the dashboard rendered from the spec; with --file, the file's own schema is pushed")
	}
	var (
		data [][]byte
		c    specs.Config
	)
	if o.file != "" {
		// The folder defaults to the config's, so a team's config file
		// places the dashboard without extra flags.
		if !o.folderUIDSet || !o.folderTitleSet {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return a.reportLoadError(err)
			}
			c = cfg
		}
		b, err := os.ReadFile(o.file)
		if err != nil {
			return fmt.Errorf("read dashboard: %w", err)
		}
		data = [][]byte{b}
	} else {
		p, err := a.loadPack()
		if err != nil {
			return err
		}
		c = p.Config
		render := dashboard.Render
		if o.schema == schemaV2 {
			render = dashboard.RenderV2
		}
		for _, d := range p.Dashboards() {
			b, err := render(d)
			if err != nil {
				return fmt.Errorf("render dashboard %q: %w", d.UID, err)
			}
			data = append(data, b)
		}
	}
	if !o.folderUIDSet {
		o.folderUID = c.Dashboard.FolderUID
	}
	if !o.folderTitleSet {
		o.folderTitle = c.Dashboard.FolderTitle
	}
	for _, d := range data {
		if err := runPush(ctx, a, o, d); err != nil {
			return err
		}
	}
	return nil
}

func newPushCmd(a *app) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Publish the dashboards to Grafana, safely and idempotently",
		Long: `push saves the pack's dashboards (the detailed dashboard, the overview and
the alert history; or the one --file names) to a Grafana server over its HTTP
API, one after the other, into a folder it creates if missing. It is safe to re-run: an identical dashboard is
left alone ("unchanged"), and a dashboard edited in Grafana since dbmonctl
pushed it is not overwritten unless --force is given. --dry-run reads the
server only and prints the difference.

The server URL comes from --grafana-url or $GRAFANA_URL. The token, a Grafana
service-account token, comes from --token-file (- reads standard input) or
$GRAFANA_TOKEN; it is never accepted on the command line and never printed.

--api chooses Grafana's HTTP API. auto (the default) asks GET /apis and uses
the Kubernetes-style /apis/dashboard.grafana.app/<v1|v2>/namespaces/<ns>/dashboards
when the server serves the version the dashboard needs (Grafana 13), and the
classic /api otherwise; classic and apis force one. The /apis namespace is
"default" for org 1, "org-<id>" for --org-id; Grafana Cloud needs
--namespace stacks-<id>. --schema v2 pushes the dashboard as a
dashboard.grafana.app/v2 resource (Grafana 13, /apis only); v1 stays the default.

Grafana 13 stores a dashboard saved from its UI in schema v2. push sees that
as an edit: it refuses, and --force overwrites it with dbmonctl's version (or
--schema v2 --force pushes dbmonctl's as v2). Through the classic /api such a
dashboard cannot be read at all (406): exit 8.

Transient failures (connection errors, 429, 502, 503, 504) are retried with
backoff within --timeout. Exit codes: 4 the token was refused (401/403),
5 not found (404), 6 conflict (409/412, edited in Grafana, or provisioned),
7 too large (413), 8 the dashboard is schema v2 and the classic /api cannot
handle it, 9 the server does not serve the API version needed, 1 any other
failure.`,
		Example: `  # Preview, then push the dashboard of the spec
  export GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=glsa_…
  dbmonctl push --config dbmonctl.yaml --dry-run
  dbmonctl push --config dbmonctl.yaml

  # Push a generated file instead
  dbmonctl push --file generated/grafana/dashboard.json

  # Token from a secret file, another org and folder
  dbmonctl push --token-file /run/secrets/grafana --org-id 2 --folder-uid db --folder-title Databases

  # Grafana 13: the v2 schema, on Grafana Cloud
  dbmonctl push --schema v2 --namespace stacks-123456`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.grafanaURL == "" {
				o.grafanaURL = a.getenv("GRAFANA_URL")
			}
			o.folderUIDSet = cmd.Flags().Changed("folder-uid")
			o.folderTitleSet = cmd.Flags().Changed("folder-title")
			o.schemaSet = cmd.Flags().Changed("schema")
			return runPushCmd(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "dashboard JSON to push (default: the dashboard rendered from the spec and --config)")
	f.StringVar(&o.grafanaURL, "grafana-url", "", "Grafana base URL, with any sub-path (default $GRAFANA_URL)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the service-account token, - for stdin (default $GRAFANA_TOKEN)")
	f.Int64Var(&o.orgID, "org-id", 0, "Grafana organisation id, sent as X-Grafana-Org-Id (default: the token's org)")
	f.StringVar(&o.folderUID, "folder-uid", "", "uid of the folder to save into, created if missing (default: the config's dashboard.folder_uid)")
	f.StringVar(&o.folderTitle, "folder-title", "", "title of the folder when push creates it (default: the config's dashboard.folder_title)")
	f.StringVar(&o.message, "message", "", "version-history message (default names the dbmonctl version and content hash)")
	f.BoolVar(&o.dryRun, "dry-run", false, "read the server only and print what would change")
	f.BoolVar(&o.force, "force", false, "overwrite a dashboard edited outside dbmonctl")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long, retries included")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust, besides the system's")
	f.BoolVar(&o.insecureSkip, "insecure-skip-verify", false, "do not verify Grafana's TLS certificate (unsafe: the token can be intercepted)")
	f.StringVar(&o.api, "api", string(grafana.APIAuto), "Grafana API: auto (/apis when the server serves the dashboard's version, else /api), classic (/api) or apis")
	f.StringVar(&o.namespace, "namespace", "", "/apis namespace (default: \"default\" for org 1, org-<id> for --org-id; Grafana Cloud: stacks-<id>)")
	f.StringVar(&o.schema, "schema", schemaV1, "schema of the dashboard rendered from the spec: v1, or v2 (a dashboard.grafana.app/v2 resource, Grafana 13 /apis only)")
	return cmd
}

// runPush pushes dashboardJSON as o says and reports to a.stdout.
func runPush(ctx context.Context, a *app, o pushOptions, dashboardJSON []byte) error {
	log := a.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.grafanaURL == "" {
		return usageError("no Grafana URL: set --grafana-url or GRAFANA_URL")
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", o.timeout)
	}
	if o.orgID < 0 {
		return usageError("--org-id must be positive, got %d", o.orgID)
	}
	switch grafana.API(o.api) {
	case grafana.APIAuto, grafana.APIClassic, grafana.APIResources:
	default:
		return usageError("--api must be auto, classic or apis, got %q", o.api)
	}
	if o.namespace != "" && grafana.API(o.api) == grafana.APIClassic {
		return usageError("--namespace is for the /apis API; the classic API picks the org with --org-id")
	}
	token, err := readToken(a, o)
	if err != nil {
		return err
	}
	httpClient, err := pushHTTPClient(o)
	if err != nil {
		return err
	}
	if o.insecureSkip {
		log.Warn("TLS certificate verification is off (--insecure-skip-verify): anyone on the path can read the token")
	}
	client, err := grafana.NewClient(grafana.Options{
		URL:        o.grafanaURL,
		Token:      token,
		OrgID:      o.orgID,
		HTTPClient: httpClient,
		Retry:      pushRetry,
		Logger:     log,
		UserAgent:  "dbmonctl/" + buildVersion(),
	})
	if err != nil {
		return usageError("%v", err)
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := grafana.Push(ctx, client, grafana.PushOptions{
		Dashboard:   dashboardJSON,
		FolderUID:   o.folderUID,
		FolderTitle: o.folderTitle,
		Message:     o.message,
		PushedBy:    "dbmonctl " + buildVersion(),
		DryRun:      o.dryRun,
		Force:       o.force,
		API:         grafana.API(o.api),
		Namespace:   o.namespace,
	})
	report(a.stdout, client, o, res, err)
	if err != nil {
		return withCode(pushExitCode(err), fmt.Errorf("push: %w", err))
	}
	return nil
}

// report prints what push did, as far as it got.
func report(w io.Writer, c *grafana.Client, o pushOptions, r grafana.PushResult, err error) {
	if r.Server == "" {
		return
	}
	fmt.Fprintf(w, "grafana %s at %s\n", r.Server, c.URL())
	if r.API != "" {
		fmt.Fprintf(w, "api %s\n", r.API)
	}
	if r.FolderCreated {
		if o.dryRun {
			fmt.Fprintf(w, "folder %q (%s) would be created\n", o.folderUID, o.folderTitle)
		} else {
			fmt.Fprintf(w, "folder %q (%s) created\n", o.folderUID, o.folderTitle)
		}
	}
	if r.Action == "" {
		return
	}
	if o.dryRun && r.Diff != "" {
		io.WriteString(w, r.Diff)
	}
	if r.MovedFrom != "" {
		verb := "moves"
		if o.dryRun {
			verb = "would move"
		}
		fmt.Fprintf(w, "dashboard %q %s from %s to folder %q\n", r.UID, verb, r.MovedFrom, o.folderUID)
	}
	switch {
	case r.Action == grafana.Unchanged:
		fmt.Fprintf(w, "dashboard %q unchanged (version %d): %s\n", r.UID, r.Version, r.URL)
	case o.dryRun:
		fmt.Fprintf(w, "dashboard %q would be %s (dry run: nothing was changed)\n", r.UID, r.Action)
		switch {
		case r.Provisioned:
			fmt.Fprintf(w, "note: the server copy is provisioned from %s; push will refuse to replace it without --force\n", provisionedFrom(r))
		case r.EditedOutside && r.StoredSchema == grafana.SchemaV2 && r.Schema == grafana.SchemaV1:
			fmt.Fprintf(w, "note: the server copy was saved as schema v2 in Grafana; push will refuse to overwrite it without --force\n")
		case r.EditedOutside:
			fmt.Fprintf(w, "note: the server copy was edited outside dbmonctl; push will refuse to overwrite it without --force\n")
		}
	case err == nil:
		if r.MarkerDropped {
			fmt.Fprintf(w, "warning: grafana did not keep dbmonctl's %s annotation; the next push will take the dashboard for one edited in Grafana and need --force\n", grafana.MarkerAnnotation)
		}
		if r.Action == grafana.Updated {
			fmt.Fprintf(w, "dashboard %q updated from version %d to %d: %s\n", r.UID, r.PreviousVersion, r.Version, r.URL)
		} else {
			fmt.Fprintf(w, "dashboard %q created, version %d: %s\n", r.UID, r.Version, r.URL)
		}
	}
}

func provisionedFrom(r grafana.PushResult) string {
	if r.ProvisionedFrom == "" {
		return "a provisioning file"
	}
	return fmt.Sprintf("%q", r.ProvisionedFrom)
}

// pushExitCode maps push's errors to the named exit codes.
func pushExitCode(err error) int {
	switch {
	case errors.Is(err, grafana.ErrUnauthorized), errors.Is(err, grafana.ErrForbidden):
		return ExitAuth
	case errors.Is(err, grafana.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, grafana.ErrPrecondition), errors.Is(err, grafana.ErrEditedOutside), errors.Is(err, grafana.ErrConflict),
		errors.Is(err, grafana.ErrProvisioned):
		return ExitConflict
	case errors.Is(err, grafana.ErrTooLarge):
		return ExitTooLarge
	case errors.Is(err, grafana.ErrSchemaV2):
		return ExitSchemaV2
	case errors.Is(err, grafana.ErrAPIUnavailable):
		return ExitAPIUnavailable
	}
	return ExitFailure
}

// readToken takes the token from --token-file or $GRAFANA_TOKEN, never from
// a flag value, so it stays out of shell history and process listings.
func readToken(a *app, o pushOptions) (string, error) {
	if o.tokenFile == "" {
		t := strings.TrimSpace(a.getenv("GRAFANA_TOKEN"))
		if t == "" {
			return "", usageError("no Grafana token: set GRAFANA_TOKEN or --token-file")
		}
		return t, nil
	}
	var r io.Reader = a.stdin
	name := "standard input"
	if o.tokenFile != "-" {
		f, err := os.Open(o.tokenFile)
		if err != nil {
			// The error names the file, never its content.
			return "", fmt.Errorf("read token: %w", err)
		}
		defer f.Close()
		r, name = f, o.tokenFile
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read token from %s: %w", name, err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("read token from %s: larger than %d bytes, not a token", name, maxTokenFile)
	}
	t := string(bytes.TrimSpace(b))
	if t == "" {
		return "", fmt.Errorf("read token from %s: empty", name)
	}
	if strings.ContainsAny(t, "\r\n") {
		return "", fmt.Errorf("read token from %s: more than one line", name)
	}
	return t, nil
}

// pushHTTPClient builds the transport: TLS verified unless asked not to,
// with extra CAs from --ca-file. No client timeout: the context bounds the
// whole push, retries included.
func pushHTTPClient(o pushOptions) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("read --ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read --ca-file %s: no PEM certificate found", o.caFile)
		}
		cfg.RootCAs = pool
	}
	cfg.InsecureSkipVerify = o.insecureSkip //nolint:gosec // explicit opt-in, warned about
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}
