package middleware

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// This file holds the opt-in labels: db_name, set per wrapper with
// WithDBName, and statement, turned on with WithStatementLabel. Every
// statement is recorded into one labelSet, the figures of one (db_name,
// statement) pair, resolved without allocating: the database is fixed when
// a connector is wrapped, and a statement name is looked up in a map that
// is replaced, never changed, when a name is added (at most the configured
// number of times).

// WrapOption configures one wrapper of WrapConnector, WrapDriver or
// WrapDSN.
type WrapOption func(*wrapConfig)

// wrapConfig is what the wrap options set.
type wrapConfig struct {
	dbName string
}

// WithDBName records the statements and transactions of the wrapped
// connector or driver under the label db_name=name (LabelDBName), so that
// an application with several databases can tell them apart. Wrappers with
// the same name share their series. As soon as one wrapper of a Middleware
// has a name, every statement and transaction series of that Middleware
// carries db_name, with the empty value (which Prometheus stores as no
// label at all) for wrappers without one; without any named wrapper no
// series has the label. Use the name given to RegisterDBStats for the same
// *sql.DB, so that pool and statement series join. Invalid UTF-8 in name
// is replaced by U+FFFD; "" means no name.
func WithDBName(name string) WrapOption {
	return func(c *wrapConfig) { c.dbName = strings.ToValidUTF8(name, "\uFFFD") }
}

// statementKey is the context key of WithStatement.
type statementKey struct{}

// WithStatement returns a copy of ctx that names the statements run with
// it: with the statement label on (WithStatementLabel) they are recorded
// under statement=name, and their slow-query lines carry the name. The
// name given here wins over a "-- name:" comment in the SQL. The empty
// name and StatementUnnamed mean no name; a name that is not valid UTF-8
// is recorded as StatementUnnamed.
func WithStatement(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, statementKey{}, name)
}

// StatementName returns the name of a statement as the middleware takes
// it: the name given to ctx by WithStatement, or else the name of the
// sqlc/pgx comment "-- name: GetOrder :one" at the start of query (leading
// whitespace allowed; the name is the identifier after "name:"), or "".
// It does not allocate.
func StatementName(ctx context.Context, query string) string {
	if ctx != nil {
		if name, ok := ctx.Value(statementKey{}).(string); ok && name != "" {
			return name
		}
	}
	return commentName(query)
}

// commentName returns the statement name of the sqlc/pgx convention: a
// first line "-- name: X …", after leading whitespace, where X is an
// identifier (letters, digits, _ and non-ASCII letters, not starting with
// a digit). Anything else gives "".
func commentName(q string) string {
	i := 0
	for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r' || q[i] == '\f' || q[i] == '\v') {
		i++
	}
	if !strings.HasPrefix(q[i:], "--") {
		return ""
	}
	i += 2
	for i < len(q) && (q[i] == ' ' || q[i] == '\t') {
		i++
	}
	if !strings.HasPrefix(q[i:], "name:") {
		return ""
	}
	i += len("name:")
	for i < len(q) && (q[i] == ' ' || q[i] == '\t') {
		i++
	}
	start := i
	for i < len(q) && isIdentByte(q[i]) {
		i++
	}
	if i == start || q[start] >= '0' && q[start] <= '9' || !utf8.ValidString(q[start:i]) {
		return ""
	}
	return q[start:i]
}

// isIdentByte reports whether c can be part of a statement name: ASCII
// letters, digits, _ and the bytes of non-ASCII characters.
func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// seriesCounts are the exported figures of one query type under one label set:
// the duration histogram's buckets (one per bound, not cumulative, and one
// above the last), whose total is db_queries_total, its sum, and the slow
// and error counts.
type seriesCounts struct {
	slow, errors atomic.Uint64
	sum          atomic.Int64 // nanoseconds
	buckets      []atomic.Uint64
}

// count returns the number of statements recorded.
func (s *seriesCounts) count() uint64 {
	var n uint64
	for i := range s.buckets {
		n += s.buckets[i].Load()
	}
	return n
}

// labelSet holds the series of one database and statement name.
type labelSet struct {
	db        *database
	statement string // the label's value; "" when the statement label is off
	created   time.Time
	always    bool // exported from the start, at 0; otherwise per query type once used
	kinds     [numKinds]seriesCounts
}

// database holds the label sets of one db_name value.
type database struct {
	name string
	// used: a wrapper or Observe recorded under this database. The unnamed
	// database is exported only when used or when no database has a name.
	used atomic.Bool
	// plain is the set of statements without a name, and the only set
	// when the statement label is off.
	plain *labelSet
	// overflow is the set of names beyond the maximum; nil when the
	// statement label is off.
	overflow *labelSet
	// named maps each admitted name to its set; replaced, never modified.
	named atomic.Pointer[map[string]*labelSet]
	// tx holds the transaction histogram per outcome: buckets as in series.
	tx [numOutcomes]seriesCounts
}

