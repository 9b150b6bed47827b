package rules

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dbmonctl/dbmonctl/internal/diag"
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
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		// A yaml decoding error lists every bad line in one message: report
		// each on its own so that each has its position.
		if lines := yamlLines.FindAllString(err.Error(), -1); len(lines) > 1 {
			for _, l := range lines {
				out = append(out, toDiag(filename, groups, errors.New(l)))
			}
			continue
		}
		out = append(out, toDiag(filename, groups, err))
	}
	return out
}

// yamlLines matches the per-line entries of a yaml "unmarshal errors" list.
var yamlLines = regexp.MustCompile(`line \d+: [^\n]*`)

// posPrefix matches the "line:col: " (possibly twice) rulefmt puts in front
// of its messages.
var posPrefix = regexp.MustCompile(`^(\d+):(\d+): (?:\d+:\d+: )?`)

// yamlLine matches the "line N: " of yaml decoding errors.
var yamlLine = regexp.MustCompile(`line (\d+): `)

// toDiag turns one rulefmt error into a finding. rulefmt keeps the YAML
// node unexported and only prints its position, so the position is read
// back from the message.
func toDiag(filename string, groups *rulefmt.RuleGroups, err error) *diag.Error {
	d := &diag.Error{ID: CheckRuleFile, File: filename}
	msg := err.Error()
	var re *rulefmt.Error
	if errors.As(err, &re) {
		gi := -1
		if groups != nil {
			for i, g := range groups.Groups {
				if g.Name == re.Group {
					gi = i
					break
				}
			}
		}
		d.Path = fmt.Sprintf("groups[%d] %q.rules[%d] %q", gi, re.Group, re.Rule-1, re.RuleName)
		msg = re.Err.Error()
	}
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		d.Column, _ = strconv.Atoi(m[2])
		msg = msg[len(m[0]):]
	} else if m := yamlLine.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
	}
	d.Message = msg
	return d
}
