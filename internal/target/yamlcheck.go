package target

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// CheckUnsupported is the diag ID of a field of a rendered file that a
// target cannot carry over.
const CheckUnsupported = "target-unsupported"

// decodeKnown decodes data into v (a pointer to a struct with yaml tags)
// after checking that every key of every mapping is a field v's type
// knows. Each unknown key is an error at its line and column, with its
// field path, and the message why(path) gives; nothing is decoded then.
func decodeKnown(file string, data []byte, v any, why func(path string) string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: empty document", file)
	}
	var errs []error
	unknownKeys(doc.Content[0], reflect.TypeOf(v), "", func(key *yaml.Node, path string) {
		errs = append(errs, &diag.Error{ID: CheckUnsupported, File: file, Line: key.Line, Column: key.Column, Path: path, Message: why(path)})
	})
	if len(errs) > 0 {
		return diag.Join(errs)
	}
	if err := doc.Content[0].Decode(v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// unknownKeys calls report for every mapping key under n that has no
// field in t, walking n and t together.
func unknownKeys(n *yaml.Node, t reflect.Type, path string, report func(key *yaml.Node, path string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			p := key.Value
			if path != "" {
				p = path + "." + key.Value
			}
			ft, ok := fields[key.Value]
			if !ok {
				report(key, p)
				continue
			}
			unknownKeys(val, ft, p, report)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			unknownKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	}
}
