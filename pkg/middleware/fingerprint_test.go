package middleware

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFingerprint(t *testing.T) {
	cases := []struct {
		name, query, want string
	}{
		{"string and number literals become ?",
			"SELECT * FROM t WHERE name = 'alice' AND age > 42", "SELECT * FROM t WHERE name = ? AND age > ?"},
		{"placeholders stay", "UPDATE t SET v = $1 WHERE id = ?", "UPDATE t SET v = $1 WHERE id = ?"},
		{"whitespace collapses, ends trimmed", "  SELECT\n\t a ,  b\r\nFROM   t  ", "SELECT a , b FROM t"},
		{"line comments go, the name comment too", "-- name: GetOrder :one\nSELECT 1 -- tail 42", "SELECT ?"},
		{"a line comment separates words", "SELECT a--x\nFROM t", "SELECT a FROM t"},
		{"block comments stay as written", "/* orders.List  */\nSELECT  a/**/FROM t WHERE id IN (1, /* c */ 2)", "/* orders.List  */ SELECT a/**/FROM t WHERE id IN (?+)"},
		{"an unclosed block comment runs to the end", "SELECT 1 /* x 'y'", "SELECT ? /* x 'y'"},
		{"IN list of literals", "SELECT 1 FROM t WHERE id IN (1, 2, 3)", "SELECT ? FROM t WHERE id IN (?+)"},
		{"IN list of placeholders, any case", "DELETE FROM t WHERE id in($1,$2 , $3)", "DELETE FROM t WHERE id in (?+)"},
		{"IN list of strings and signed numbers", "SELECT 1 FROM t WHERE x NOT IN ('a', -1, +2.5e-3)", "SELECT ? FROM t WHERE x NOT IN (?+)"},
		{"IN subquery stays", "SELECT 1 FROM t WHERE id IN (SELECT id FROM u WHERE v = 7)", "SELECT ? FROM t WHERE id IN (SELECT id FROM u WHERE v = ?)"},
		{"IN list with a column stays", "SELECT 1 FROM t WHERE id IN (1, b)", "SELECT ? FROM t WHERE id IN (?, b)"},
		{"doubled and backslash-escaped quotes", `SELECT 'it''s', 'a\'b', 'c'`, "SELECT ?, ?, ?"},
		{"unterminated string takes the rest", "SELECT 'secret value", "SELECT ?"},
		{"dollar quotes", "SELECT $$secret$$, $tag$x$y$tag$, $1", "SELECT ?, ?, $1"},
		{"quoted identifiers stay as written", `SELECT "Weird  Name", ` + "`a b`" + ` FROM "t"`, `SELECT "Weird  Name", ` + "`a b`" + ` FROM "t"`},
		{"identifiers with digits stay", "SELECT t1.c2 FROM t1", "SELECT t1.c2 FROM t1"},
		{"hex and decimals", "SELECT 0x1F, 3.14, 1e10, .5", "SELECT ?, ?, ?, .?"},
		{"prefixed strings", "SELECT E'\\n', N'x', X'0F'", "SELECT E?, N?, X?"},
		{"empty", "", ""},
		{"only a comment", "-- nothing", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Fingerprint(c.query)
			if got != c.want {
				t.Errorf("Fingerprint(%q)\n got %q\nwant %q", c.query, got, c.want)
			}
			if again := Fingerprint(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

// FuzzFingerprint checks that Fingerprint never panics, is idempotent,
// keeps valid UTF-8 valid, and never lets a quoted literal through.
// The seed corpus is in testdata/fuzz/FuzzFingerprint.
func FuzzFingerprint(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'",
		"-- name: GetOrder :one\nSELECT $1",
		"SELECT $a$ x $a$, \"q\"\"q\", `b`",
		"IN (?+)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		fp := Fingerprint(q)
		if again := Fingerprint(fp); again != fp {
			t.Fatalf("not idempotent:\n q      %q\n fp     %q\n fp(fp) %q", q, fp, again)
		}
		if utf8.ValidString(q) && !utf8.ValidString(fp) {
			t.Fatalf("invalid UTF-8 out of valid input %q: %q", q, fp)
		}
		if len(fp) > len(q)+len(" (?+)")*strings.Count(strings.ToUpper(q), "IN") {
			t.Fatalf("fingerprint %q longer than its input %q allows", fp, q)
		}
		// A secret inside a closed string literal at the start never survives.
		if lit := "'s3cr3t'"; strings.Contains(Fingerprint(lit+q), "s3cr3t") && !strings.Contains(q, "s3cr3t") {
			t.Fatalf("a string literal survived: %q", Fingerprint(lit+q))
		}
	})
}
