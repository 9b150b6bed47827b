package exporters

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/promcheck"
)

// TestContractsAgainstScrapes checks every contract against the scraped
// family list of every supported version, without running anything.
func TestContractsAgainstScrapes(t *testing.T) {
	for _, c := range Contracts() {
		t.Run(c.Exporter, func(t *testing.T) {
			if len(c.Versions) == 0 {
				t.Fatal("no supported version")
			}
			if !slices.IsSortedFunc(c.Metrics, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) }) {
				t.Error("metrics are not sorted by name")
			}
			seen := map[string]bool{}
			for _, m := range c.Metrics {
				if seen[m.Name] {
					t.Errorf("%s declared twice", m.Name)
				}
				seen[m.Name] = true
				if !slices.IsSorted(m.Labels) {
					t.Errorf("%s: labels %v are not sorted", m.Name, m.Labels)
				}
				if m.Help == "" {
					t.Errorf("%s: no help", m.Name)
				}
				switch {
				case m.Exposed == TypeUntyped && m.Kind != middleware.KindCounter && m.Kind != middleware.KindGauge:
					t.Errorf("%s: untyped must be read as a counter or a gauge, not %q", m.Name, m.Kind)
				case m.Exposed != TypeUntyped && Type(m.Kind) != m.Exposed:
					t.Errorf("%s: kind %s but exported as %s", m.Name, m.Kind, m.Exposed)
				}
			}
			for _, v := range c.Versions {
				fams, err := readTestdata(c, v)
				if err != nil {
					t.Fatalf("supported version %s: %v", v, err)
				}
				for _, err := range c.Check(fams, NeedReplica) {
					t.Errorf("%s: %v", v, err)
				}
				// A replica exports every metric, those that need one too.
				replica, err := readReplicaTestdata(c, v)
				if err != nil {
					t.Fatalf("supported version %s: %v", v, err)
				}
				for _, err := range c.Check(replica) {
					t.Errorf("%s on a replica: %v", v, err)
				}
				scraped := map[string]bool{}
				for _, f := range slices.Concat(fams, replica) {
					scraped[f.Name] = true
				}
				for _, m := range c.Metrics {
					switch {
					case scraped[m.Name] && m.Source != "":
						t.Errorf("%s %s: %s was scraped; drop its Source", c.Exporter, v, m.Name)
					case !scraped[m.Name] && m.Source == "":
						t.Errorf("%s %s: %s is not in the scrape and names no Source", c.Exporter, v, m.Name)
					}
				}
			}
		})
	}
}

