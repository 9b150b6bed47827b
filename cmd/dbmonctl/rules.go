package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
	"github.com/dbmonctl/dbmonctl/pkg/ruler"
	"github.com/dbmonctl/dbmonctl/pkg/rules"
)

// rulesOwner is the owner recorded in the ownership marker of every rule
// namespace dbmonctl manages.
const rulesOwner = "dbmonctl"

// Environment variables holding the engines' tokens.
const (
	envRulerToken        = "RULER_TOKEN"
	envAlertmanagerToken = "ALERTMANAGER_TOKEN"
)

// engineRetry is the retry policy of the engine commands; tests shorten it.
var engineRetry = apiclient.DefaultRetry()

// engineOptions are the connection flags the rules and alertmanager
// commands share.
type engineOptions struct {
	address      string
	tenant       string
	tokenFile    string
	username     string
	timeout      time.Duration
	caFile       string
	insecureSkip bool
}

func (o *engineOptions) addFlags(cmd *cobra.Command, what, tokenEnv string) {
	f := cmd.Flags()
	f.StringVar(&o.address, "address", "", what+" base URL, with any sub-path (required)")
	f.StringVar(&o.tenant, "tenant", "", "tenant ID, sent as X-Scope-OrgID (required)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the API token, - for stdin (default $"+tokenEnv+"; none: no Authorization header)")
	f.StringVar(&o.username, "username", "", "send the token with HTTP basic auth as this user (Grafana Cloud: the instance ID) instead of as a Bearer token")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long, retries included")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust, besides the system's")
	f.BoolVar(&o.insecureSkip, "insecure-skip-verify", false, "do not verify the server's TLS certificate (unsafe: the token can be intercepted)")
}

// apiClient checks the flags, reads the token and builds the API client.
// secrets are further values to redact from every error.
func (o engineOptions) apiClient(a *app, tokenEnv string, secrets []string) (*apiclient.Client, error) {
	if o.address == "" {
		return nil, usageError("--address is required")
	}
	if o.tenant == "" {
		return nil, usageError("--tenant is required")
	}
	if err := apiclient.ValidateTenant(o.tenant); err != nil {
		return nil, usageError("--tenant: %v", err)
	}
	if o.timeout <= 0 {
		return nil, usageError("--timeout must be positive, got %s", o.timeout)
	}
	token, err := readEngineToken(a, o.tokenFile, tokenEnv)
	if err != nil {
		return nil, err
	}
	if o.username != "" && token == "" {
		return nil, usageError("--username needs a token: set %s or --token-file", tokenEnv)
	}
	httpClient, err := pushHTTPClient(pushOptions{caFile: o.caFile, insecureSkip: o.insecureSkip})
	if err != nil {
		return nil, err
	}
	if o.insecureSkip {
		a.logger().Warn("TLS certificate verification is off (--insecure-skip-verify): anyone on the path can read the token")
	}
	api, err := apiclient.New(apiclient.Options{
		Address:    o.address,
		Tenant:     o.tenant,
		Token:      token,
		Username:   o.username,
		Secrets:    secrets,
		HTTPClient: httpClient,
		Retry:      engineRetry,
		Logger:     a.logger(),
		UserAgent:  "dbmonctl/" + version,
	})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return api, nil
}

// logger is a.log, or a discarding logger before the root command set it.
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.log
}

// readEngineToken takes the token from file (- for stdin) or the
// environment variable env, never from a flag value. No token is fine:
// Cortex itself checks none, a gateway in front of it may.
func readEngineToken(a *app, file, env string) (string, error) {
	if file == "" {
		return strings.TrimSpace(a.getenv(env)), nil
	}
	var r io.Reader = a.stdin
	name := "standard input"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("read token: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read token from %s: %w", name, err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("read token from %s: larger than %d bytes, not a token", name, maxTokenFile)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("read token from %s: empty", name)
	}
	if strings.ContainsAny(t, "\r\n") {
		return "", fmt.Errorf("read token from %s: more than one line", name)
	}
	return t, nil
}

// engineExitCode maps the engine commands' errors to exit codes.
func engineExitCode(err error) int {
	switch {
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
		return ExitAuth
	case errors.Is(err, apiclient.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ruler.ErrNotOwned):
		return ExitConflict
	case errors.Is(err, apiclient.ErrTooLarge):
		return ExitTooLarge
	case errors.Is(err, apiclient.ErrRejected):
		return ExitRejected
	}
	return ExitFailure
}

// explain adds what to do about an engine error where the error alone
// does not say it.
func explain(err error, prefixFlag, prefixHint string) error {
	switch {
	case errors.Is(err, apiclient.ErrNotFound):
		return fmt.Errorf("%w (check --address and %s; %s)", err, prefixFlag, prefixHint)
	case errors.Is(err, apiclient.ErrUnauthorized):
		return fmt.Errorf("%w (check the token and the tenant)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (raise --timeout, or check that the server is up)", err)
	}
	return err
}

