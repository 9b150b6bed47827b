package middleware_test

import (
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

func ExampleClassify() {
	for _, q := range []string{
		"select * from t",
		"-- report\n(SELECT 1) UNION (SELECT 2)",
		"WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone",
		"INSERT INTO t VALUES (1)",
		"CREATE INDEX i ON t (a)",
	} {
		fmt.Println(middleware.Classify(q))
	}
	// Output:
	// SELECT
	// SELECT
	// SELECT
	// INSERT
	// OTHER
}
