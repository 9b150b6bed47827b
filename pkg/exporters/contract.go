package exporters

import (
	"fmt"
	"slices"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// Type is the TYPE an exporter writes for a metric family in the text
// exposition format.
type Type string

// Exposition types an exporter writes.
const (
	TypeCounter Type = "counter"
	TypeGauge   Type = "gauge"
	// TypeUntyped is what mysqld_exporter writes for every SHOW GLOBAL
	// STATUS and SHOW SLAVE STATUS value it has no special case for.
	TypeUntyped Type = "untyped"
)

// Need is a condition, beyond the exporter's run settings, without which
// a metric is absent from the scrape.
type Need string

// Conditions a metric can depend on.
const (
	// NeedQueryFile: the metric comes from the custom queries file passed
	// with the exporter's query-path flag (see Run.Flags).
	NeedQueryFile Need = "the custom queries file"
	// NeedUserTable: the metric has one series per user table of the
	// database named in the data source, and none while it has no table.
	NeedUserTable Need = "a user table in the data source's database"
	// NeedReplica: the server must be a replica; a primary exports no
	// series, and a replica whose SQL thread is stopped exports none either.
	NeedReplica Need = "a replica"
	// NeedMariaDB105: the server variable exists in MariaDB 10.5 and later,
	// not in MySQL.
	NeedMariaDB105 Need = "MariaDB 10.5 or later"
)

// Metric is one metric family a server pack may use.
type Metric struct {
	// MetricDesc is the family as promcheck sees it. Kind is what the
	// value means: when the exporter writes untyped, Kind is the kind the
	// database's documentation gives the underlying value (a cumulative
	// status variable is a counter and takes rate(); a current value is a
	// gauge); otherwise Kind equals Exposed. Labels are the label names
	// the exporter puts on every series, sorted.
	middleware.MetricDesc
	// Exposed is the TYPE the exporter writes for the family.
	Exposed Type
	// Needs lists the conditions beyond Run without which the family is
	// absent. Empty: present on every scrape of a running exporter.
	Needs []Need
	// Source names where the exporter's code or documentation says the
	// family exists, for a family that no scrape under testdata/ holds
	// (neither a primary's nor a replica's). Empty when the family was
	// scraped.
	Source string
}

// Setting is one flag or environment variable an exporter must run with.
type Setting struct {
	// Name is the flag (with its dashes) or the environment variable.
	Name string
	// Value is the value to give it; for a data source, its shape.
	Value string
	// Why says which metrics need it.
	Why string
}

// Run is how an exporter must be run for the contract's metrics to exist.
type Run struct {
	// Env are environment variables the exporter reads.
	Env []Setting
	// Flags are command-line flags, in the form --name=value (or --name for
	// a switch).
	Flags []Setting
}

// Args returns the flags as command-line arguments.
func (r Run) Args() []string {
	args := make([]string, 0, len(r.Flags))
	for _, f := range r.Flags {
		if f.Value == "" {
			args = append(args, f.Name)
			continue
		}
		args = append(args, f.Name+"="+f.Value)
	}
	return args
}

// Contract is the external metric contract of one exporter.
type Contract struct {
	// Pack is the server pack's name (postgresql, mysql).
	Pack string
	// Exporter is the exporter's name as its build-info metric spells it.
	Exporter string
	// Server names the database servers the contract was verified against.
	Server string
	// Versions are the supported exporter versions, oldest first; each has
	// a scraped family list under testdata/.
	Versions []string
	// BuildInfo is the family whose version label carries the exporter's
	// version.
	BuildInfo string
	// Up is the family that is 1 when the exporter reached the database.
	Up string
	// Run is how the exporter must be run.
	Run Run
	// Metrics are the families a server pack may use, sorted by name.
	Metrics []Metric
}

// Descs returns the contract's metrics as middleware.MetricDesc values, for
// promcheck.FromContract:
//
//	promcheck.FromContract(append(middleware.Contract(), exporters.PostgreSQL.Descs()...), "job")
func (c Contract) Descs() []middleware.MetricDesc {
	d := make([]middleware.MetricDesc, len(c.Metrics))
	for i, m := range c.Metrics {
		d[i] = m.MetricDesc
	}
	return d
}

// Metric returns the contract's metric called name.
func (c Contract) Metric(name string) (Metric, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Supports reports whether version is a supported exporter version.
func (c Contract) Supports(version string) bool {
	return slices.Contains(c.Versions, version)
}

// Check compares a scraped family list with the contract and returns one
// error per contract metric that is absent, of another exposition type, or
// with other label names. Metrics whose Needs contain any of absent are
// expected to be missing and are not reported when they are.
func (c Contract) Check(fams []Family, absent ...Need) []error {
	byName := map[string]Family{}
	for _, f := range fams {
		byName[f.Name] = f
	}
	var errs []error
	for _, m := range c.Metrics {
		f, ok := byName[m.Name]
		if !ok {
			if !m.needsAny(absent) {
				errs = append(errs, fmt.Errorf("%s: %s is not exported", c.Exporter, m.Name))
			}
			continue
		}
		if f.Type != m.Exposed {
			errs = append(errs, fmt.Errorf("%s: %s is exported as %s, the contract says %s", c.Exporter, m.Name, f.Type, m.Exposed))
		}
		if !slices.Equal(f.Labels, m.Labels) {
			errs = append(errs, fmt.Errorf("%s: %s has labels %v, the contract says %v", c.Exporter, m.Name, f.Labels, m.Labels))
		}
	}
	return errs
}

func (m Metric) needsAny(ns []Need) bool {
	for _, n := range ns {
		if slices.Contains(m.Needs, n) {
			return true
		}
	}
	return false
}

// Contracts returns every exporter contract, in a stable order.
func Contracts() []Contract {
	return []Contract{PostgreSQL, MySQL}
}