// subcommandOnly rejects an unknown subcommand of a command group with a
// usage error; cobra would otherwise print the help and exit 0.
func subcommandOnly(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

type rulesOptions struct {
	engineOptions
	namespace string
	prefix    string
	file      string
	prune     bool
	dryRun    bool
	exitCode  bool
}

func newRulesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Compare or sync the alert rules with a Cortex or Mimir ruler",
		Long: `rules compares (diff) or synchronises (sync) the pack's alert rule groups —
the groups generate writes to prometheus/alerts.yml — with one namespace of a
tenant of the Cortex or Grafana Mimir ruler, through its configuration API
(GET/POST /api/v1/rules/{namespace}, DELETE /api/v1/rules/{namespace}/{group};
Mimir serves it under /prometheus/config/v1/rules: pass --prefix).

Ownership: dbmonctl writes only into namespaces it manages. It records them
with a marker group, "dbmonctl-ownership", whose single alerting rule never
fires and lists the groups dbmonctl manages there. A namespace that already
holds groups but no marker is refused (exit 6), and so is a group of the same
name that dbmonctl did not create. Other groups in a managed namespace are
left alone; --prune deletes only managed groups the rules no longer have.
See docs/adr/0009-ruler-sync.md.

The token comes from --token-file (- reads standard input) or $RULER_TOKEN,
never from the command line; with neither, no Authorization header is sent.
Transient failures (connection errors, 429, 500, 502, 503, 504) are retried
with backoff within --timeout; other 4xx answers are final.

Exit codes: 4 the token or tenant was refused (401/403), 5 not found (404:
wrong address or --prefix, or the ruler API is not enabled), 6 not managed by
dbmonctl, 7 too large (413), 8 the ruler refused the rules (400, its reason
is printed), 1 any other failure.`,
		Args: subcommandOnly,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRulesSubCmd(a, "diff"), newRulesSubCmd(a, "sync"))
	return cmd
}

func newRulesSubCmd(a *app, verb string) *cobra.Command {
	var o rulesOptions
	cmd := &cobra.Command{
		Use:  verb + " --address URL --tenant ID [--namespace NS]",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if verb == "diff" {
				o.dryRun = true
			}
			return runRules(cmd.Context(), a, o, verb)
		},
	}
	switch verb {
	case "diff":
		cmd.Short = "Show what rules sync would change, writing nothing"
		cmd.Long = `diff reads the namespace and prints what sync would write, as a unified diff
per rule group, then a summary. It only reads. It exits 0 whether or not
there are changes; with --exit-code it exits 1 when there are.`
		cmd.Example = `  dbmonctl rules diff --address http://cortex:9009 --tenant team-a
  dbmonctl rules diff --address https://mimir.example.com --prefix /prometheus/config/v1/rules \
      --tenant team-a --namespace orders --prune --exit-code`
	case "sync":
		cmd.Short = "Make the ruler's namespace hold exactly the pack's rule groups"
		cmd.Long = `sync creates and updates the pack's rule groups in the namespace, and with
--prune deletes the groups dbmonctl manages there that the pack no longer has.
A second run writes nothing. --dry-run reads only and prints the diff.

When a write fails, sync stops and reports which writes were applied, which
one failed and which were not attempted; the groups already written stay
managed, and running sync again finishes the job.`
		cmd.Example = `  export RULER_TOKEN=…
  dbmonctl rules sync --address http://cortex:9009 --tenant team-a --dry-run
  dbmonctl rules sync --address http://cortex:9009 --tenant team-a --prune

  # Grafana Mimir, basic auth, a rule file instead of the spec
  dbmonctl rules sync --address https://mimir.example.com --prefix /prometheus/config/v1/rules \
      --tenant 12345 --username 12345 --token-file /run/secrets/mimir --file alerts.yml`
		cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "read only: print the diff of what sync would write")
	}
	o.addFlags(cmd, "the Cortex or Mimir", envRulerToken)
	f := cmd.Flags()
	f.StringVar(&o.namespace, "namespace", rulesOwner, "rule namespace to manage")
	f.StringVar(&o.prefix, "prefix", ruler.DefaultPrefix, "path of the ruler configuration API ("+ruler.MimirPrefix+" for Mimir)")
	f.StringVar(&o.file, "file", "", "Prometheus rule file to sync instead of the rules of the spec and --config")
	f.BoolVar(&o.prune, "prune", false, "delete the groups dbmonctl manages in the namespace that the rules no longer have")
	if verb == "diff" {
		f.BoolVar(&o.exitCode, "exit-code", false, "exit 1 when there are changes")
	}
	return cmd
}

