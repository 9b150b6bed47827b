package target

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// renderManifest writes a Kubernetes object as YAML: the JSON the API
// server would receive (the operator types' json tags, omitempty and all),
// with the field order of the Go types, block style and two-space indent
// like the other rendered files, and multi-line strings (PromQL,
// templates) as literal blocks. header comes first, one comment line each.
func renderManifest(obj any, header string) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	apiVersionFirst(doc.Content[0])
	var b bytes.Buffer
	b.WriteString(header)
	if err := encodeYAML(&b, &doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blockStyle turns JSON's flow style into block style and drops null
// values (a zero metav1.Time marshals as null; null means unset).
// Multi-line strings become literal blocks; a string starting with =, !
// or ~ (a matchType) is double-quoted: a bare = is YAML 1.1's value key,
// which some YAML 1.1 parsers refuse, and ! starts a tag.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		switch {
		case strings.Contains(n.Value, "\n"):
			n.Style = yaml.LiteralStyle
		case n.Value != "" && strings.ContainsRune("=!~", rune(n.Value[0])):
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i+1].Tag == "!!null" {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// apiVersionFirst puts apiVersion before kind, the order of every
// Kubernetes example (metav1.TypeMeta declares kind first).
func apiVersionFirst(n *yaml.Node) {
	if n.Kind != yaml.MappingNode || len(n.Content) < 4 {
		return
	}
	if n.Content[0].Value == "kind" && n.Content[2].Value == "apiVersion" {
		n.Content[0], n.Content[1], n.Content[2], n.Content[3] = n.Content[2], n.Content[3], n.Content[0], n.Content[1]
	}
}

// comment turns lines into YAML comment lines.
func comment(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		fmt.Fprintf(&b, "# %s\n", l)
	}
	return b.String()
}
