package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
	"github.com/dbmonctl/dbmonctl/specs"
)

// defaultConfigFile is the file init writes and every command reads when
// neither --config nor $DBMONCTL_CONFIG names one.
const defaultConfigFile = "dbmonctl.yaml"

// Where the config in use came from.
const (
	configFromFlag      = "flag"
	configFromEnv       = "env"
	configFromDiscovery = "discovery"
)

// resolveConfig decides which config file the command uses: --config, else
// $DBMONCTL_CONFIG, else ./dbmonctl.yaml when it exists, else the embedded
// default spec (a.configPath stays empty). Unless the user named the file
// with --config, it says on stderr which config is in use, so that nobody
// generates from the defaults while believing their file was read.
func (a *app) resolveConfig(flagSet bool) error {
	switch {
	case flagSet:
		a.configFrom = configFromFlag
		return nil
	case a.getenv("DBMONCTL_CONFIG") != "":
		a.configPath, a.configFrom = a.getenv("DBMONCTL_CONFIG"), configFromEnv
		return nil
	}
	_, err := os.Stat(defaultConfigFile)
	switch {
	case err == nil:
		a.configPath, a.configFrom = defaultConfigFile, configFromDiscovery
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("look for ./%s: %w", defaultConfigFile, err)
	}
	return nil
}

// announceConfig tells the user which config a command is about to use
// when they did not name it themselves.
func (a *app) announceConfig() {
	switch a.configFrom {
	case configFromEnv:
		fmt.Fprintf(a.stderr, "using config %s (from $DBMONCTL_CONFIG)\n", a.configPath)
	case configFromDiscovery:
		fmt.Fprintf(a.stderr, "using config ./%s (found in the current directory; --config names another)\n", a.configPath)
	case "":
		fmt.Fprintf(a.stderr, "using the embedded default spec (no --config, no $DBMONCTL_CONFIG, no ./%s)\n", defaultConfigFile)
	}
}

// loadConfig returns the embedded default spec, overlaid with the user's
// config file when there is one, and where each value came from, so later
// findings can point at file:line:col. Findings in the file (syntax,
// unknown keys, wrong types) are printed to w and returned with
// ExitFindings.
func (a *app) loadConfig() (specs.Config, specs.Source, error) {
	a.announceConfig()
	if a.configPath == "" {
		return specs.Default(), specs.Source{}, nil
	}
	a.log.Debug("loading config", "file", a.configPath)
	c, src, err := specs.LoadFile(a.configPath)
	if err != nil {
		var list diag.List
		if errors.As(err, &list) {
			return c, src, &findingsError{errs: list, src: src}
		}
		return c, src, err
	}
	return c, src, nil
}

// findingsError carries the findings that stopped a command; the command
// decides where they are printed (validate: stdout, the rest: stderr).
type findingsError struct {
	errs []error
	src  specs.Source
}

func (e *findingsError) Error() string { return diag.List(e.errs).Error() }

// hint returns a dbmonctl command line to suggest after a failure: the
// subcommand, the --config flag when the user gave one, then args, so that
// copying it runs on the same config and output again.
func (a *app) hint(sub string, args ...string) string {
	parts := []string{"dbmonctl", sub}
	if a.configFrom == configFromFlag {
		parts = append(parts, "--config", shellQuote(a.configPath))
	}
	for _, arg := range args {
		parts = append(parts, shellQuote(arg))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
