package alertmanager

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// Load parses data with Alertmanager's own loader (config.Load, the code
// the alertmanager binary runs at start-up) and returns the loaded config
// or every error it reports. Each error is a *diag.Error with ID CheckLoad,
// the YAML line when the loader gives one, and the path of the offending
// element when it can be found: a line's path in the document, or the route
// or receiver that an error message names.
func Load(data []byte) (*config.Config, []error) {
	cfg, err := config.Load(string(data))
	if err == nil {
		return cfg, nil
	}
	var doc yaml.Node
	if yerr := yaml.Unmarshal(data, &doc); yerr != nil {
		doc = yaml.Node{}
	}
	var errs []error
	for _, msg := range splitLoadError(err.Error()) {
		e := &diag.Error{ID: CheckLoad, Message: msg.text}
		if msg.line > 0 {
			e.Line = msg.line
			e.Path = pathAtLine(&doc, msg.line)
		} else {
			e.Path = pathFromMessage(&doc, msg.text)
		}
		errs = append(errs, e)
	}
	return nil, errs
}

type loadMessage struct {
	line int
	text string
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// splitLoadError splits the YAML library's multi-error text ("yaml:
// unmarshal errors:\n  line 3: …\n  line 9: …") into one message a line.
func splitLoadError(s string) []loadMessage {
	var out []loadMessage
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l == "yaml: unmarshal errors:" {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, loadMessage{line: n, text: m[2]})
			continue
		}
		out = append(out, loadMessage{text: l})
	}
	if len(out) == 0 {
		out = append(out, loadMessage{text: s})
	}
	return out
}

// pathAtLine returns the path of the deepest mapping key or sequence item
// that starts on line, e.g. `route.routes[1].receiver`.
func pathAtLine(doc *yaml.Node, line int) string {
	best := ""
	walk(doc, "", func(path string, key, value *yaml.Node) bool {
		if (key != nil && key.Line == line) || value.Line == line {
			best = path
		}
		return value.Line <= line
	})
	return best
}

var quotedRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// pathFromMessage finds the element an error without a line is about:
// loader messages name a receiver (`undefined receiver "x" used in route`,
// `notification config name "x" is not unique`), so the path is the last
// `receiver:` or `name:` holding that name.
func pathFromMessage(doc *yaml.Node, msg string) string {
	m := quotedRE.FindStringSubmatch(msg)
	if m == nil {
		if strings.Contains(msg, "route") {
			return "route"
		}
		return ""
	}
	name, err := strconv.Unquote(`"` + m[1] + `"`)
	if err != nil {
		return ""
	}
	field := "name"
	if strings.Contains(msg, "used in route") {
		field = "receiver"
	}
	found := ""
	walk(doc, "", func(path string, key, value *yaml.Node) bool {
		if key != nil && key.Value == field && value.Kind == yaml.ScalarNode && value.Value == name {
			found = path
		}
		return true
	})
	return found
}

// walk visits every node below n depth first with its path; visit returns
// false to skip a subtree.
func walk(n *yaml.Node, path string, visit func(path string, key, value *yaml.Node) bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walk(c, path, visit)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if visit(p, k, v) {
				walk(v, p, visit)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if visit(p, nil, c) {
				walk(c, p, visit)
			}
		}
	}
}
