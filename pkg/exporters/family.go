package exporters

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Family is one metric family of a scrape, without its values: the name,
// the TYPE and the union of the label names of its series, sorted.
type Family struct {
	Name   string
	Type   Type
	Labels []string
}

// String renders the family as one line of a family list:
// "name type label,label".
func (f Family) String() string {
	s := f.Name + " " + string(f.Type)
	if len(f.Labels) > 0 {
		s += " " + strings.Join(f.Labels, ",")
	}
	return s
}

// ParseScrape reads a scrape in the Prometheus text format and returns its
// families sorted by name. Families without a series are dropped: the text
// format does not write them either.
func ParseScrape(r io.Reader) ([]Family, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse scrape: %w", err)
	}
	fams := make([]Family, 0, len(mfs))
	for name, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		ls := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				ls[lp.GetName()] = true
			}
		}
		labels := make([]string, 0, len(ls))
		for l := range ls {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		fams = append(fams, Family{Name: name, Type: typeOf(mf.GetType()), Labels: labels})
	}
	sortFamilies(fams)
	return fams, nil
}

func typeOf(t dto.MetricType) Type {
	switch t {
	case dto.MetricType_COUNTER:
		return TypeCounter
	case dto.MetricType_GAUGE:
		return TypeGauge
	case dto.MetricType_UNTYPED:
		return TypeUntyped
	default:
		return Type(strings.ToLower(t.String()))
	}
}

func sortFamilies(fams []Family) {
	slices.SortFunc(fams, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
}

// WriteFamilies writes a family list: each line of header as a "# "
// comment, then one family per line (see Family.String).
func WriteFamilies(w io.Writer, header []string, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, h := range header {
		fmt.Fprintf(bw, "# %s\n", h)
	}
	for _, f := range fams {
		fmt.Fprintln(bw, f.String())
	}
	return bw.Flush()
}

// ReadFamilies reads a family list written by WriteFamilies. Comment and
// blank lines are skipped; errors name the line.
func ReadFamilies(r io.Reader) ([]Family, error) {
	var fams []Family
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("line %d: want \"name type [label,label]\", got %q", n, line)
		}
		f := Family{Name: fields[0], Type: Type(fields[1])}
		switch f.Type {
		case TypeCounter, TypeGauge, TypeUntyped, "summary", "histogram", "gauge_histogram":
		default:
			return nil, fmt.Errorf("line %d: unknown type %q", n, fields[1])
		}
		if len(fields) == 3 {
			f.Labels = strings.Split(fields[2], ",")
			if !slices.IsSorted(f.Labels) {
				return nil, fmt.Errorf("line %d: labels of %s are not sorted", n, f.Name)
			}
		}
		fams = append(fams, f)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return fams, nil
}
