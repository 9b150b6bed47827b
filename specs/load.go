package specs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	goyamlparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// Pos is a position in a user config file.
type Pos struct {
	Line, Column int
}

// Source tells where a Config came from: the file name and the position of
// every field path the file set, so that validation findings about a value
// the user wrote point at the line that wrote it.
type Source struct {
	// File is the config file's name as given by the user; empty for the
	// embedded default.
	File string
	// Positions maps a field path (thresholds.slow_rate.warning.threshold,
	// prometheus.targets[1]) to where the file set it.
	Positions map[string]Pos
	// Data is the file's content, so a finding can be shown with the line
	// it points at.
	Data []byte
}

// Locate fills in File, Line and Column of findings whose Path the file set
// (or whose closest set parent it is), so the user sees file:line:col.
func (s Source) Locate(errs []error) {
	if s.File == "" {
		return
	}
	for _, err := range errs {
		var e *diag.Error
		if !errors.As(err, &e) || e.File != "" {
			continue
		}
		if pos, ok := s.position(e.Path, e.Related); ok {
			e.File, e.Line, e.Column = s.File, pos.Line, pos.Column
		}
	}
}

// position finds where the file set path, or else the first of related it
// set, or else the closest parent of path it set.
func (s Source) position(path string, related []string) (Pos, bool) {
	if pos, ok := s.Positions[path]; ok {
		return pos, true
	}
	for _, r := range related {
		if pos, ok := s.Positions[r]; ok {
			return pos, true
		}
	}
	for p := parentPath(path); p != ""; p = parentPath(p) {
		if pos, ok := s.Positions[p]; ok {
			return pos, true
		}
	}
	return Pos{}, false
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// LoadFile reads a user config file and overlays it on Default().
func LoadFile(path string) (Config, Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, Source{}, fmt.Errorf("read config: %w", err)
	}
	return Load(path, data)
}

// Load parses a user config file's bytes and overlays them on Default().
// Decoding is strict: unknown keys, wrong types, malformed durations and
// duplicate keys are errors. Every problem is reported at once, as a
// diag.List of *diag.Error carrying file, line, column and field path.
func Load(name string, data []byte) (Config, Source, error) {
	cfg := Default()
	src := Source{File: name, Positions: map[string]Pos{}, Data: data}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, src, nil // an empty file keeps every default
		}
		return Config{}, src, diag.List{syntaxError(name, data, err)}
	}
	// A second document is a mistake, not something to ignore silently.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Config{}, src, diag.List{&diag.Error{ID: CheckConfigSyntax, File: name, Line: extra.Line, Column: extra.Column, Message: "more than one YAML document; a config file holds exactly one"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return cfg, src, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, src, nil
	}
	l := &loader{file: name, src: &src, cfg: &cfg}
	l.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	// Blocks merged over a top-level value (a service's thresholds, a
	// team's receivers) are decoded once that value is final, wherever
	// the file sets it.
	for _, f := range l.deferred {
		f()
	}
	if len(l.errs) > 0 {
		return Config{}, src, diag.List(l.errs)
	}
	return cfg, src, nil
}