// desiredGroups are the rule groups to sync: the file's, or the spec's as
// generate renders them to prometheus/alerts.yml.
func (a *app) desiredGroups(file string) ([]rulefmt.RuleGroup, error) {
	p := parser.NewParser(parser.Options{})
	if file != "" {
		rgs, errs := rulefmt.ParseFile(file, false, model.LegacyValidation, p, a.logger())
		if len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(a.stderr, e)
			}
			return nil, withCode(ExitFindings, fmt.Errorf("%s: %d problem(s) in the rule file", file, len(errs)))
		}
		return rgs.Groups, nil
	}
	pack, err := a.loadPack()
	if err != nil {
		return nil, err
	}
	b, err := rules.Render(pack.RuleGroups)
	if err != nil {
		return nil, fmt.Errorf("render alert rules: %w", err)
	}
	rgs, errs := rulefmt.Parse(b, false, model.LegacyValidation, p, a.logger())
	if len(errs) > 0 {
		return nil, fmt.Errorf("the rendered alert rules do not parse: %w", errors.Join(errs...))
	}
	return rgs.Groups, nil
}

func runRules(ctx context.Context, a *app, o rulesOptions, verb string) error {
	if strings.TrimSpace(o.namespace) == "" {
		return usageError("--namespace must not be empty")
	}
	api, err := o.apiClient(a, envRulerToken, nil)
	if err != nil {
		return err
	}
	client, err := ruler.NewClient(api, o.prefix)
	if err != nil {
		return usageError("--prefix: %v", err)
	}
	desired, err := a.desiredGroups(o.file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	fail := func(err error) error {
		return withCode(engineExitCode(err), fmt.Errorf("rules %s: %w", verb, explain(err, "--prefix", "Mimir serves the API under "+ruler.MimirPrefix)))
	}

	fmt.Fprintf(a.stdout, "ruler %s%s, tenant %q, namespace %q\n", api.URL(), client.Prefix(), o.tenant, o.namespace)
	current, err := client.Groups(ctx, o.namespace)
	if err != nil {
		return fail(err)
	}
	plan, err := ruler.NewPlan(o.namespace, current, desired, ruler.PlanOptions{Owner: rulesOwner, Prune: o.prune})
	if err != nil {
		if errors.Is(err, ruler.ErrNotOwned) {
			err = fmt.Errorf("%w; dbmonctl only writes to namespaces it manages: choose another --namespace", err)
		}
		return fail(err)
	}
	if o.dryRun {
		io.WriteString(a.stdout, plan.Diff())
		for _, ch := range plan.Changes {
			fmt.Fprintf(a.stdout, "would %s\n", ch)
		}
		reportLeftovers(a.stdout, plan)
		fmt.Fprintf(a.stdout, "%d to create, %d to update, %d to delete, %d unchanged (dry run: nothing was written)\n",
			plan.Count(ruler.Create), plan.Count(ruler.Update), plan.Count(ruler.Delete), len(plan.Unchanged))
		if o.exitCode && !plan.Empty() {
			return withCode(ExitFailure, errSilent)
		}
		return nil
	}
	res, err := ruler.Apply(ctx, client, plan)
	for _, ch := range res.Applied {
		fmt.Fprintf(a.stdout, "%s\n", pastTense(ch))
	}
	if err != nil {
		fmt.Fprintf(a.stdout, "FAILED: %s\n", res.Failed)
		for _, ch := range res.NotApplied {
			fmt.Fprintf(a.stdout, "not applied: %s\n", ch)
		}
		what := "nothing was applied"
		if len(res.Applied) > 0 {
			what = fmt.Sprintf("partially applied: %d of %d changes were applied (listed above), the groups written stay managed; run sync again once the cause is fixed",
				len(res.Applied), len(plan.Changes))
		}
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	reportLeftovers(a.stdout, plan)
	if plan.Empty() {
		fmt.Fprintf(a.stdout, "in sync: %d group(s) unchanged, nothing written\n", len(plan.Unchanged))
		return nil
	}
	fmt.Fprintf(a.stdout, "%d created, %d updated, %d deleted, %d unchanged\n",
		plan.Count(ruler.Create), plan.Count(ruler.Update), plan.Count(ruler.Delete), len(plan.Unchanged))
	return nil
}

// reportLeftovers names what sync leaves alone, and why.
func reportLeftovers(w io.Writer, p ruler.Plan) {
	for _, n := range p.Kept {
		fmt.Fprintf(w, "kept group %q: managed by dbmonctl but no longer in the rules; --prune deletes it\n", n)
	}
	if len(p.Foreign) > 0 {
		fmt.Fprintf(w, "left alone: %d group(s) not managed by dbmonctl: %s\n", len(p.Foreign), strings.Join(p.Foreign, ", "))
	}
}

func pastTense(c ruler.Change) string {
	s := c.String()
	for verb, past := range map[ruler.Action]string{ruler.Create: "created", ruler.Update: "updated", ruler.Delete: "deleted"} {
		if c.Action == verb {
			return past + strings.TrimPrefix(s, string(verb))
		}
	}
	return s
}
