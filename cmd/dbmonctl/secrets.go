package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/atomicfile"
	"github.com/dbmonctl/dbmonctl/specs"
)

type secretsOptions struct {
	fromEnv bool
	check   bool
	dir     string
}

func newSecretsCmd(a *app) *cobra.Command {
	var o secretsOptions
	cmd := &cobra.Command{
		Use:   "secrets (--from-env | --check) [--dir DIR]",
		Short: "Write the Alertmanager secret files from environment variables, or check them",
		Long: `secrets writes the secrets the generated Alertmanager config reads from files:

  PAGERDUTY_SERVICE_KEY  → alertmanager.pagerduty.routing_key_file
  SLACK_WEBHOOK_URL      → alertmanager.slack.api_url_file
  SMTP_PASSWORD          → alertmanager.email.auth_password_file
                           (only when alertmanager.email.auth_username is set)

In a fleet, a team whose block names a file of its own (teams.<team>.pagerduty.
routing_key_file, …) is filled from the same variable with the team's name
appended in upper case, other characters as _: PAGERDUTY_SERVICE_KEY_PAYMENTS
for team payments. A team that inherits the file uses the top-level variable.

Alertmanager does not read environment variables, and secrets never enter the
generated alertmanager.yml; this command keeps the workflow of exporting them
before starting Alertmanager working.

Each file is written atomically with mode 0600 at the path the config names,
or, with --dir, as DIR/<base name of that path> (mount DIR where the config
expects the files, or point the *_file settings at DIR). Every variable is
checked before any file is written: a missing or empty one fails the command,
naming the variable. Values are never printed or logged; the command reports
only which files it wrote.

With --check it writes nothing: it checks that every secret file the
generated config references (or DIR/<base name>, with --dir) exists, is
readable, holds exactly one non-empty line, and is not readable by others,
and exits 1 naming each file that is not — before a notification fails.`,
		Example: `  # Write the secret files at the paths the config references
  export PAGERDUTY_SERVICE_KEY=… SLACK_WEBHOOK_URL=… SMTP_PASSWORD=…
  sudo -E dbmonctl secrets --from-env

  # Write them into a directory mounted into the Alertmanager container
  dbmonctl secrets --from-env --dir ./secrets --config dbmonctl.yaml

  # Before starting Alertmanager: are the files there and filled?
  dbmonctl secrets --check --dir ./secrets`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.fromEnv == o.check {
				return usageError("secrets needs exactly one of --from-env (write the files) and --check (check them)")
			}
			c, _, err := a.loadConfig()
			if err != nil {
				return a.reportLoadError(err)
			}
			if o.check {
				return runSecretsCheck(a, c, o)
			}
			return runSecrets(a, c, o)
		},
	}
	cmd.Flags().BoolVar(&o.fromEnv, "from-env", false, "read the secrets from PAGERDUTY_SERVICE_KEY, SLACK_WEBHOOK_URL and SMTP_PASSWORD")
	cmd.Flags().BoolVar(&o.check, "check", false, "write nothing; check that every referenced secret file exists and holds one non-empty line")
	cmd.Flags().StringVar(&o.dir, "dir", "", "use DIR/<base name of the configured path> instead of that path")
	return cmd
}

// secretFile is one file to write; value stays out of every message.
type secretFile struct {
	secret specs.Secret
	path   string
	value  string
}

// runSecrets writes the secret files c's Alertmanager config references,
// from the environment. It checks every variable first, so a failure
// leaves disk untouched.
func runSecrets(a *app, c specs.Config, o secretsOptions) error {
	var files []secretFile
	var problems []string
	byPath := map[string]string{}
	for _, s := range specs.Secrets(c) {
		p := secretPath(s, o.dir)
		// Alertmanager 0.25 reads some of these files without trimming, so
		// a newline pasted into the variable would corrupt the key.
		v := strings.TrimSpace(a.getenv(s.Env))
		switch {
		case v == "":
			problems = append(problems, fmt.Sprintf("%s is not set or empty (it fills %s, named by %s)", s.Env, p, s.Setting))
			continue
		case strings.HasPrefix(s.Env, specs.EnvSlackWebhookURL) && !isHTTPURL(v):
			problems = append(problems, fmt.Sprintf("%s is not an absolute http(s) URL", s.Env))
			continue
		case strings.ContainsAny(v, "\r\n"):
			problems = append(problems, fmt.Sprintf("%s spans several lines; a secret file holds one line", s.Env))
			continue
		}
		if other, dup := byPath[p]; dup && other != s.Env {
			problems = append(problems, fmt.Sprintf("%s and %s would both be written to %s: give the *_file settings different base names", other, s.Env, p))
			continue
		}
		byPath[p] = s.Env
		files = append(files, secretFile{secret: s, path: p, value: v})
	}
	if len(problems) > 0 {
		return errors.New("no secret file written:\n  " + strings.Join(problems, "\n  "))
	}
	if len(files) == 0 {
		fmt.Fprintln(a.stdout, "the Alertmanager config references no secret file; nothing to write")
		return nil
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(f.path, []byte(f.value), 0o600); err != nil {
			return fmt.Errorf("write secret %s: %w", f.secret.Env, err)
		}
		if a.log != nil {
			a.log.Debug("wrote secret file", "env", f.secret.Env, "file", f.path)
		}
		fmt.Fprintf(a.stdout, "wrote %s (%s, mode 0600)\n", f.path, f.secret.Env)
	}
	if o.dir != "" {
		fmt.Fprintf(a.stderr, "note: the generated config reads the files at their configured paths (e.g. %s); mount %s there or point the *_file settings at it\n", files[0].secret.File, o.dir)
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// secretPath is where a secret file is read or written: the configured
// path, or DIR/<its base name> with --dir.
func secretPath(s specs.Secret, dir string) string {
	if dir == "" {
		return s.File
	}
	return filepath.Join(dir, filepath.Base(s.File))
}

// runSecretsCheck checks every secret file the Alertmanager config
// references, without printing any content.
func runSecretsCheck(a *app, c specs.Config, o secretsOptions) error {
	secrets := specs.Secrets(c)
	if len(secrets) == 0 {
		fmt.Fprintln(a.stdout, "the Alertmanager config references no secret file; nothing to check")
		return nil
	}
	bad := 0
	for _, s := range secrets {
		p := secretPath(s, o.dir)
		problem := checkSecretFile(p)
		if problem != "" {
			bad++
			fmt.Fprintf(a.stdout, "FAIL %s (%s, named by %s): %s\n", p, s.Env, s.Setting, problem)
			continue
		}
		fmt.Fprintf(a.stdout, "ok   %s (%s)\n", p, s.Env)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d secret file(s) are not ready; write them with %s", bad, len(secrets), a.hint("secrets", secretsFlags(o)...))
	}
	return nil
}

// secretsFlags are the arguments of the secrets --from-env command that
// writes what --check found missing.
func secretsFlags(o secretsOptions) []string {
	if o.dir == "" {
		return []string{"--from-env"}
	}
	return []string{"--from-env", "--dir", o.dir}
}

// checkSecretFile says what is wrong with one secret file, or "".
func checkSecretFile(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err != nil:
		return err.Error()
	case fi.IsDir():
		return "is a directory"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	v := strings.TrimRight(string(b), "\r\n")
	switch {
	case strings.TrimSpace(v) == "":
		return "is empty"
	case strings.ContainsAny(v, "\r\n"):
		return "holds more than one line"
	case fi.Mode().Perm()&0o004 != 0:
		return fmt.Sprintf("is readable by every user (mode %04o); chmod 600 it", fi.Mode().Perm())
	}
	return ""
}
