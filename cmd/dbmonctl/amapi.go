package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/pkg/alertmanager"
	"github.com/dbmonctl/dbmonctl/pkg/amconfig"
	"github.com/dbmonctl/dbmonctl/specs"
)

type amAPIOptions struct {
	engineOptions
	path     string
	dryRun   bool
	exitCode bool
}

func newAlertmanagerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alertmanager",
		Short: "Compare or push the Alertmanager config to a Cortex or Mimir tenant",
		Long: `alertmanager compares (diff) or uploads (push) the pack's Alertmanager
configuration — what generate writes to alertmanager/alertmanager.yml — with
the configuration of one tenant of the multi-tenant Alertmanager of Cortex or
Grafana Mimir, through its configuration API (GET/POST /api/v1/alerts).

That Alertmanager refuses settings that read files, such as the *_file
secrets of the generated file. The secrets are therefore read from the same
environment variables dbmonctl secrets --from-env uses, at push time:

  PAGERDUTY_SERVICE_KEY  → pagerduty routing_key
  SLACK_WEBHOOK_URL      → slack api_url
  SMTP_PASSWORD          → email auth_password (when a login is configured)

and put inline into the request body only: they are never written to disk,
logged or printed. diff and --dry-run show them as <secret>, and as
<secret (changed)> where the tenant's current value differs.

The token comes from --token-file (- reads standard input) or
$ALERTMANAGER_TOKEN, never from the command line. Transient failures are
retried within --timeout; other 4xx answers are final.

Exit codes: 2 a secret variable is missing, 4 the token or tenant was refused
(401/403), 5 not found (404: wrong address or --path, or the API is not
enabled), 7 too large (413), 8 the Alertmanager refused the configuration
(400, its reason is printed), 1 any other failure.`,
		Args: subcommandOnly,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAlertmanagerSubCmd(a, "diff"), newAlertmanagerSubCmd(a, "push"))
	return cmd
}

func newAlertmanagerSubCmd(a *app, verb string) *cobra.Command {
	var o amAPIOptions
	cmd := &cobra.Command{
		Use:  verb + " --address URL --tenant ID",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if verb == "diff" {
				o.dryRun = true
			}
			return runAlertmanagerAPI(cmd.Context(), a, o, verb)
		},
	}
	switch verb {
	case "diff":
		cmd.Short = "Show what alertmanager push would change, secrets redacted"
		cmd.Long = `diff reads the tenant's configuration and prints a unified diff against the
pack's, with every secret redacted. It exits 0 whether or not they differ;
with --exit-code it exits 1 when they do.`
		cmd.Example = `  export PAGERDUTY_SERVICE_KEY=… SLACK_WEBHOOK_URL=… SMTP_PASSWORD=…
  dbmonctl alertmanager diff --address http://cortex:9009 --tenant team-a`
	case "push":
		cmd.Short = "Upload the pack's Alertmanager config, secrets from the environment"
		cmd.Long = `push uploads the pack's Alertmanager configuration, with the secrets from the
environment inline, when it differs from the tenant's; an identical one is
left alone. --dry-run reads only and prints the redacted diff.`
		cmd.Example = `  export PAGERDUTY_SERVICE_KEY=… SLACK_WEBHOOK_URL=… SMTP_PASSWORD=…
  dbmonctl alertmanager push --address http://cortex:9009 --tenant team-a --dry-run
  dbmonctl alertmanager push --address http://cortex:9009 --tenant team-a --config dbmonctl.yaml`
		cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "read only: print the redacted diff of what push would write")
	}
	o.addFlags(cmd, "the Cortex or Mimir", envAlertmanagerToken)
	f := cmd.Flags()
	f.StringVar(&o.path, "path", amconfig.DefaultPath, "path of the Alertmanager configuration API")
	if verb == "diff" {
		f.BoolVar(&o.exitCode, "exit-code", false, "exit 1 when the configurations differ")
	}
	return cmd
}

