package middleware

import "strings"

// Fingerprint returns the normalised form of a SQL statement that the
// slow-query log writes, so that a value written into the SQL text never
// reaches the log and the lines of one statement look alike:
//
//   - string literals (quoted with ', escaped by doubling or a backslash, and PostgreSQL
//     $tag$…$tag$ strings) and numeric literals become ?; a literal that is
//     not closed takes the rest of the text;
//   - an IN list of literals and placeholders (?, $1, each optionally
//     signed) becomes IN (?+), whatever its length;
//   - -- comments are removed (a "-- name:" comment is logged as the
//     statement's name instead); each run of whitespace and such comments
//     becomes one space, none at either end;
//   - placeholders, keywords, identifiers, quoted identifiers ("…" and
//     `…`) and /* … */ comments are kept as written, so a constant comment
//     that names the code running a statement stays in the log. MySQL
//     without ANSI_QUOTES reads "…" as a string, and runs /*! … */
//     comments: their contents are kept too.
//
// Fingerprint(Fingerprint(q)) == Fingerprint(q) for every q. It is a
// normaliser for logs, not a parser: it does not check that q is valid SQL.
func Fingerprint(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	pending := false // whitespace or a comment since the last token
	emit := func(tok string) {
		if pending && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pending = false
		b.WriteString(tok)
	}
	q := query
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case isSpaceByte(c):
			pending = true
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			pending = true
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := len(q)
			if k := strings.Index(q[i+2:], "*/"); k >= 0 {
				j = i + 2 + k + 2
			}
			emit(q[i:j])
			i = j
		case c == '\'':
			emit("?")
			if i = skipString(q, i); i < 0 {
				i = len(q)
			}
		case c == '"' || c == '`':
			j := skipQuoted(q, i)
			if j < 0 {
				j = len(q)
			}
			emit(q[i:j])
			i = j
		case c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			emit(q[i:j])
			i = j
		case c == '$' && isDollarQuote(q, i):
			emit("?")
			if i = skipDollar(q, i); i < 0 {
				i = len(q)
			}
		case c >= '0' && c <= '9':
			emit("?")
			i = numberEnd(q, i)
		case isWordByte(c):
			j := wordEnd(q, i)
			if equalFold(q[i:j], "IN") {
				if end, ok := inList(q, j); ok {
					emit(q[i:j] + " (?+)")
					i = end
					continue
				}
			}
			emit(q[i:j])
			i = j
		default:
			emit(q[i : i+1])
			i++
		}
	}
	return b.String()
}

// isSpaceByte reports whether c is SQL whitespace.
func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// skipString returns the index just past the string literal that opens at
// i, or -1 when it is not closed. A quote is escaped by doubling it or
// by a backslash (MySQL, PostgreSQL E'…'); taking a standard-conforming
// string's final backslash as an escape can only make the literal longer,
// so nothing of it is left in the text.
func skipString(q string, i int) int {
	for i++; i < len(q); i++ {
		switch q[i] {
		case '\\':
			i++
		case '\'':
			if i+1 < len(q) && q[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// isDollarQuote reports whether a PostgreSQL dollar quote ($$ or $tag$)
// opens at i.
func isDollarQuote(q string, i int) bool {
	j := i + 1
	if j < len(q) && q[j] >= '0' && q[j] <= '9' {
		return false
	}
	for j < len(q) && isTagByte(q[j]) {
		j++
	}
	return j < len(q) && q[j] == '$'
}

// numberEnd returns the index just past the numeric literal that starts
// with a digit at i: digits, letters (hexadecimal, exponent), dots and
// underscores, and the sign of an exponent.
func numberEnd(q string, i int) int {
	for i < len(q) {
		c := q[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '_':
			i++
		case (c == '+' || c == '-') && (q[i-1] == 'e' || q[i-1] == 'E') && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			i++
		default:
			return i
		}
	}
	return i
}

// inList reports whether the text from i, just after the word IN, is a
// parenthesised list whose every item is a literal or a placeholder, and
// returns the index just past its closing parenthesis. The items it
// accepts, optionally preceded by + or -: ?, ?+ (the collapsed list
// itself, so that a fingerprint is its own fingerprint), $1, a closed
// string or dollar-quoted literal, a number.
func inList(q string, i int) (int, bool) {
	i = skipSpace(q, i)
	if i >= len(q) || q[i] != '(' {
		return 0, false
	}
	i++
	for {
		i = skipSpace(q, i)
		if i < len(q) && (q[i] == '+' || q[i] == '-') && !(i+1 < len(q) && q[i+1] == '-') {
			i++
		}
		if i >= len(q) {
			return 0, false
		}
		switch c := q[i]; {
		case c == '?':
			i++
			if i < len(q) && q[i] == '+' {
				i++
			}
		case c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			i++
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
		case c == '$' && isDollarQuote(q, i):
			if i = skipDollar(q, i); i < 0 {
				return 0, false
			}
		case c == '\'':
			if i = skipString(q, i); i < 0 {
				return 0, false
			}
		case c >= '0' && c <= '9':
			i = numberEnd(q, i)
		default:
			return 0, false
		}
		i = skipSpace(q, i)
		if i >= len(q) {
			return 0, false
		}
		switch q[i] {
		case ',':
			i++
		case ')':
			return i + 1, true
		default:
			return 0, false
		}
	}
}
