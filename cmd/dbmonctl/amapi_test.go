package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/cortextest"
)

// TestAlertmanagerPushLeavesNoSecretOnDisk pushes and diffs with a working
// directory, HOME and TMPDIR of their own and checks that no file under
// them, and no output, holds a secret: the secrets only travel in the
// request body.
func TestAlertmanagerPushLeavesNoSecretOnDisk(t *testing.T) {
	fastEngineRetry(t)
	srv := cortextest.New(engineToken)
	defer srv.Close()
	root := t.TempDir()
	for _, d := range []string{"work", "home", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(filepath.Join(root, "work"))
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("TMPDIR", filepath.Join(root, "tmp"))

	secrets := map[string]string{
		"PAGERDUTY_SERVICE_KEY": "pd-disk-s3cr3t",
		"SLACK_WEBHOOK_URL":     "https://hooks.example.com/T0/B0/slack-disk-s3cr3t",
		"SMTP_PASSWORD":         "smtp-disk-s3cr3t",
	}
	env := map[string]string{envAlertmanagerToken: engineToken}
	for k, v := range secrets {
		env[k] = v
	}
	var outputs []string
	for _, args := range [][]string{
		{"alertmanager", "diff", "--address", srv.URL, "--tenant", "t1"},
		{"alertmanager", "push", "--address", srv.URL, "--tenant", "t1", "--verbose"},
		{"alertmanager", "push", "--address", srv.URL, "--tenant", "t1", "--dry-run"},
	} {
		out, errOut, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		outputs = append(outputs, out, errOut)
	}
	if cfg, _, ok := srv.AlertmanagerConfig("t1"); !ok || !strings.Contains(cfg, secrets["SMTP_PASSWORD"]) {
		t.Fatalf("the server did not get the inline secret")
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for name, v := range secrets {
			if strings.Contains(string(b), v) {
				t.Errorf("%s holds %s", p, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outputs {
		for name, v := range secrets {
			if strings.Contains(o, v) {
				t.Errorf("output shows %s:\n%s", name, o)
			}
		}
	}
}
