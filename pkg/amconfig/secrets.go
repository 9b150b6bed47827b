package amconfig

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Placeholders that stand for secret values in redacted text.
const (
	// Redacted replaces a secret value.
	Redacted = "<secret>"
	// RedactedChanged replaces a desired secret value that differs from
	// the server's value at the same place, so that a diff shows that a
	// secret changes without showing either value.
	RedactedChanged = "<secret (changed)>"
)

// InlineSecrets returns cfg, the YAML of an Alertmanager configuration,
// with every setting `<name>_file: <path>` whose path is a key of values
// replaced by `<name>: <value>` (api_url_file → api_url, routing_key_file
// → routing_key, auth_password_file → auth_password, …). A multi-tenant
// Alertmanager refuses settings that read local files, since its tenants
// have no files on its hosts; this turns a configuration written for a
// plain Alertmanager into one it accepts, in memory.
//
// Only settings whose inline twin holds a secret in Alertmanager's own
// types are replaced. A path with no value is left as is (FileSettings
// lists what remains). The result is re-encoded YAML: comments and order
// are kept, quoting and indentation may change.
func InlineSecrets(cfg []byte, values map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, fmt.Errorf("parse Alertmanager configuration: %w", err)
	}
	var errs []error
	walk(&doc, configType, "", func(parent *yaml.Node, i int, path string, fields map[string]field) {
		k, v := parent.Content[i], parent.Content[i+1]
		name, ok := strings.CutSuffix(k.Value, "_file")
		if !ok || v.Kind != yaml.ScalarNode {
			return
		}
		value, ok := values[v.Value]
		if !ok {
			return
		}
		twin, ok := fields[name]
		if !ok || !isSecret(twin.typ) {
			errs = append(errs, fmt.Errorf("%d:%d: %s: Alertmanager has no inline secret setting %q to hold the file's content", k.Line, k.Column, path, name))
			return
		}
		for j := 0; j+1 < len(parent.Content); j += 2 {
			if parent.Content[j].Value == name {
				errs = append(errs, fmt.Errorf("%d:%d: %s: %s is set too; the two are mutually exclusive", k.Line, k.Column, path, name))
				return
			}
		}
		k.Value = name
		v.Value, v.Tag, v.Style = value, "!!str", yaml.DoubleQuotedStyle
	}, nil)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return encode(&doc)
}

// FileSetting is a setting of a configuration that names a file.
type FileSetting struct {
	// Path is the setting's field path, e.g.
	// receivers[0].email_configs[0].auth_password_file.
	Path string
	// File is the file it names.
	File string
	// Line and Column locate the setting in the YAML text.
	Line, Column int
}

func (f FileSetting) String() string {
	return fmt.Sprintf("%d:%d: %s: %s", f.Line, f.Column, f.Path, f.File)
}

// FileSettings lists the settings of cfg that name files (every key ending
// in _file that Alertmanager's types know, secrets and TLS files alike):
// what a multi-tenant Alertmanager would refuse.
func FileSettings(cfg []byte) ([]FileSetting, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, fmt.Errorf("parse Alertmanager configuration: %w", err)
	}
	var out []FileSetting
	walk(&doc, configType, "", func(parent *yaml.Node, i int, path string, fields map[string]field) {
		k, v := parent.Content[i], parent.Content[i+1]
		if _, known := fields[k.Value]; !known || !strings.HasSuffix(k.Value, "_file") {
			return
		}
		if v.Kind == yaml.ScalarNode && v.Value != "" {
			out = append(out, FileSetting{Path: path, File: v.Value, Line: k.Line, Column: k.Column})
		}
	}, nil)
	return out, nil
}

// Redact returns cfg with the value of every secret setting (as
// Alertmanager's types define them) replaced by Redacted, and every
// occurrence of a literal in secrets too, for values that sit elsewhere
// (a URL in a template, say). cfg that does not parse is an error, never
// echoed.
func Redact(cfg string, secrets ...string) (string, error) {
	return redactText(cfg, func(n *yaml.Node, _ string) { n.Value = Redacted }, secrets)
}

// redactPair redacts current and desired for a diff: a desired secret
// that differs from the current one at the same path becomes
// RedactedChanged, any other Redacted, so the diff shows that a secret
// changes without showing a value. (A secret at a new path shows as an
// added line anyway.)
func redactPair(current, desired string, secrets []string) (string, string, error) {
	curValues := map[string]string{}
	cur, err := redactText(current, func(n *yaml.Node, path string) {
		curValues[path] = n.Value
		n.Value = Redacted
	}, secrets)
	if err != nil {
		return "", "", fmt.Errorf("server configuration: %w", err)
	}
	des, err := redactText(desired, func(n *yaml.Node, path string) {
		if old, ok := curValues[path]; ok && old != n.Value {
			n.Value = RedactedChanged
		} else {
			n.Value = Redacted
		}
	}, secrets)
	if err != nil {
		return "", "", fmt.Errorf("desired configuration: %w", err)
	}
	return cur, des, nil
}

func redactText(text string, onSecret secretVisitor, secrets []string) (string, error) {
	if strings.TrimSpace(text) == "" {
		return "", nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		// The YAML error quotes the offending text, which may be a secret.
		return "", errors.New("not valid YAML; not shown, it may hold secrets")
	}
	walk(&doc, configType, "", nil, func(n *yaml.Node, path string) {
		onSecret(n, path)
		n.Tag, n.Style = "!!str", 0
	})
	b, err := encode(&doc)
	if err != nil {
		return "", err
	}
	out := string(b)
	for _, s := range secrets {
		if len(s) >= 4 {
			out = strings.ReplaceAll(out, s, Redacted)
		}
	}
	return out, nil
}

func encode(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode Alertmanager configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode Alertmanager configuration: %w", err)
	}
	return b.Bytes(), nil
}
