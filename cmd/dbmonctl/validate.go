package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

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
			return runValidate(a, o)
		},
	}
	cmd.Flags().Var(newEnumFlag(&o.format, "text", "text", "json"), "format", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runValidate(a *app, o validateOptions) error {
	c, src, err := a.loadConfig()
	var errs []error
	var list diag.List
	switch {
	case err == nil:
		errs = specs.Validate(c, src)
	case asList(err, &list):
		errs = list
	default:
		return err
	}
	var n int
	if o.format == "json" {
		n = writeFindingsJSON(a, errs)
	} else {
		n = printFindings(a.stdout, errs, src)
		switch warnings := len(errs) - n; {
		case len(errs) == 0:
			fmt.Fprintln(a.stdout, "ok: no findings")
		case n == 0:
			fmt.Fprintf(a.stdout, "ok: %d warning(s), no errors\n", warnings)
		case warnings > 0:
			fmt.Fprintf(a.stdout, "%d finding(s), %d warning(s)\n", n, warnings)
		default:
			fmt.Fprintf(a.stdout, "%d finding(s)\n", n)
		}
	}
	if n > 0 {
		return withCode(ExitFindings, errSilent)
	}
	return nil
}

// writeFindingsJSON writes every finding (warnings included, each with its
// severity) and returns the number of errors among them.
func writeFindingsJSON(a *app, errs []error) int {
	out := struct {
		Findings []*diag.Error `json:"findings"`
		Count    int           `json:"count"`
		Errors   int           `json:"errors"`
		Warnings int           `json:"warnings"`
	}{Findings: []*diag.Error{}, Count: len(errs)}
	for _, e := range errs {
		d := *diag.As(e)
		if d.Severity == "" {
			d.Severity = diag.SeverityError
		}
		if d.Severity == diag.SeverityWarning {
			out.Warnings++
		} else {
			out.Errors++
		}
		out.Findings = append(out.Findings, &d)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return out.Errors
}
