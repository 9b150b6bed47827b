package amconfig

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"
)

// The YAML of an Alertmanager configuration is walked alongside
// Alertmanager's own Go types, so "is this value a secret" and "does the
// setting X_file have an inline twin X" are answered by the library that
// loads the configuration, for every receiver type it knows, instead of by
// a list kept here.

// configType is the root of the walk.
var configType = reflect.TypeFor[config.Config]()

// field is one YAML key of a struct, with the Go type of its value.
type field struct {
	typ reflect.Type
}

// fieldsCache holds the YAML keys of each struct type, inline fields
// flattened.
var (
	fieldsMu    sync.Mutex
	fieldsCache = map[reflect.Type]map[string]field{}
)

func fieldsOf(t reflect.Type) map[string]field {
	fieldsMu.Lock()
	defer fieldsMu.Unlock()
	return fieldsLocked(t)
}

func fieldsLocked(t reflect.Type) map[string]field {
	if f, ok := fieldsCache[t]; ok {
		return f
	}
	out := map[string]field{}
	fieldsCache[t] = out // before recursing: types may refer to themselves
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			it := sf.Type
			for it.Kind() == reflect.Pointer {
				it = it.Elem()
			}
			if it.Kind() == reflect.Struct {
				for k, v := range fieldsLocked(it) {
					out[k] = v
				}
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out[name] = field{typ: sf.Type}
	}
	return out
}

// isSecret reports whether values of t are secrets: the secret types of
// prometheus/common and Alertmanager (Secret, SecretURL,
// SecretTemplateURL) all have names starting with "Secret".
func isSecret(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.Name(), "Secret") && strings.HasPrefix(t.PkgPath(), "github.com/prometheus/")
}

// visitor is called for each mapping entry of a struct the walk knows.
// parent is the mapping node, i the index of the key node in its
// Content, path the entry's field path, fields the struct's keys.
type visitor func(parent *yaml.Node, i int, path string, fields map[string]field)

// secretVisitor is called for each scalar holding a secret.
type secretVisitor func(n *yaml.Node, path string)

// walk visits n, a value of Go type t at field path path.
func walk(n *yaml.Node, t reflect.Type, path string, onEntry visitor, onSecret secretVisitor) {
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walk(c, t, path, onEntry, onSecret)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		return // anchors are not followed: the anchored value is walked where it is defined
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isSecret(t) {
		if n.Kind == yaml.ScalarNode && onSecret != nil {
			onSecret(n, path)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := fieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := joinPath(path, key)
			if onEntry != nil {
				onEntry(n, i, p, fields)
			}
			// The visitor may have renamed the key.
			if f, ok := fields[n.Content[i].Value]; ok {
				walk(n.Content[i+1], f.typ, joinPath(path, n.Content[i].Value), onEntry, onSecret)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			walk(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", onEntry, onSecret)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), onEntry, onSecret)
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