// newLabelSet returns a set with zeroed series.
func (m *Middleware) newLabelSet(db *database, statement string, always bool) *labelSet {
	s := &labelSet{db: db, statement: statement, created: time.Now(), always: always}
	for k := range s.kinds {
		s.kinds[k].buckets = make([]atomic.Uint64, len(m.bounds)+1)
	}
	return s
}

// labelRegistry is the Middleware's set of databases and admitted names.
type labelRegistry struct {
	mu        sync.Mutex
	databases []*database          // in order of creation; the first is the unnamed one
	byName    map[string]*database // guarded by mu
	dbNamed   atomic.Bool          // some database has a name: series carry db_name
	// names are the admitted statement names (at most maxStatements),
	// replaced under mu; full is set once there are maxStatements of them.
	names atomic.Pointer[map[string]struct{}]
	full  atomic.Bool
}

// database returns the database of name, creating it on first use. A
// non-empty name turns the db_name label on for the whole Middleware.
func (m *Middleware) database(name string) *database {
	r := &m.labels
	r.mu.Lock()
	defer r.mu.Unlock()
	if db, ok := r.byName[name]; ok {
		return db
	}
	db := &database{name: name}
	statement := ""
	if m.maxStatements > 0 {
		statement = StatementUnnamed
		db.overflow = m.newLabelSet(db, StatementOverflow, false)
		empty := map[string]*labelSet{}
		db.named.Store(&empty)
	}
	db.plain = m.newLabelSet(db, statement, true)
	for o := range db.tx {
		db.tx[o].buckets = make([]atomic.Uint64, len(m.bounds)+1)
	}
	if r.byName == nil {
		r.byName = map[string]*database{}
	}
	r.byName[name] = db
	r.databases = append(r.databases, db)
	if name != "" {
		r.dbNamed.Store(true)
	}
	return db
}

// databases returns the databases so far.
func (m *Middleware) databases() []*database {
	m.labels.mu.Lock()
	defer m.labels.mu.Unlock()
	return append([]*database(nil), m.labels.databases...)
}

// set returns the label set of a statement of db named name ("" for none).
// With the statement label off, or without a name, it is db.plain. It
// does not allocate, except the first time a name is seen.
func (m *Middleware) set(db *database, name string) *labelSet {
	if m.maxStatements == 0 || name == "" {
		return db.plain
	}
	if s, ok := (*db.named.Load())[name]; ok {
		return s
	}
	return m.admit(db, name)
}

// setMemo remembers the label set of the last name a connection or
// prepared statement looked up, by the name's address and length: names
// usually come from string constants, so the next statement with the same
// name skips the map. The set of a name never changes (a name is admitted
// when first seen or never), so the memo cannot go stale. Like the
// connection, it is used by one goroutine at a time.
type setMemo struct {
	name string
	set  *labelSet
}

// get returns m.set(db, name), through the memo.
func (c *setMemo) get(m *Middleware, db *database, name string) *labelSet {
	if name == "" {
		return db.plain
	}
	if c.set != nil && len(name) == len(c.name) && unsafe.StringData(name) == unsafe.StringData(c.name) {
		return c.set
	}
	s := m.set(db, name)
	c.name, c.set = name, s
	return s
}

// admit returns the set of a name that db has not seen yet: a new set if
// the name is admitted or there is room for it, the overflow set
// otherwise. Once the names are full, an unknown name takes no lock.
func (m *Middleware) admit(db *database, name string) *labelSet {
	switch {
	case name == StatementUnnamed || !utf8.ValidString(name):
		return db.plain
	case name == StatementOverflow:
		return db.overflow
	}
	r := &m.labels
	if r.full.Load() {
		if _, ok := (*r.names.Load())[name]; !ok {
			return db.overflow
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	named := *db.named.Load()
	if s, ok := named[name]; ok {
		return s
	}
	names := *r.names.Load()
	if _, ok := names[name]; !ok {
		if len(names) >= m.maxStatements {
			return db.overflow
		}
		grown := make(map[string]struct{}, len(names)+1)
		for n := range names {
			grown[n] = struct{}{}
		}
		grown[name] = struct{}{}
		r.names.Store(&grown)
		if len(grown) >= m.maxStatements {
			r.full.Store(true)
		}
	}
	s := m.newLabelSet(db, name, false)
	grown := make(map[string]*labelSet, len(named)+1)
	for n, v := range named {
		grown[n] = v
	}
	grown[name] = s
	db.named.Store(&grown)
	return s
}

// sets returns every label set of db that may be exported.
func (db *database) sets() []*labelSet {
	out := []*labelSet{db.plain}
	if db.overflow != nil {
		out = append(out, db.overflow)
		for _, s := range *db.named.Load() {
			out = append(out, s)
		}
	}
	return out
}

// exported reports whether the series of db are exported now.
func (m *Middleware) exported(db *database) bool {
	return db.name != "" || db.used.Load() || !m.labels.dbNamed.Load()
}
