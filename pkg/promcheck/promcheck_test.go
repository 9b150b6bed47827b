package promcheck

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	k := Default("job")
	tests := []struct {
		name, expr string
		want       []string // substrings of problems, in order
		le         []string
	}{
		{"a contract counter with its label is clean", `sum by (job, query_type) (rate(db_queries_total{query_type="SELECT"}[5m]))`, nil, nil},
		{"histogram buckets carry le and report its values", `histogram_quantile(0.99, sum by (le) (rate(db_query_duration_seconds_bucket{le="0.5"}[5m])))`, nil, []string{"0.5"}},
		{"an unknown metric is reported", `rate(db_querys_total[5m])`, []string{`metric "db_querys_total" is not exported`}, nil},
		{"a label the metric lacks is reported", `db_queries_total{db_name="x"}`, []string{`metric "db_queries_total" has no label "db_name"`}, nil},
		{"a grouping label no metric carries is reported", `sum by (table) (db_queries_total)`, []string{`label "table" is not carried`}, nil},
		{"pool metrics carry db_name", `max by (job, db_name) (go_sql_in_use_connections) / on (job, db_name) go_sql_max_open_connections`, nil, nil},
		{"a parse error is reported", `sum(`, []string{"PromQL does not parse"}, nil},
		{"the histogram family name itself is not a series", `db_query_duration_seconds`, []string{`metric "db_query_duration_seconds" is not exported`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			use, problems := k.Check(tt.expr)
			if len(problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %d matching %q", problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
				}
			}
			if strings.Join(use.LE, ",") != strings.Join(tt.le, ",") {
				t.Errorf("le = %q, want %q", use.LE, tt.le)
			}
		})
	}
}

func TestSubstituteGrafanaVars(t *testing.T) {
	got := SubstituteGrafanaVars(`sum(rate(db_queries_total{job=~"$job",query_type=~"${query_type}"}[$__rate_interval]))`, "5m")
	want := `sum(rate(db_queries_total{job=~".*",query_type=~".*"}[5m]))`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if _, problems := Default().Check(got); len(problems) != 0 {
		t.Fatal(problems)
	}
}
