package specs

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:generate go run ./internal/configdoc/gen

// The doc comments on the Config fields are the documentation of the user
// config file; go generate copies them into fieldDocs (configdoc_gen.go),
// so dbmonctl init writes them without a second copy that could drift, and
// a test fails when config.go changed without go generate.

var levelType = reflect.TypeOf(Level{})

// header opens the file `dbmonctl init` writes.
const header = `dbmonctl configuration. Every key below holds its default; delete the
ones you do not change, so that new defaults reach you on upgrade.
Durations use Prometheus notation (30s, 5m, 1h); shares are 0-1 (0.05 = 5 %);
latencies are seconds. A level has a threshold (in the signal's unit) and a
"for" (how long the condition must hold before the alert fires).
Check a change with: dbmonctl validate --config FILE`

// DefaultYAML returns the embedded default spec as a commented YAML config
// file: every field, its default value and its documentation.
func DefaultYAML() ([]byte, error) {
	root, err := commentedNode(reflect.ValueOf(Default()))
	if err != nil {
		return nil, err
	}
	root.HeadComment = header
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode default config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode default config: %w", err)
	}
	return []byte(b.String()), nil
}

// commentedNode encodes a struct as a mapping whose keys carry the fields'
// doc comments; leaves are encoded by yaml.v3 itself.
func commentedNode(v reflect.Value) (*yaml.Node, error) {
	if v.Kind() != reflect.Struct || v.Type() == durationType {
		n := &yaml.Node{}
		if err := n.Encode(v.Interface()); err != nil {
			return nil, err
		}
		if n.Kind == yaml.SequenceNode {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	docs := fieldDocs
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if name == "" || name == "-" {
			continue
		}
		if strings.Contains(t.Field(i).Tag.Get("yaml"), ",omitempty") && v.Field(i).IsZero() {
			continue // inline-secret fields: never suggest them
		}
		val, err := commentedNode(v.Field(i))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: name}
		if t != levelType { // a level's two fields are explained once, in the header
			key.HeadComment = docs[t.Name()+"."+t.Field(i).Name]
		}
		m.Content = append(m.Content, key, val)
	}
	return m, nil
}