func TestCheckReportsDifferences(t *testing.T) {
	c := Contract{Exporter: "x", Metrics: []Metric{
		{MetricDesc: middleware.MetricDesc{Name: "a", Kind: middleware.KindGauge, Labels: []string{"l"}}, Exposed: TypeGauge},
		{MetricDesc: middleware.MetricDesc{Name: "b", Kind: middleware.KindCounter}, Exposed: TypeUntyped},
		{MetricDesc: middleware.MetricDesc{Name: "r", Kind: middleware.KindGauge}, Exposed: TypeUntyped, Needs: []Need{NeedReplica}},
	}}
	tests := []struct {
		name   string
		fams   []Family
		absent []Need
		want   []string
	}{
		{"a matching scrape is clean", []Family{{"a", TypeGauge, []string{"l"}}, {"b", TypeUntyped, nil}}, []Need{NeedReplica}, nil},
		{"a missing metric is reported unless its need is absent", []Family{{"a", TypeGauge, []string{"l"}}}, nil, []string{"b is not exported", "r is not exported"}},
		{"another type is reported", []Family{{"a", TypeCounter, []string{"l"}}, {"b", TypeUntyped, nil}}, []Need{NeedReplica}, []string{"a is exported as counter, the contract says gauge"}},
		{"other labels are reported", []Family{{"a", TypeGauge, []string{"l", "m"}}, {"b", TypeUntyped, nil}}, []Need{NeedReplica}, []string{"a has labels [l m], the contract says [l]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := c.Check(tt.fams, tt.absent...)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d errors containing %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFamilyListRoundTrip(t *testing.T) {
	for _, c := range Contracts() {
		for _, path := range slices.Concat(versionPaths(c, testdataPath), versionPaths(c, replicaTestdataPath)) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fams, err := ReadFamilies(strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			var header []string
			for _, line := range strings.Split(string(b), "\n") {
				if h, ok := strings.CutPrefix(line, "# "); ok {
					header = append(header, h)
				}
			}
			if err := WriteFamilies(&out, header, fams); err != nil {
				t.Fatal(err)
			}
			if out.String() != string(b) {
				t.Errorf("%s does not round-trip", path)
			}
		}
	}
}

// replicaTestdataPath is the scraped family list of an exporter run
// against a replica, written by the replication drill (e2e, go test -tags
// e2e ./e2e -run TestReplicationDrill -update): the live tests here scrape
// the local servers, which are primaries.
func replicaTestdataPath(c Contract, version string) string {
	return filepath.Join("testdata", c.Exporter+"-"+version+"-replica.txt")
}

func readReplicaTestdata(c Contract, version string) ([]Family, error) {
	f, err := os.Open(replicaTestdataPath(c, version))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fams, err := ReadFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", replicaTestdataPath(c, version), err)
	}
	return fams, nil
}

// versionPaths returns path(c, v) for each supported version v.
func versionPaths(c Contract, path func(Contract, string) string) []string {
	var ps []string
	for _, v := range c.Versions {
		ps = append(ps, path(c, v))
	}
	return ps
}

func TestReadFamiliesErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"one field", "pg_up\n", "line 1: want"},
		{"unknown type", "# c\npg_up gaug\n", "line 2: unknown type \"gaug\""},
		{"unsorted labels", "pg_locks_count gauge mode,datname\n", "line 1: labels of pg_locks_count are not sorted"},
		{"too many fields", "a gauge l m\n", "line 1: want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFamilies(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseScrape(t *testing.T) {
	in := `# TYPE b untyped
b 1
# TYPE a gauge
a{y="1",x="2"} 1
a{z="3"} 2
# TYPE empty counter
`
	fams, err := ParseScrape(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, f.String())
	}
	want := []string{"a gauge x,y,z", "b untyped"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := ParseScrape(strings.NewReader("a{ 1\n")); err == nil {
		t.Fatal("a broken scrape parsed")
	}
}

// TestPromcheck shows that a server pack's queries are checked against the
// exporters' contracts as the middleware's are.
func TestPromcheck(t *testing.T) {
	descs := middleware.Contract()
	for _, c := range Contracts() {
		descs = append(descs, c.Descs()...)
	}
	k := promcheck.FromContract(descs, "job")
	tests := []struct {
		name, expr string
		want       string // substring of the first problem; empty: clean
	}{
		{"deadlock rate by database", `sum by (datname) (rate(pg_stat_database_deadlocks[5m])) > 0`, ""},
		{"cache hit ratio", `sum by (datname) (rate(pg_stat_database_blks_hit[5m])) / (sum by (datname) (rate(pg_stat_database_blks_hit[5m])) + sum by (datname) (rate(pg_stat_database_blks_read[5m])))`, ""},
		{"connections used vs max", `sum by (instance) (pg_stat_activity_count) / on (instance) group_left max by (instance) (pg_settings_max_connections)`, ""},
		{"dead tuples by table", `topk(10, pg_stat_user_tables_n_dead_tup{schemaname="public"})`, ""},
		{"mysql deadlocks, untyped read as a counter", `rate(mysql_global_status_innodb_deadlocks[5m]) > 0`, ""},
		{"mysql replica lag by connection", `max by (connection_name) (mysql_slave_status_seconds_behind_master) > 30`, ""},
		{"mixed with the middleware's metrics", `sum(rate(db_queries_total[5m])) and on () sum(pg_up) > 0`, ""},
		{"an unexported metric fails", `rate(pg_stat_database_deadlock[5m])`, `metric "pg_stat_database_deadlock" is not exported`},
		{"a metric of a newer exporter fails", `pg_stat_database_active_time_seconds_total`, `is not exported`},
		{"a label the exporter does not put fails", `pg_locks_count{relname="t"}`, `metric "pg_locks_count" has no label "relname"`},
		{"mysql has no server label", `mysql_up{server="x"}`, `has no label "server"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := k.Check(tt.expr)
			if tt.want == "" {
				if len(problems) > 0 {
					t.Fatalf("problems: %q", problems)
				}
				return
			}
			if len(problems) == 0 || !strings.Contains(problems[0], tt.want) {
				t.Fatalf("problems %q, want the first to contain %q", problems, tt.want)
			}
		})
	}
}
