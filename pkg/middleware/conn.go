//go:generate go run ./internal/wrapgen -out wrap_gen.go -test wrap_gen_test.go

package middleware

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"
	"unsafe"
)

// conn wraps a driver.Conn. It implements itself the optional interfaces
// whose absence database/sql handles by a fallback it can reproduce
// exactly (Pinger, ConnPrepareContext, ConnBeginTx, NamedValueChecker):
// without the driver's, its method does what database/sql would have done.
// The interfaces whose mere presence changes database/sql's path (Execer,
// ExecerContext, Queryer, QueryerContext, SessionResetter, Validator) live
// on mixin types below (same fields, different method set), and the
// generated connWrappers combine exactly the mixins the wrapped connection
// has. See docs/adr/0006-wrapper-interfaces.md. The optional views are
// asserted once per connection.
type conn struct {
	m     *Middleware
	db    *database // the database its statements are recorded under
	inner driver.Conn

	pinger     driver.Pinger
	execer     driver.Execer
	execerCtx  driver.ExecerContext
	queryer    driver.Queryer
	queryerCtx driver.QueryerContext
	prepareCtx driver.ConnPrepareContext
	beginTx    driver.ConnBeginTx
	resetter   driver.SessionResetter
	validator  driver.Validator
	checker    driver.NamedValueChecker

	rowsCaps rowsCapCache // of the Rows that Query and QueryContext return

	// lastQuery, lastKind and lastName remember the last statement
	// classified on this connection (see target).
	lastQuery string
	lastKind  kind
	lastName  string // its "-- name:" comment's name, with the statement label on
	lastSet   setMemo
}

// target returns the kind of a statement and the label set it is recorded
// in. It remembers the last statement text classified on this connection:
// an application runs the same few statements over and over, usually
// string constants, whose bytes are shared, so a statement with the same
// address and length as the last one is the same text and is not scanned
// again. database/sql uses a connection from one goroutine at a time,
// which makes the memo safe. With the statement label on, a name given to
// ctx wins over the comment's.
func (c *conn) target(ctx context.Context, query string) (kind, *labelSet) {
	m := c.m
	if len(query) == 0 || len(query) != len(c.lastQuery) || unsafe.StringData(query) != unsafe.StringData(c.lastQuery) {
		c.lastQuery, c.lastKind, c.lastName = query, classify(query), ""
		if m.maxStatements > 0 {
			c.lastName = commentName(query)
		}
	}
	if m.maxStatements == 0 {
		return c.lastKind, c.db.plain
	}
	name := c.lastName
	if n, ok := ctx.Value(statementKey{}).(string); ok && n != "" {
		name = n
	}
	return c.lastKind, c.lastSet.get(m, c.db, name)
}

// wrapConn returns c wrapped: with exactly c's exact interfaces, and
// every other one.
func (m *Middleware) wrapConn(c driver.Conn, db *database) driver.Conn {
	w := &conn{m: m, db: db, inner: c}
	w.pinger, _ = c.(driver.Pinger)
	w.execer, _ = c.(driver.Execer)
	w.execerCtx, _ = c.(driver.ExecerContext)
	w.queryer, _ = c.(driver.Queryer)
	w.queryerCtx, _ = c.(driver.QueryerContext)
	w.prepareCtx, _ = c.(driver.ConnPrepareContext)
	w.beginTx, _ = c.(driver.ConnBeginTx)
	w.resetter, _ = c.(driver.SessionResetter)
	w.validator, _ = c.(driver.Validator)
	w.checker, _ = c.(driver.NamedValueChecker)
	return connWrappers[connMask(c)](w)
}

// Unwrap returns the driver's own connection.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Raw returns the driver's own connection behind driverConn, the value
// that sql.Conn.Raw passes to its function, so that code which needs a
// driver-specific API keeps working on an instrumented database:
//
//	err := conn.Raw(func(dc any) error {
//		pgxConn := middleware.Raw(dc).(*stdlib.Conn).Conn()
//		…
//	})
//
// It unwraps every layer that has an Unwrap() driver.Conn method, this
// middleware's and others', and returns driverConn itself when there is
// none. Work done through the raw connection is not recorded.
func Raw(driverConn any) any {
	for {
		u, ok := driverConn.(interface{ Unwrap() driver.Conn })
		if !ok {
			return driverConn
		}
		driverConn = u.Unwrap()
	}
}

// Prepare prepares a statement. A successful preparation is not counted:
// the statement's executions are. A failed one counts as one failed
// statement, because database/sql prepares behind the caller's back when a
// driver cannot execute directly (go-sql-driver/mysql with arguments does
// so for every statement), and that is where syntax and permission errors
// then surface.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	m := c.m
	start := clock()
	s, err := c.inner.Prepare(query)
	if err != nil {
		if m.installed.Load() {
			ctx := context.Background()
			k, set := c.target(ctx, query)
			m.finish(ctx, set, k, start, err, query)
		}
		return s, err
	}
	return m.wrapStmt(s, query, c.db, c.checker), nil
}

// Close closes the driver's connection.
func (c *conn) Close() error { return c.inner.Close() }

// Begin starts a transaction, timed until Commit or Rollback.
func (c *conn) Begin() (driver.Tx, error) {
	t, err := c.inner.Begin()
	if err != nil {
		return t, err
	}
	return c.m.wrapTx(t, c.db), nil
}

// Ping forwards to the driver; a ping is not a query and is not counted.
// Without a driver.Pinger it returns nil, as database/sql's Ping does for
// such a driver.
func (c *conn) Ping(ctx context.Context) error {
	if c.pinger == nil {
		return nil
	}
	return c.pinger.Ping(ctx)
}

