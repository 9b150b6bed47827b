package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

func init() { commands = append(commands, newValidateCmd) }

type validateOptions struct {
	format string
}

func newValidateCmd(a *app) *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check thresholds, cross-references and the rendered files",
		Long: `validate runs every check of the spec (the embedded default, or it overlaid
with --config) and prints all findings at once, each with a check ID, the
field path and, for a value set in a config file, file:line:col.

It checks that warning thresholds sit below critical ones and info below
warning; that latency thresholds are histogram bucket bounds of the
middleware; that dashboard gauge colours equal the alert thresholds; that
every PromQL expression parses and names only metrics and labels the
middleware exports; that every alert has firing and non-firing tests; that
every severity routes to a receiver and no receiver is unused; that rate
windows cover at least four scrapes; that no secret is inline; and that the
rendered rule file and Alertmanager config load with the real libraries.

Exit status: 0 no findings, 3 findings, 1 the check itself failed.`,
		Example: `  dbmonctl validate
  dbmonctl validate --config dbmonctl.yaml
  dbmonctl validate --config dbmonctl.yaml --format json | jq '.findings[].id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format != "text" && o.format != "json" {
				return usageError("--format must be text or json, got %q", o.format)
			}
			return runValidate(a, o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func runValidate(a *app, o validateOptions) error {
	c, src, err := a.loadConfigSource()
	if err != nil {
		if o.format == "json" {
			var list diag.List
			if asList(err, &list) {
				writeFindingsJSON(a, list)
				return withCode(ExitFindings, errSilent)
			}
		}
		return err
	}
	errs := specs.Validate(c, src)
	if o.format == "json" {
		writeFindingsJSON(a, errs)
	} else {
		for _, e := range errs {
			d := diag.As(e)
			fmt.Fprintf(a.stdout, "%s [%s]\n", d.Error(), d.ID)
		}
		if len(errs) == 0 {
			fmt.Fprintln(a.stdout, "ok: no findings")
		} else {
			fmt.Fprintf(a.stdout, "%d finding(s)\n", len(errs))
		}
	}
	if len(errs) > 0 {
		return withCode(ExitFindings, errSilent)
	}
	return nil
}

func writeFindingsJSON(a *app, errs []error) {
	out := struct {
		Findings []*diag.Error `json:"findings"`
		Count    int           `json:"count"`
	}{Findings: []*diag.Error{}, Count: len(errs)}
	for _, e := range errs {
		out.Findings = append(out.Findings, diag.As(e))
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
