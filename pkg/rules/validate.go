package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// CheckRuleFile is the diag ID of every finding Validate reports.
const CheckRuleFile = "rule-file"

// Validate parses a rule file the way Prometheus loads it (rulefmt.Parse,
// unknown fields rejected) and returns every problem as a *diag.Error
// naming the file, the line and column when known, and the group and rule
// as a field path. It uses legacy name validation: the UTF-8 names that
// newer Prometheus accepts are rejected by the 2.x servers the generated
// files also target.
func Validate(filename string, data []byte) []error {
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), discard)
	if len(errs) == 0 {
		// The positions serve only to place findings: a file without any,
		// the usual case, is not parsed a second time.
		return nil
	}
	pos := positionsOf(data)
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		// A yaml decoding error lists every bad line in one message: report
		// each on its own, with its line.
		if lines := yamlLines.FindAllStringSubmatch(err.Error(), -1); len(lines) > 0 {
			for _, l := range lines {
				d := &diag.Error{ID: CheckRuleFile, File: filename, Message: l[2]}
				d.Line, _ = strconv.Atoi(l[1])
				out = append(out, d)
			}
			continue
		}
		out = append(out, toDiag(filename, groups, pos, err))
	}
	return out
}

// yamlLines matches the per-line entries of a yaml error.
var yamlLines = regexp.MustCompile(`line (\d+): ([^\n]*)`)

// positions are the line and column of every group and rule of a rule
// file, for the findings rulefmt reports without one.
type positions struct {
	groups [][2]int
	rules  [][][2]int
	names  []string
}

// positionsOf reads the positions of data's groups and rules; a file that
// is not YAML has none.
func positionsOf(data []byte) positions {
	var p positions
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return p
	}
	groups := mappingValue(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return p
	}
	for _, g := range groups.Content {
		p.groups = append(p.groups, [2]int{g.Line, g.Column})
		name := ""
		if n := mappingValue(g, "name"); n != nil {
			name = n.Value
		}
		p.names = append(p.names, name)
		var rs [][2]int
		if rules := mappingValue(g, "rules"); rules != nil && rules.Kind == yaml.SequenceNode {
			for _, r := range rules.Content {
				rs = append(rs, [2]int{r.Line, r.Column})
			}
		}
		p.rules = append(p.rules, rs)
	}
	return p
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// posPrefix matches the "line:col: " (possibly twice) rulefmt puts in front
// of its messages.
var posPrefix = regexp.MustCompile(`^(\d+):(\d+): (?:\d+:\d+: )?`)

// repeatedGroup names the group of rulefmt's duplicate-name finding.
var repeatedGroup = regexp.MustCompile(`^groupname: "(.*)" is repeated`)

// toDiag turns one rulefmt error into a finding. rulefmt keeps the YAML
// node unexported and prints its position in the message, so the position
// is read back from there, or from pos when rulefmt gives none (label
// errors, group errors).
func toDiag(filename string, groups *rulefmt.RuleGroups, pos positions, err error) *diag.Error {
	d := &diag.Error{ID: CheckRuleFile, File: filename}
	msg := err.Error()
	gi, ri := -1, -1
	var re *rulefmt.Error
	if errors.As(err, &re) {
		if groups != nil {
			for i, g := range groups.Groups {
				if g.Name == re.Group {
					gi = i
					break
				}
			}
		}
		ri = re.Rule - 1
		d.Path = fmt.Sprintf("groups[%d] %q.rules[%d] %q", gi, re.Group, ri, re.RuleName)
		msg = re.Err.Error()
	}
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		d.Column, _ = strconv.Atoi(m[2])
		msg = msg[len(m[0]):]
	}
	if m := repeatedGroup.FindStringSubmatch(msg); m != nil {
		// The repeat is the last group of that name.
		for i, name := range pos.names {
			if name == m[1] {
				gi = i
			}
		}
		d.Path = fmt.Sprintf("groups[%d] %q", gi, m[1])
	}
	if d.Line == 0 {
		switch {
		case gi >= 0 && gi < len(pos.rules) && ri >= 0 && ri < len(pos.rules[gi]):
			d.Line, d.Column = pos.rules[gi][ri][0], pos.rules[gi][ri][1]
		case gi >= 0 && gi < len(pos.groups):
			d.Line, d.Column = pos.groups[gi][0], pos.groups[gi][1]
		}
	}
	d.Message = msg
	return d
}