// Check IDs of the findings about the config file itself.
const (
	CheckConfigSyntax = "config-syntax"
	CheckConfigField  = "config-field"
	CheckConfigEmpty  = "config-empty"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns yaml.v3's syntax error into a finding at the real
// position. yaml.v3 reports the line of the construct that was open (a
// flow sequence, a block mapping), zero-based, and no column; the problem
// is often lines later. A second parser that keeps token positions
// locates it; yaml.v3 stays the judge of what is valid and its message is
// kept.
func syntaxError(file string, data []byte, err error) error {
	msg := err.Error()
	e := &diag.Error{ID: CheckConfigSyntax, File: file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	m := yamlLine.FindStringSubmatch(msg)
	if m != nil {
		e.Message = "invalid YAML: " + m[2]
	}
	if line, col, ok := locateSyntaxError(data); ok {
		e.Line, e.Column = line, col
	} else if m != nil {
		// yaml.v3's line is where the enclosing construct starts: say so
		// rather than point at a line that may be fine.
		e.Line, _ = strconv.Atoi(m[1])
		e.Message += " (in the construct that starts after this line)"
	}
	return e
}

// locateSyntaxError returns the 1-based line and column of the first
// syntax error go-yaml's parser finds in data.
func locateSyntaxError(data []byte) (line, col int, ok bool) {
	_, err := goyamlparser.ParseBytes(data, 0)
	var se *goyaml.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		return 0, 0, false
	}
	return se.Token.Position.Line, se.Token.Position.Column, se.Token.Position.Line > 0
}

type loader struct {
	file     string
	src      *Source
	cfg      *Config
	errs     []error
	deferred []func()
}

// base returns the value a block of type t is merged over: the top-level
// thresholds for a service's, the alertmanager receivers for a team's.
func (l *loader) base(t reflect.Type) (reflect.Value, bool) {
	switch t {
	case thresholdsType:
		th := l.cfg.Thresholds
		th.Buckets = append([]float64(nil), th.Buckets...)
		return reflect.ValueOf(&th).Elem(), true
	case teamType:
		am := l.cfg.Alertmanager
		return reflect.ValueOf(&Team{PagerDuty: am.PagerDuty, Slack: am.Slack, Email: am.Email}).Elem(), true
	}
	return reflect.Value{}, false
}

func (l *loader) fail(n *yaml.Node, path, format string, args ...any) {
	l.errs = append(l.errs, &diag.Error{ID: CheckConfigField, File: l.file, Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

var (
	durationType   = reflect.TypeOf(Duration(0))
	thresholdsType = reflect.TypeOf(Thresholds{})
	teamType       = reflect.TypeOf(Team{})
	// kindNames say what a value should look like, in the user's terms.
	kindNames = map[reflect.Kind]string{
		reflect.String:  "a string",
		reflect.Bool:    "true or false",
		reflect.Float64: "a number",
		reflect.Int:     "an integer",
	}
)

// decode overlays node onto v (which holds the default), recording positions.
func (l *loader) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		l.src.Positions[path] = Pos{n.Line, n.Column}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		l.fail(n, path, "no value given; remove the key to keep the default")
		return
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "!!int" {
			l.fail(n, path, "want a duration such as 30s, 5m or 1h, got %s", describe(n))
			return
		}
		var d Duration
		if err := d.UnmarshalText([]byte(n.Value)); err != nil {
			l.fail(n, path, "invalid duration %q: want a number and a unit (ms, s, m, h, d, w, y), such as 30s or 5m", n.Value)
			return
		}
		v.Set(reflect.ValueOf(d))
	case v.Kind() == reflect.Pointer:
		if _, ok := l.base(v.Type().Elem()); !ok {
			l.fail(n, path, "unsupported field type %s", v.Type())
			return
		}
		l.deferred = append(l.deferred, func() {
			// The base is taken now, once the whole file is decoded, so
			// that the top-level value it copies is the file's wherever
			// the file sets it, not the default.
			base, _ := l.base(v.Type().Elem())
			l.decode(n, base, path)
			p := reflect.New(base.Type())
			p.Elem().Set(base)
			v.Set(p)
		})
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			l.fail(n, path, "want a mapping of names to blocks, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		if len(n.Content) > 0 { // an empty mapping is no entry at all, as in Default()
			v.Set(m)
		} else {
			v.Set(reflect.Zero(v.Type()))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			fpath := joinPath(path, k.Value)
			if seen[k.Value] {
				l.fail(k, fpath, "duplicate key %q", k.Value)
				continue
			}
			seen[k.Value] = true
			_, ok := l.base(v.Type().Elem())
			empty := !ok || val.Kind == yaml.MappingNode && len(val.Content) == 0
			if empty {
				// An empty block stays empty: validation reports a team
				// that names no receiver of its own.
				l.src.Positions[fpath] = Pos{k.Line, k.Column}
			}
			key := k.Value
			l.deferred = append(l.deferred, func() {
				// As for a pointer: the base is the file's final
				// top-level value, taken after the whole file is decoded.
				base := reflect.New(v.Type().Elem()).Elem()
				if !empty {
					base, _ = l.base(v.Type().Elem())
				}
				l.decode(val, base, fpath)
				m.SetMapIndex(reflect.ValueOf(key), base)
			})
		}
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.fail(n, path, "want a mapping of %s, got %s", strings.Join(fieldNames(v.Type()), ", "), describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			fpath := joinPath(path, key)
			if seen[key] {
				l.fail(k, fpath, "duplicate key %q", key)
				continue
			}
			seen[key] = true
			f, ok := fieldByTag(v, key)
			if !ok {
				l.fail(k, fpath, "unknown field %q (want one of: %s)", key, strings.Join(fieldNames(v.Type()), ", "))
				continue
			}
			l.decode(val, f, fpath)
		}
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.fail(n, path, "want a list, got %s", describe(n))
			return
		}
		if len(n.Content) == 0 { // an empty list is no list, as in Default()
			v.Set(reflect.Zero(v.Type()))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			l.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		want := kindNames[v.Kind()]
		if n.Kind != yaml.ScalarNode {
			l.fail(n, path, "want %s, got %s", want, describe(n))
			return
		}
		switch v.Kind() {
		case reflect.String:
			if n.Tag != "!!str" {
				l.fail(n, path, "want a string, got %s %q; quote it", describe(n), n.Value)
				return
			}
			v.SetString(n.Value)
		case reflect.Bool:
			b, err := strconv.ParseBool(n.Value)
			if n.Tag != "!!bool" || err != nil {
				l.fail(n, path, "want true or false, got %q", n.Value)
				return
			}
			v.SetBool(b)
		case reflect.Float64:
			f, err := strconv.ParseFloat(n.Value, 64)
			if (n.Tag != "!!float" && n.Tag != "!!int") || err != nil {
				l.fail(n, path, "want a number, got %q", n.Value)
				return
			}
			v.SetFloat(f)
		case reflect.Int:
			i, err := strconv.Atoi(n.Value)
			if n.Tag != "!!int" || err != nil {
				l.fail(n, path, "want an integer, got %q", n.Value)
				return
			}
			v.SetInt(int64(i))
		default:
			l.fail(n, path, "unsupported field type %s", v.Type())
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "nothing"
		}
		return "a " + strings.TrimPrefix(n.Tag, "!!")
	}
	return "an unsupported node"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func fieldByTag(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := yamlName(t.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
