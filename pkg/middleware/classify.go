package middleware

import "strings"

// kind is a QueryType as a small integer: the hot path indexes arrays of
// pre-resolved series with it instead of looking label values up in maps.
type kind uint8

// The kinds, in the order of QueryTypes.
const (
	kindSelect kind = iota
	kindInsert
	kindUpdate
	kindDelete
	kindOther
	numKinds
)

// kindTypes maps a kind to its label value. It is a private array, not the
// exported QueryTypes slice, so that a caller mutating QueryTypes cannot
// change the labels the middleware emits.
var kindTypes = [numKinds]QueryType{QuerySelect, QueryInsert, QueryUpdate, QueryDelete, QueryOther}

// Classify returns the type of the SQL statement query: SELECT, INSERT,
// UPDATE or DELETE by its first keyword (any case), after skipping
// whitespace, `--` line comments, `/* */` block comments and opening
// parentheses. A statement that starts with WITH is classified by its main
// statement, the first of those keywords after the common table
// expressions, so `WITH t AS (DELETE … RETURNING *) SELECT …` is a SELECT.
// Anything else (DDL, SHOW, CALL, an unterminated comment, an empty string)
// is OTHER, which keeps the label's cardinality at five.
//
// Classify reads only as far as it needs, never allocates and never panics.
// Inside WITH clauses it skips quoted strings, quoted identifiers and
// PostgreSQL dollar quotes; string literals follow the SQL standard (a quote
// is escaped by doubling it), so a MySQL backslash-escaped quote inside a
// CTE can make a WITH statement OTHER. It is a classifier for metrics, not a
// parser: it does not check that the statement is valid.
func Classify(query string) QueryType {
	return kindTypes[classify(query)]
}

// classify is Classify returning the kind. Most statements start with
// their keyword, so that case is tried first with one six-byte comparison;
// everything else takes the general path, which gives the same answer for
// such a statement.
func classify(q string) kind {
	if len(q) >= 6 && (len(q) == 6 || !isWordByte(q[6])) {
		if k, ok := keywordKind(q[:6]); ok {
			return k
		}
	}
	i := 0
	for {
		i = skipSpace(q, i)
		if i < len(q) && q[i] == '(' {
			i++
			continue
		}
		break
	}
	end := wordEnd(q, i)
	if k, ok := keywordKind(q[i:end]); ok {
		return k
	}
	if equalFold(q[i:end], "WITH") {
		return classifyWith(q, end)
	}
	return kindOther
}

// classifyWith finds the main statement of a WITH query whose WITH keyword
// ends at i: the first SELECT/INSERT/UPDATE/DELETE outside the parentheses
// of the common table expressions. Parentheses that open right after a
// CTE's closing parenthesis enclose the main statement itself, as in
// `WITH t AS (…) (SELECT …)`, so they do not count as nesting.
func classifyWith(q string, i int) kind {
	depth := 0
	afterClose := false // the previous token closed a parenthesis back to depth 0
	for {
		i = skipSpace(q, i)
		if i >= len(q) {
			return kindOther
		}
		c := q[i]
		switch {
		case c == '(':
			if depth > 0 || !afterClose {
				depth++
				afterClose = false
			}
			i++
		case c == ')':
			if depth > 0 {
				depth--
			}
			afterClose = depth == 0
			i++
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(q, i)
			afterClose = false
		case c == '$':
			i = skipDollar(q, i)
			afterClose = false
		case isWordByte(c):
			end := wordEnd(q, i)
			if depth == 0 {
				if k, ok := keywordKind(q[i:end]); ok {
					return k
				}
			}
			i = end
			afterClose = false
		default:
			i++
			afterClose = false
		}
		if i < 0 {
			return kindOther
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// whitespace or inside a comment; an unterminated block comment runs to
// the end of the text.
func skipSpace(q string, i int) int {
	for i < len(q) {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i+2:], '\n')
			if j < 0 {
				return len(q)
			}
			i += 2 + j + 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return len(q)
			}
			i += 2 + j + 2
		default:
			return i
		}
	}
	return i
}

// skipQuoted skips the string or quoted identifier that opens at i with the
// quote q[i]; a doubled quote is part of the text. It returns -1 when the
// quote is not closed.
func skipQuoted(q string, i int) int {
	quote := q[i]
	i++
	for {
		j := strings.IndexByte(q[i:], quote)
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(q) && q[i] == quote {
			i++
			continue
		}
		return i
	}
}

// skipDollar skips a PostgreSQL dollar-quoted string ($$…$$ or $tag$…$tag$)
// that opens at i. A `$` that does not open one (a $1 placeholder, or `$`
// inside an identifier) is skipped alone. It returns -1 when the quote is
// not closed.
func skipDollar(q string, i int) int {
	j := i + 1
	if j < len(q) && q[j] >= '0' && q[j] <= '9' {
		return j // positional parameter: the digits are skipped as a word
	}
	for j < len(q) && isTagByte(q[j]) {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return i + 1
	}
	tag := q[i : j+1]
	k := strings.Index(q[j+1:], tag)
	if k < 0 {
		return -1
	}
	return j + 1 + k + len(tag)
}

// isWordByte reports whether c can be part of an unquoted SQL word:
// ASCII letters, digits, `_`, `$` (PostgreSQL identifiers) and any byte of
// a multi-byte UTF-8 sequence.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// isTagByte reports whether c can be part of a dollar-quote tag.
func isTagByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// wordEnd returns the index just past the word that starts at i (i itself
// when no word starts there).
func wordEnd(q string, i int) int {
	for i < len(q) && isWordByte(q[i]) {
		i++
	}
	return i
}

// The four statement keywords as little-endian six-byte words (see
// keywordKind).
const (
	kwSelect = 'S' | 'E'<<8 | 'L'<<16 | 'E'<<24 | 'C'<<32 | 'T'<<40
	kwInsert = 'I' | 'N'<<8 | 'S'<<16 | 'E'<<24 | 'R'<<32 | 'T'<<40
	kwUpdate = 'U' | 'P'<<8 | 'D'<<16 | 'A'<<24 | 'T'<<32 | 'E'<<40
	kwDelete = 'D' | 'E'<<8 | 'L'<<16 | 'E'<<24 | 'T'<<32 | 'E'<<40
)

// keywordKind maps one of the four statement keywords (any case) to its kind.
// Clearing bit 0x20 of every byte folds exactly the ASCII case of a letter:
// a byte ends up as the upper-case letter L only if it was L or its lower
// case, so the comparison matches what equalFold would.
func keywordKind(w string) (kind, bool) {
	if len(w) != 6 {
		return kindOther, false
	}
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 | uint64(w[4])<<32 | uint64(w[5])<<40
	switch x &^ 0x202020202020 {
	case kwSelect:
		return kindSelect, true
	case kwInsert:
		return kindInsert, true
	case kwUpdate:
		return kindUpdate, true
	case kwDelete:
		return kindDelete, true
	}
	return kindOther, false
}

// equalFold reports whether w equals the upper-case ASCII word upper, in
// any case. Unlike strings.EqualFold it folds ASCII only, so the Kelvin sign
// or a long s in the SQL text never matches a keyword.
func equalFold(w, upper string) bool {
	if len(w) != len(upper) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}
