package middleware

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  QueryType
	}{
		{"a plain select is SELECT", "SELECT 1", QuerySelect},
		{"keywords match in any case", "sElEcT * FROM t", QuerySelect},
		{"an insert is INSERT", "INSERT INTO t VALUES (1)", QueryInsert},
		{"an update is UPDATE", "update t set a = 1", QueryUpdate},
		{"a delete is DELETE", "DELETE FROM t", QueryDelete},
		{"leading whitespace of every kind is skipped", " \t\r\n\f\vselect 1", QuerySelect},
		{"a leading line comment is skipped", "-- fetch users\nSELECT 1", QuerySelect},
		{"a leading block comment is skipped", "/* app=api */ UPDATE t SET a=1", QueryUpdate},
		{"a multi-line block comment is skipped", "/*\n * header\n */\nDELETE FROM t", QueryDelete},
		{"several comments and spaces are skipped", "-- a\n /* b */ -- c\n\tINSERT INTO t VALUES (1)", QueryInsert},
		{"leading parentheses are skipped", "((SELECT 1)) UNION (SELECT 2)", QuerySelect},
		{"comments between parentheses are skipped", "( /* x */ ( SELECT 1))", QuerySelect},
		{"a keyword followed directly by punctuation counts", "select*from t", QuerySelect},
		{"a keyword at the very end counts", "select", QuerySelect},
		{"a longer word that starts with a keyword is OTHER", "SELECTED 1", QueryOther},
		{"an identifier character after the keyword is OTHER", "select_1", QueryOther},
		{"a dollar after the keyword is part of the word", "select$1", QueryOther},
		{"DDL is OTHER", "CREATE TABLE t (a int)", QueryOther},
		{"SHOW is OTHER", "SHOW TABLES", QueryOther},
		{"EXPLAIN SELECT is OTHER", "EXPLAIN SELECT 1", QueryOther},
		{"REPLACE is OTHER", "REPLACE INTO t VALUES (1)", QueryOther},
		{"an empty statement is OTHER", "", QueryOther},
		{"only whitespace is OTHER", "   \n", QueryOther},
		{"only a comment is OTHER", "-- nothing", QueryOther},
		{"an unterminated block comment is OTHER", "/* SELECT 1", QueryOther},
		{"a line comment ending the text is OTHER", "-- SELECT", QueryOther},
		{"a non-ASCII letter is never a keyword", "ſelect 1", QueryOther},
		{"a keyword preceded by a non-ASCII byte is OTHER", "éSELECT 1", QueryOther},
		{"a single dash is not a comment", "- SELECT 1", QueryOther},
		{"a slash without a star is not a comment", "/ SELECT 1", QueryOther},
		{"WITH … SELECT is SELECT", "WITH t AS (SELECT 1) SELECT * FROM t", QuerySelect},
		{"WITH … INSERT is INSERT", "WITH t AS (SELECT 1 AS a) INSERT INTO u SELECT a FROM t", QueryInsert},
		{"WITH … UPDATE is UPDATE", "with t as (select 1) update u set a = (select * from t)", QueryUpdate},
		{"WITH … DELETE is DELETE", "WITH t AS (SELECT 1) DELETE FROM u WHERE a IN (SELECT * FROM t)", QueryDelete},
		{"a data-modifying CTE does not decide the type", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", QuerySelect},
		{"WITH RECURSIVE is classified by its main statement", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 3) SELECT n FROM r", QuerySelect},
		{"several CTEs are skipped", "WITH a AS (SELECT 1), b AS MATERIALIZED (UPDATE t SET x=1 RETURNING x) DELETE FROM u", QueryDelete},
		{"a CTE with a column list is skipped", "WITH t(a, b) AS (SELECT 1, 2) UPDATE u SET a = 1", QueryUpdate},
		{"a parenthesised main statement is found", "WITH t AS (SELECT 1) (SELECT * FROM t)", QuerySelect},
		{"a string with a parenthesis inside a CTE is skipped", "WITH t AS (SELECT ')' AS p) INSERT INTO u SELECT p FROM t", QueryInsert},
		{"a doubled quote inside a string is skipped", "WITH t AS (SELECT 'it''s (' AS p) DELETE FROM u", QueryDelete},
		{"a quoted identifier named like a keyword is not the main statement", `WITH "select" AS (SELECT 1) UPDATE u SET a=1`, QueryUpdate},
		{"a backquoted identifier is skipped", "WITH `x(` AS (SELECT 1) SELECT 2", QuerySelect},
		{"a dollar-quoted string is skipped", "WITH t AS (SELECT $$)$$ AS p) DELETE FROM u", QueryDelete},
		{"a tagged dollar-quoted string is skipped", "WITH t AS (SELECT $q$ ) $ $q$ AS p) UPDATE u SET a=1", QueryUpdate},
		{"a positional parameter is not a dollar quote", "WITH t AS (SELECT $1::int AS p) SELECT p FROM t", QuerySelect},
		{"comments inside WITH are skipped", "WITH t AS (SELECT 1 -- )\n) /* SELECT */ INSERT INTO u SELECT * FROM t", QueryInsert},
		{"a WITH without a main statement is OTHER", "WITH t AS (SELECT 1)", QueryOther},
		{"an unterminated string inside WITH is OTHER", "WITH t AS (SELECT 'oops) SELECT 1", QueryOther},
		{"an unterminated dollar quote inside WITH is OTHER", "WITH t AS (SELECT $a$ x) SELECT 1", QueryOther},
		{"a leading parenthesis before WITH is skipped", "(WITH t AS (SELECT 1) SELECT * FROM t)", QuerySelect},
		{"WITHIN is not WITH", "WITHIN SELECT 1", QueryOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.query); got != tt.want {
				t.Errorf("Classify(%q) = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	queries := []string{
		"SELECT 1",
		"/* c */ -- d\n ((update t set a = 1))",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT n FROM r",
		"WITH t AS (SELECT $q$x$q$, 'a''b', \"c\") DELETE FROM u",
		strings.Repeat("(", 1000) + "insert into t values (1)",
	}
	for _, q := range queries {
		if n := testing.AllocsPerRun(100, func() { _ = Classify(q) }); n != 0 {
			t.Errorf("Classify(%.40q) allocated %v times per call, want 0", q, n)
		}
	}
}

// FuzzClassify checks properties that hold for every input: the result is
// one of the five types; prefixing what the classifier skips (whitespace,
// comments, parentheses) changes nothing; ASCII case changes nothing; a
// statement keyword followed by a non-word byte decides the type; and the
// main statement of a WITH decides its type whatever follows it.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "insert into t values (1)", "/* x */ update t", "-- c\ndelete from t",
		"WITH t AS (SELECT 1) SELECT 2", "WITH t AS (SELECT $a$)$a$) DELETE FROM u", "((select",
		"'", "$", "/*", "--", "WITH", "(", ")", "WITH t AS (SELECT 1) (SELECT 1)", "ſelect", "\x80select",
	} {
		f.Add(s)
	}
	valid := map[QueryType]bool{}
	for _, qt := range QueryTypes {
		valid[qt] = true
	}
	prefixes := []string{" ", "\n\t", "/* c */", "-- c\n", "(", "/**/("}
	keywords := map[string]QueryType{"SELECT": QuerySelect, "insert": QueryInsert, "Update": QueryUpdate, "delete": QueryDelete}
	f.Fuzz(func(t *testing.T, q string) {
		got := Classify(q)
		if !valid[got] {
			t.Fatalf("Classify(%q) = %q, not a query type", q, got)
		}
		for _, p := range prefixes {
			if g := Classify(p + q); g != got {
				t.Errorf("Classify(%q) = %s but Classify(%q) = %s", q, got, p+q, g)
			}
		}
		if g := Classify(asciiUpper(q)); g != got {
			t.Errorf("Classify(%q) = %s but its upper case is %s", q, got, g)
		}
		for kw, want := range keywords {
			wantHere := want
			if q != "" && isWordByte(q[0]) {
				wantHere = QueryOther
			}
			if g := Classify(kw + q); g != wantHere {
				t.Errorf("Classify(%q) = %s, want %s", kw+q, g, wantHere)
			}
			if g := Classify("WITH x AS (SELECT 1) " + kw + " " + q); g != want {
				t.Errorf("Classify(WITH … %s %q) = %s, want %s", kw, q, g, want)
			}
		}
	})
}

// asciiUpper upper-cases ASCII letters only, keeping every other byte, so
// the text's structure (lengths, quotes, non-ASCII bytes) is unchanged.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// TestKeywordKindFoldsLikeEqualFold checks the six-byte comparison of
// keywordKind against equalFold for every byte value at every position of
// each keyword.
func TestKeywordKindFoldsLikeEqualFold(t *testing.T) {
	keywords := map[string]kind{"SELECT": kindSelect, "INSERT": kindInsert, "UPDATE": kindUpdate, "DELETE": kindDelete}
	for kw, want := range keywords {
		for pos := range len(kw) {
			for c := range 256 {
				w := []byte(kw)
				w[pos] = byte(c)
				k, ok := keywordKind(string(w))
				if wantOK := equalFold(string(w), kw); ok != wantOK || ok && k != want {
					t.Errorf("keywordKind(%q) = %v, %v; want ok = %v", w, k, ok, wantOK)
				}
			}
		}
	}
}