// desiredAlertmanagerConfig renders the pack's Alertmanager configuration
// with its *_file secrets replaced by the environment's values, and
// returns those values for redaction. Every variable is checked before
// anything is sent; a missing one is a usage error naming it, never a
// value.
func (a *app) desiredAlertmanagerConfig() (amconfig.Config, []string, error) {
	pack, err := a.loadPack()
	if err != nil {
		return amconfig.Config{}, nil, err
	}
	rendered, err := alertmanager.Render(pack.Routing)
	if err != nil {
		return amconfig.Config{}, nil, fmt.Errorf("render alertmanager config: %w", err)
	}
	values := map[string]string{}
	var secrets, problems []string
	for _, s := range specs.Secrets(pack.Config) {
		v := strings.TrimSpace(a.getenv(s.Env))
		switch {
		case v == "":
			problems = append(problems, fmt.Sprintf("%s is not set or empty (it replaces %s, which a multi-tenant Alertmanager refuses)", s.Env, s.Setting))
			continue
		case strings.HasPrefix(s.Env, specs.EnvSlackWebhookURL) && !isHTTPURL(v):
			problems = append(problems, fmt.Sprintf("%s is not an absolute http(s) URL", s.Env))
			continue
		case strings.ContainsAny(v, "\r\n"):
			problems = append(problems, fmt.Sprintf("%s spans several lines", s.Env))
			continue
		}
		values[s.File] = v
		secrets = append(secrets, v)
	}
	if len(problems) > 0 {
		return amconfig.Config{}, nil, usageError("nothing sent:\n  %s", strings.Join(problems, "\n  "))
	}
	inline, err := amconfig.InlineSecrets(rendered, values)
	if err != nil {
		return amconfig.Config{}, nil, fmt.Errorf("inline the secrets: %w", err)
	}
	left, err := amconfig.FileSettings(inline)
	if err != nil {
		return amconfig.Config{}, nil, err
	}
	if len(left) > 0 {
		var lines []string
		for _, f := range left {
			lines = append(lines, "alertmanager.yml:"+f.String())
		}
		return amconfig.Config{}, nil, withCode(ExitRejected, fmt.Errorf("a multi-tenant Alertmanager refuses settings that read files, and these have no environment variable:\n  %s",
			strings.Join(lines, "\n  ")))
	}
	if _, errs := alertmanager.Load(inline); len(errs) > 0 {
		// The loader's messages may quote values: redact them.
		msg := errors.Join(errs...).Error()
		for _, s := range secrets {
			msg = strings.ReplaceAll(msg, s, amconfig.Redacted)
		}
		return amconfig.Config{}, nil, withCode(ExitRejected, fmt.Errorf("the configuration with the secrets inline does not load: %s", msg))
	}
	return amconfig.Config{AlertmanagerConfig: string(inline)}, secrets, nil
}

func runAlertmanagerAPI(ctx context.Context, a *app, o amAPIOptions, verb string) error {
	if o.address == "" || o.tenant == "" {
		// Flags first: a usage error must not wait for the pack.
		_, err := o.apiClient(a, envAlertmanagerToken, nil)
		return err
	}
	desired, secrets, err := a.desiredAlertmanagerConfig()
	if err != nil {
		return err
	}
	api, err := o.apiClient(a, envAlertmanagerToken, secrets)
	if err != nil {
		return err
	}
	client, err := amconfig.NewClient(api, o.path)
	if err != nil {
		return usageError("--path: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	fail := func(err error) error {
		return withCode(engineExitCode(err), fmt.Errorf("alertmanager %s: %w", verb, explain(err, "--path", "the API must be enabled with -alertmanager.enable-api")))
	}

	fmt.Fprintf(a.stdout, "alertmanager %s%s, tenant %q\n", api.URL(), client.Path(), o.tenant)
	current, found, err := client.Get(ctx)
	if err != nil {
		return fail(err)
	}
	plan, err := amconfig.NewPlan(current, found, desired, secrets...)
	if err != nil {
		return fail(err)
	}
	switch {
	case !plan.Changed:
		fmt.Fprintln(a.stdout, "configuration unchanged")
		return nil
	case o.dryRun:
		io.WriteString(a.stdout, plan.Diff)
		verb := "updated"
		if !plan.Exists {
			verb = "created"
		}
		fmt.Fprintf(a.stdout, "configuration would be %s (dry run: nothing was written)\n", verb)
		if o.exitCode {
			return withCode(ExitFailure, errSilent)
		}
		return nil
	}
	if err := client.Set(ctx, desired); err != nil {
		return fail(fmt.Errorf("nothing was changed: %w", err))
	}
	if plan.Exists {
		fmt.Fprintln(a.stdout, "configuration updated")
	} else {
		fmt.Fprintln(a.stdout, "configuration created")
	}
	return nil
}
