//go:generate go run ./internal/wrapgen -out wrap_gen.go -test wrap_gen_test.go

package middleware

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"
	"unsafe"
)

// conn wraps a driver.Conn. Its own methods are those every driver.Conn
// has; each optional interface lives on a mixin type below (same fields,
// different method set), and the generated connWrappers combine exactly
// the mixins the wrapped connection has, so database/sql takes the same
// code path as with the bare driver. The one liberty: a driver with only
// the legacy Execer (Queryer) gets ExecerContext (QueryerContext), which
// calls it exactly as database/sql would. The optional views are asserted
// once per connection.
type conn struct {
	m     *Middleware
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

	rowsCaps rowsCapCache // of the Rows that QueryContext returns

	// lastQuery and lastKind remember the last statement classified on
	// this connection (see kindOf).
	lastQuery string
	lastKind  kind
}

// kindOf returns classify(query), remembering the last statement text
// classified on this connection: an application runs the same few
// statements over and over, usually string constants, whose bytes are
// shared, so a statement with the same address and length as the last one
// is the same text and is not scanned again. database/sql uses a
// connection from one goroutine at a time, which makes the memo safe.
func (c *conn) kindOf(query string) kind {
	if len(query) != 0 && len(query) == len(c.lastQuery) && unsafe.StringData(query) == unsafe.StringData(c.lastQuery) {
		return c.lastKind
	}
	k := classify(query)
	c.lastQuery, c.lastKind = query, k
	return k
}

// wrapConn returns c wrapped, with exactly c's optional interfaces.
func (m *Middleware) wrapConn(c driver.Conn) driver.Conn {
	w := &conn{m: m, inner: c}
	mask := 0
	if v, ok := c.(driver.Pinger); ok {
		w.pinger, mask = v, mask|capPinger
	}
	// The legacy Execer and Queryer are reached through the context
	// interfaces; database/sql never calls them when those exist.
	if v, ok := c.(driver.Execer); ok {
		w.execer, mask = v, mask|capExecerContext
	}
	if v, ok := c.(driver.ExecerContext); ok {
		w.execerCtx, mask = v, mask|capExecerContext
	}
	if v, ok := c.(driver.Queryer); ok {
		w.queryer, mask = v, mask|capQueryerContext
	}
	if v, ok := c.(driver.QueryerContext); ok {
		w.queryerCtx, mask = v, mask|capQueryerContext
	}
	if v, ok := c.(driver.ConnPrepareContext); ok {
		w.prepareCtx, mask = v, mask|capConnPrepareContext
	}
	if v, ok := c.(driver.ConnBeginTx); ok {
		w.beginTx, mask = v, mask|capConnBeginTx
	}
	if v, ok := c.(driver.SessionResetter); ok {
		w.resetter, mask = v, mask|capSessionResetter
	}
	if v, ok := c.(driver.Validator); ok {
		w.validator, mask = v, mask|capValidator
	}
	if v, ok := c.(driver.NamedValueChecker); ok {
		w.checker, mask = v, mask|capConnNamedValueChecker
	}
	return connWrappers[mask](w)
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
			m.finish(context.Background(), c.kindOf(query), start, err, query)
		}
		return s, err
	}
	return m.wrapStmt(s, query), nil
}

// Close closes the driver's connection.
func (c *conn) Close() error { return c.inner.Close() }

// Begin starts a transaction, timed until Commit or Rollback.
func (c *conn) Begin() (driver.Tx, error) {
	t, err := c.inner.Begin()
	if err != nil {
		return t, err
	}
	return c.m.wrapTx(t), nil
}

type connPinger conn

// Ping forwards to the driver; a ping is not a query and is not counted.
func (c *connPinger) Ping(ctx context.Context) error { return c.pinger.Ping(ctx) }

type connExecerContext conn

// ExecContext times the statement; driver.ErrSkip passes through uncounted.
// A driver with only the legacy driver.Execer is called the way
// database/sql would call it (see execLegacy), so the wrapper needs one
// interface, not two.
func (c *connExecerContext) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	m := c.m
	if c.execerCtx == nil {
		return c.execLegacy(ctx, query, args)
	}
	if !m.installed.Load() {
		return c.execerCtx.ExecContext(ctx, query, args)
	}
	start := clock()
	res, err := c.execerCtx.ExecContext(ctx, query, args)
	m.finish(ctx, (*conn)(c).kindOf(query), start, err, query)
	return res, err
}