// PrepareContext prepares a statement whose executions are timed; a
// failure counts as in Prepare. Without the driver's ConnPrepareContext it
// does what database/sql does then: Prepare, and if the context ended
// meanwhile, close the statement and return the context's error.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.prepareCtx == nil {
		s, err := c.Prepare(query)
		if err == nil {
			select {
			default:
			case <-ctx.Done():
				_ = s.Close()
				return nil, ctx.Err()
			}
		}
		return s, err
	}
	m := c.m
	start := clock()
	s, err := c.prepareCtx.PrepareContext(ctx, query)
	if err != nil {
		if m.installed.Load() {
			k, set := c.target(ctx, query)
			m.finish(ctx, set, k, start, err, query)
		}
		return s, err
	}
	return m.wrapStmt(s, query, c.db, c.checker), nil
}

// BeginTx starts a transaction, timed until Commit or Rollback. Without the
// driver's ConnBeginTx it does what database/sql does then: it refuses
// options other than the defaults with database/sql's messages, calls
// Begin, and rolls back and returns the context's error if the context
// ended meanwhile.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.beginTx == nil {
		return c.beginLegacy(ctx, opts)
	}
	t, err := c.beginTx.BeginTx(ctx, opts)
	if err != nil {
		return t, err
	}
	return c.m.wrapTx(t, c.db), nil
}

// beginLegacy is database/sql's ctxDriverBegin for a driver.Conn without
// ConnBeginTx, on the wrapper's Begin. database/sql passes the zero
// TxOptions for nil options, which pass both checks, as nil does there.
func (c *conn) beginLegacy(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	if ctx.Done() == nil {
		return c.Begin()
	}
	t, err := c.Begin()
	if err == nil {
		select {
		default:
		case <-ctx.Done():
			_ = t.Rollback()
			return nil, ctx.Err()
		}
	}
	return t, err
}

// CheckNamedValue forwards to the driver, so driver-specific argument types
// (arrays, unsigned integers, custom types) reach it unchanged. Without
// the driver's NamedValueChecker it returns driver.ErrSkip, on which
// database/sql goes on exactly as with no checker: to the statement's
// ColumnConverter if there is one, then to its default conversion.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c.checker == nil {
		return driver.ErrSkip
	}
	return c.checker.CheckNamedValue(nv)
}

type connExecer conn

// Exec times the statement of a driver with the legacy driver.Execer;
// database/sql calls it only when the driver has no ExecerContext, after
// refusing named arguments and a done context itself. driver.ErrSkip
// passes through uncounted.
func (c *connExecer) Exec(query string, args []driver.Value) (driver.Result, error) {
	m := c.m
	if !m.installed.Load() {
		return c.execer.Exec(query, args)
	}
	start := clock()
	res, err := c.execer.Exec(query, args)
	ctx := context.Background()
	k, set := (*conn)(c).target(ctx, query)
	m.finish(ctx, set, k, start, err, query)
	return res, err
}

type connExecerContext conn

// ExecContext times the statement; driver.ErrSkip passes through uncounted.
func (c *connExecerContext) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	m := c.m
	if !m.installed.Load() {
		return c.execerCtx.ExecContext(ctx, query, args)
	}
	start := clock()
	res, err := c.execerCtx.ExecContext(ctx, query, args)
	k, set := (*conn)(c).target(ctx, query)
	m.finish(ctx, set, k, start, err, query)
	return res, err
}

type connQueryer conn

// Query starts timing the statement of a driver with the legacy
// driver.Queryer (called as Exec is); the Rows stop it when closed.
func (c *connQueryer) Query(query string, args []driver.Value) (driver.Rows, error) {
	m := c.m
	if !m.installed.Load() {
		return c.queryer.Query(query, args)
	}
	start := clock()
	r, err := c.queryer.Query(query, args)
	ctx := context.Background()
	k, set := (*conn)(c).target(ctx, query)
	return m.queried(ctx, r, err, &c.rowsCaps, set, k, query, start)
}

type connQueryerContext conn

// QueryContext starts timing the statement; the Rows stop it when closed.
func (c *connQueryerContext) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	m := c.m
	if !m.installed.Load() {
		return c.queryerCtx.QueryContext(ctx, query, args)
	}
	start := clock()
	r, err := c.queryerCtx.QueryContext(ctx, query, args)
	k, set := (*conn)(c).target(ctx, query)
	return m.queried(ctx, r, err, &c.rowsCaps, set, k, query, start)
}

type connSessionResetter conn

// ResetSession forwards to the driver; it is not a query and is not counted.
func (c *connSessionResetter) ResetSession(ctx context.Context) error {
	return c.resetter.ResetSession(ctx)
}

type connValidator conn

// IsValid forwards to the driver.
func (c *connValidator) IsValid() bool { return c.validator.IsValid() }

// queried finishes a Query call: on success the Rows take over the timing
// (a query's duration runs until its Rows are closed); on failure the
// statement is recorded now, unless the error is driver.ErrSkip.
func (m *Middleware) queried(ctx context.Context, r driver.Rows, err error, caps *rowsCapCache, set *labelSet, k kind, query string, start time.Duration) (driver.Rows, error) {
	if err != nil {
		m.finish(ctx, set, k, start, err, query)
		return r, err
	}
	return m.wrapRows(ctx, r, caps, set, k, query, start), nil
}

// finish records a statement that ended when the driver call returned.
// driver.ErrSkip is not an outcome but a request to retry another way
// (database/sql then prepares the statement, and that execution counts),
// so it is never recorded. It is compared by identity, as database/sql does.
func (m *Middleware) finish(ctx context.Context, set *labelSet, k kind, start time.Duration, err error, query string) {
	if err == driver.ErrSkip {
		return
	}
	m.record(ctx, set, k, clock()-start, err, query)
}
