package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Distinctive values, so a leak into any output is unmistakable.
const (
	testPagerDutyKey = "pd-key-7f3a9c"
	testSlackURL     = "https://hooks.slack.test/services/T1/B2/slack-token-5e1d"
	testSMTPPassword = "smtp-pass-2b8e4"
)

func secretEnv(overrides map[string]string) func(string) string {
	env := map[string]string{
		"PAGERDUTY_SERVICE_KEY": testPagerDutyKey,
		"SLACK_WEBHOOK_URL":     testSlackURL,
		"SMTP_PASSWORD":         testSMTPPassword,
		"DBMONCTL_CONFIG":       "",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// runSecretsCmd runs dbmonctl in process and fails the test if any secret
// value appears in stdout or stderr.
func runSecretsCmd(t *testing.T, env func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &out, &errb, env)
	for _, secret := range []string{testPagerDutyKey, testSlackURL, "slack-token-5e1d", testSMTPPassword, "  padded-secret-9d"} {
		if strings.Contains(out.String(), secret) || strings.Contains(errb.String(), secret) {
			t.Errorf("secret %q leaked:\nstdout: %s\nstderr: %s", secret, out.String(), errb.String())
		}
	}
	return code, out.String(), errb.String()
}

func TestSecretsFromEnvWritesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	code, stdout, stderr := runSecretsCmd(t, secretEnv(nil), "secrets", "--from-env", "--dir", dir, "-v")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	for name, want := range map[string]string{
		"pagerduty_routing_key": testPagerDutyKey,
		"slack_webhook_url":     testSlackURL,
		"smtp_password":         testSMTPPassword,
	} {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s holds the wrong value", p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 0600", p, mode)
		}
		if !strings.Contains(stdout, "wrote "+p) {
			t.Errorf("stdout does not report %s:\n%s", p, stdout)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("want exactly the 3 secret files (no temporary leftovers), got %d", len(entries))
	}
}

func TestSecretsRefusesMissingOrEmptyBeforeWriting(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"a missing variable is named", map[string]string{"SMTP_PASSWORD": ""}, []string{"SMTP_PASSWORD is not set or empty"}},
		{"a blank variable counts as empty", map[string]string{"PAGERDUTY_SERVICE_KEY": "  \n"}, []string{"PAGERDUTY_SERVICE_KEY is not set or empty"}},
		{"every missing variable is named at once", map[string]string{"SMTP_PASSWORD": "", "SLACK_WEBHOOK_URL": ""}, []string{"SMTP_PASSWORD", "SLACK_WEBHOOK_URL"}},
		{"a Slack value that is not a URL is refused without printing it", map[string]string{"SLACK_WEBHOOK_URL": "  padded-secret-9d"}, []string{"SLACK_WEBHOOK_URL is not an absolute http(s) URL"}},
		{"a multi-line secret is refused", map[string]string{"SMTP_PASSWORD": "line1\nline2"}, []string{"SMTP_PASSWORD spans several lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "secrets")
			code, _, stderr := runSecretsCmd(t, secretEnv(tc.env), "secrets", "--from-env", "--dir", dir)
			if code != ExitFailure {
				t.Errorf("exit %d, want %d", code, ExitFailure)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "line2") {
				t.Errorf("stderr repeats part of a secret:\n%s", stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a file was written although a variable was refused (stat %s: %v)", dir, err)
			}
		})
	}
}

func TestSecretsNeedsFromEnv(t *testing.T) {
	code, _, stderr := runSecretsCmd(t, secretEnv(nil), "secrets", "--dir", t.TempDir())
	if code != ExitUsage || !strings.Contains(stderr, "--from-env") {
		t.Errorf("exit %d, stderr %q; want usage error naming --from-env", code, stderr)
	}
}

// TestSecretsFollowsConfig writes to the paths a user config names,
// without --dir, and skips the SMTP password when no login is configured.
func TestSecretsFollowsConfig(t *testing.T) {
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "dbmonctl.yaml")
	pd := filepath.Join(tmp, "run", "pd.key")
	slack := filepath.Join(tmp, "run", "slack.url")
	yaml := "alertmanager:\n" +
		"  pagerduty:\n    routing_key_file: " + pd + "\n" +
		"  slack:\n    api_url_file: " + slack + "\n" +
		"  email:\n    auth_username: \"\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runSecretsCmd(t, secretEnv(map[string]string{"SMTP_PASSWORD": ""}), "secrets", "--from-env", "--config", cfg)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	for p, want := range map[string]string{pd: testPagerDutyKey, slack: testSlackURL} {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s: %v, right value: %v", p, err, string(got) == want)
		}
	}
	if strings.Contains(stdout, "SMTP_PASSWORD") {
		t.Errorf("wrote an SMTP password although no login is configured:\n%s", stdout)
	}
}

func TestSecretsHelpHasExamples(t *testing.T) {
	code, stdout, _ := runSecretsCmd(t, secretEnv(nil), "secrets", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"--from-env", "--dir", "DIR/<base name", "0600", "PAGERDUTY_SERVICE_KEY", "Examples:"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("help lacks %q:\n%s", w, stdout)
		}
	}
}

// In a fleet, a team whose block names a key file of its own is filled from
// <VARIABLE>_<TEAM>; a team that inherits the file shares the top-level
// variable. A missing team variable is named, and nothing is written.
func TestSecretsPerTeam(t *testing.T) {
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "dbmonctl.yaml")
	pd := filepath.Join(tmp, "run", "pd.key")
	pdPay := filepath.Join(tmp, "run", "pd-payments.key")
	slack := filepath.Join(tmp, "run", "slack.url")
	yaml := "services:\n" +
		"  - {name: orders, selector: 'job=\"orders\"', team: orders}\n" +
		"  - {name: billing, selector: 'job=\"billing\"', team: payments-eu}\n" +
		"teams:\n" +
		"  orders: {slack: {critical_channel: \"#orders\"}}\n" +
		"  payments-eu: {pagerduty: {routing_key_file: " + pdPay + "}}\n" +
		"alertmanager:\n" +
		"  pagerduty:\n    routing_key_file: " + pd + "\n" +
		"  slack:\n    api_url_file: " + slack + "\n" +
		"  email:\n    auth_username: \"\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	const payKey = "pd-key-payments-41c0"
	code, _, stderr := runSecretsCmd(t, secretEnv(nil), "secrets", "--from-env", "--config", cfg)
	if code == ExitOK || !strings.Contains(stderr, "PAGERDUTY_SERVICE_KEY_PAYMENTS_EU is not set or empty") || !strings.Contains(stderr, "teams.payments-eu.pagerduty.routing_key_file") {
		t.Fatalf("a missing team variable: exit %d, stderr: %s", code, stderr)
	}
	if _, err := os.Stat(pd); !os.IsNotExist(err) {
		t.Fatalf("a file was written although a variable is missing: %v", err)
	}
	code, stdout, stderr := runSecretsCmd(t, secretEnv(map[string]string{"PAGERDUTY_SERVICE_KEY_PAYMENTS_EU": payKey}), "secrets", "--from-env", "--config", cfg)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	for p, want := range map[string]string{pd: testPagerDutyKey, pdPay: payKey, slack: testSlackURL} {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s: %v, right value: %v", p, err, string(got) == want)
		}
	}
	if strings.Contains(stdout, payKey) || !strings.Contains(stdout, "PAGERDUTY_SERVICE_KEY_PAYMENTS_EU") {
		t.Errorf("stdout should name the team variable, never its value:\n%s", stdout)
	}
}
