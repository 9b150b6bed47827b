package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// app is what every command shares: injected streams and environment, so
// tests run commands in process with buffers.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	log    *slog.Logger
	// configPath is the config file in use (see resolveConfig); empty for
	// the embedded default spec. configFrom says how it was chosen.
	configPath string
	configFrom string
	verbose    bool
}

// Run executes the dbmonctl command line and returns its exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	_, err := root.ExecuteContextC(ctx)
	var ee *exitError
	if err != nil && !errors.As(err, &ee) && strings.HasPrefix(err.Error(), "unknown command") {
		err = withCode(ExitUsage, err) // cobra's own usage error
	}
	return exitCode(err, stderr)
}

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "dbmonctl",
		Short: "Monitoring as code for database query performance",
		Long: `dbmonctl compiles one typed definition into a Grafana dashboard, Prometheus
alert rules with unit tests, and an Alertmanager routing tree that all agree
with the metrics the dbmonctl database/sql middleware exports.`,
		Example: `  # Write the monitoring pack for the embedded default spec to generated/
  dbmonctl generate

  # In CI: fail when generated/ is stale, then check and test the pack
  dbmonctl generate --check && dbmonctl validate && dbmonctl test

  # Start from a config file holding every default
  dbmonctl init && dbmonctl generate --config dbmonctl.yaml`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if a.verbose {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			return a.resolveConfig(cmd.Flags().Changed("config"))
		},
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "user config file (YAML) overriding the embedded default spec; also $DBMONCTL_CONFIG")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log debug detail to stderr")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError("%v", err)
	})
	root.AddCommand(
		newInitCmd(a),
		newGenerateCmd(a),
		newValidateCmd(a),
		newTestCmd(a),
		newSecretsCmd(a),
		newPushCmd(a),
		newDemoCmd(a),
		newRulesCmd(a),
		newAlertmanagerCmd(a),
		newVersionCmd(a),
	)
	return root
}

// maxArgs rejects more than n positional arguments with a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError("%s takes at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}