// execLegacy does what database/sql does with a driver.Execer: it refuses
// named arguments with database/sql's own message and returns the
// context's error, before the driver is called, if the context is done.
func (c *connExecerContext) execLegacy(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	values, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m := c.m
	if !m.installed.Load() {
		return c.execer.Exec(query, values)
	}
	start := clock()
	res, err := c.execer.Exec(query, values)
	m.finish(ctx, (*conn)(c).kindOf(query), start, err, query)
	return res, err
}

type connQueryerContext conn

// QueryContext starts timing the statement; the Rows stop it when closed.
// A driver with only the legacy driver.Queryer is called as in execLegacy.
func (c *connQueryerContext) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	m := c.m
	if c.queryerCtx == nil {
		return c.queryLegacy(ctx, query, args)
	}
	if !m.installed.Load() {
		return c.queryerCtx.QueryContext(ctx, query, args)
	}
	start := clock()
	r, err := c.queryerCtx.QueryContext(ctx, query, args)
	return m.queried(ctx, r, err, &c.rowsCaps, (*conn)(c).kindOf(query), query, start)
}

// queryLegacy is execLegacy for driver.Queryer.
func (c *connQueryerContext) queryLegacy(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	values, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	select {
	default:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m := c.m
	if !m.installed.Load() {
		return c.queryer.Query(query, values)
	}
	start := clock()
	r, err := c.queryer.Query(query, values)
	return m.queried(ctx, r, err, &c.rowsCaps, (*conn)(c).kindOf(query), query, start)
}

// namedValueToValue is database/sql's conversion for legacy interfaces,
// with its error text, so a caller sees the same error as with the bare
// driver.
func namedValueToValue(named []driver.NamedValue) ([]driver.Value, error) {
	values := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		values[i] = nv.Value
	}
	return values, nil
}

type connPrepareContext conn

// PrepareContext prepares a statement whose executions are timed; a
// failure counts as in Prepare.
func (c *connPrepareContext) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	m := c.m
	start := clock()
	s, err := c.prepareCtx.PrepareContext(ctx, query)
	if err != nil {
		if m.installed.Load() {
			m.finish(ctx, (*conn)(c).kindOf(query), start, err, query)
		}
		return s, err
	}
	return m.wrapStmt(s, query), nil
}

type connBeginTx conn

// BeginTx starts a transaction, timed until Commit or Rollback.
func (c *connBeginTx) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.beginTx.BeginTx(ctx, opts)
	if err != nil {
		return t, err
	}
	return c.m.wrapTx(t), nil
}

type connSessionResetter conn

// ResetSession forwards to the driver; it is not a query and is not counted.
func (c *connSessionResetter) ResetSession(ctx context.Context) error {
	return c.resetter.ResetSession(ctx)
}

type connValidator conn

// IsValid forwards to the driver.
func (c *connValidator) IsValid() bool { return c.validator.IsValid() }

type connNamedValueChecker conn

// CheckNamedValue forwards to the driver, so driver-specific argument types
// (arrays, unsigned integers, custom types) reach it unchanged.
func (c *connNamedValueChecker) CheckNamedValue(nv *driver.NamedValue) error {
	return c.checker.CheckNamedValue(nv)
}

// queried finishes a Query call: on success the Rows take over the timing
// (a query's duration runs until its Rows are closed); on failure the
// statement is recorded now, unless the error is driver.ErrSkip.
func (m *Middleware) queried(ctx context.Context, r driver.Rows, err error, caps *rowsCapCache, k kind, query string, start time.Duration) (driver.Rows, error) {
	if err != nil {
		m.finish(ctx, k, start, err, query)
		return r, err
	}
	return m.wrapRows(ctx, r, caps, k, query, start), nil
}

// finish records a statement that ended when the driver call returned.
// driver.ErrSkip is not an outcome but a request to retry another way
// (database/sql then prepares the statement, and that execution counts),
// so it is never recorded. It is compared by identity, as database/sql does.
func (m *Middleware) finish(ctx context.Context, k kind, start time.Duration, err error, query string) {
	if err == driver.ErrSkip {
		return
	}
	m.record(ctx, k, clock()-start, err, query)
}
