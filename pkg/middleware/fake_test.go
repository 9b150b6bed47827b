package middleware

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fake driver is an in-memory database/sql driver whose objects have a
// chosen set of optional interfaces (any combination, through the
// generated fake*Combos), and which logs every call it receives. With
// every interface and no log it is the no-op driver of the benchmarks;
// with none it is the minimal driver that forces database/sql's fallbacks.
//
// Its "SQL" is keyed on markers in the text:
//   - "ERR" fails the statement with errFake;
//   - "SKIP" makes the connection's ExecContext/QueryContext (and the
//     legacy Exec/Query) return driver.ErrSkip (database/sql then
//     prepares the statement);
//   - "BADCONN" returns driver.ErrBadConn the first time the driver sees it;
//   - "sleep=<duration>" sleeps, returning early with the context's error;
//   - "NEXTERR" fails Next after the first row with errFake;
//   - "MULTI" returns two result sets.
//
// A query returns one column "v" with one row per argument (one row of
// int64(1) without arguments). An Exec returns RowsAffected = number of
// arguments. Arguments of type fakeUint are accepted only by the
// NamedValueCheckers, which convert them to int64.

var errFake = errors.New("fake: statement failed")

// fakeUint is an argument type only the fake's NamedValueCheckers accept.
type fakeUint uint

// callLog records the calls a fake driver receives, in order.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.calls = append(l.calls, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *callLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func (l *callLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.calls) == 0 {
		return ""
	}
	return l.calls[len(l.calls)-1]
}

// ifaceInfo describes one optional interface of a driver object, for the
// generated lists connIfaces, stmtIfaces and rowsIfaces.
type ifaceInfo struct {
	bit    int    // the fake's bit: the index of fake*Combos
	name   string // e.g. "driver.Pinger"
	always bool   // the wrapper has it whatever the driver has
	has    func(any) bool
}

// The masks with every optional interface.
var (
	allConnCaps = len(fakeConnCombos) - 1
	allStmtCaps = len(fakeStmtCombos) - 1
	allRowsCaps = len(fakeRowsCombos) - 1
)

// fakeDriver is the driver; its masks choose the optional interfaces (of
// the generated has* bits).
type fakeDriver struct {
	connMask, stmtMask, rowsMask int
	log                          *callLog
	badConn                      atomic.Bool // BADCONN was seen
	plain                        bool        // ignore the markers: the no-op driver of the benchmarks
}

// noopDriver has every optional interface and logs nothing.
func noopDriver() *fakeDriver {
	return &fakeDriver{connMask: allConnCaps, stmtMask: allStmtCaps, rowsMask: allRowsCaps}
}

func (d *fakeDriver) Open(name string) (driver.Conn, error) {
	d.log.add("Open %s", name)
	return d.newConn(), nil
}

func (d *fakeDriver) newConn() driver.Conn {
	return fakeConnCombos[d.connMask](&fakeConn{d: d})
}

// benchDriver is the no-op driver without markers or log: each call does
// as little as a driver can, so that the benchmarks measure database/sql
// and the middleware.
func benchDriver() *fakeDriver {
	d := noopDriver()
	d.plain = true
	return d
}

// fakeConnector is a driver.Connector of the fake driver.
type fakeConnector struct{ d *fakeDriver }

func (c fakeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.d.log.add("Connect")
	return c.d.newConn(), nil
}

func (c fakeConnector) Driver() driver.Driver { return c.d }

// fakeConn is the base connection: Prepare, Close, Begin.
type fakeConn struct{ d *fakeDriver }

func (c *fakeConn) Prepare(query string) (driver.Stmt, error) {
	c.d.log.add("Prepare %s", query)
	return c.prepare(query)
}

func (c *fakeConn) prepare(query string) (driver.Stmt, error) {
	if strings.Contains(query, "ERR") && strings.Contains(query, "PREPARE") {
		return nil, errFake
	}
	return fakeStmtCombos[c.d.stmtMask](&fakeStmt{c: c, query: query}), nil
}

func (c *fakeConn) Close() error {
	c.d.log.add("Close")
	return nil
}

func (c *fakeConn) Begin() (driver.Tx, error) {
	c.d.log.add("Begin")
	return &fakeTx{d: c.d}, nil
}

type fakeConnPinger fakeConn

func (c *fakeConnPinger) Ping(ctx context.Context) error {
	c.d.log.add("Ping")
	return nil
}

type fakeConnExecerContext fakeConn

func (c *fakeConnExecerContext) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.d.log != nil {
		c.d.log.add("ExecContext %s %s", query, fmtArgs(args))
	}
	if !c.d.plain && strings.Contains(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return (*fakeConn)(c).exec(ctx, query, len(args))
}

type fakeConnQueryerContext fakeConn

func (c *fakeConnQueryerContext) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.d.log != nil {
		c.d.log.add("QueryContext %s %s", query, fmtArgs(args))
	}
	if !c.d.plain && strings.Contains(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return (*fakeConn)(c).query(ctx, query, namedValues(args))
}

type fakeConnExecer fakeConn

func (c *fakeConnExecer) Exec(query string, args []driver.Value) (driver.Result, error) {
	c.d.log.add("Exec %s %v", query, args)
	if !c.d.plain && strings.Contains(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return (*fakeConn)(c).exec(context.Background(), query, len(args))
}

type fakeConnQueryer fakeConn

func (c *fakeConnQueryer) Query(query string, args []driver.Value) (driver.Rows, error) {
	c.d.log.add("Query %s %v", query, args)
	if !c.d.plain && strings.Contains(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return (*fakeConn)(c).query(context.Background(), query, args)
}

type fakeConnConnPrepareContext fakeConn

func (c *fakeConnConnPrepareContext) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.d.log.add("PrepareContext %s", query)
	return (*fakeConn)(c).prepare(query)
}

type fakeConnConnBeginTx fakeConn

func (c *fakeConnConnBeginTx) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.d.log.add("BeginTx %+v", opts)
	return &fakeTx{d: c.d}, nil
}

type fakeConnSessionResetter fakeConn

func (c *fakeConnSessionResetter) ResetSession(ctx context.Context) error {
	c.d.log.add("ResetSession")
	return nil
}

type fakeConnValidator fakeConn

func (c *fakeConnValidator) IsValid() bool {
	c.d.log.add("IsValid")
	return true
}

type fakeConnNamedValueChecker fakeConn

func (c *fakeConnNamedValueChecker) CheckNamedValue(nv *driver.NamedValue) error {
	c.d.log.add("conn.CheckNamedValue %d", nv.Ordinal)
	return checkFakeUint(nv)
}

func checkFakeUint(nv *driver.NamedValue) error {
	if u, ok := nv.Value.(fakeUint); ok {
		nv.Value = int64(u)
		return nil
	}
	return driver.ErrSkip
}

// exec runs a statement of the fake SQL.
func (c *fakeConn) exec(ctx context.Context, query string, nargs int) (driver.Result, error) {
	if err := c.run(ctx, query); err != nil {
		return nil, err
	}
	return driver.RowsAffected(nargs), nil
}

// query runs a query of the fake SQL.
func (c *fakeConn) query(ctx context.Context, query string, args []driver.Value) (driver.Rows, error) {
	if err := c.run(ctx, query); err != nil {
		return nil, err
	}
	r := &fakeRows{d: c.d, sets: 1}
	if !c.d.plain {
		r.nextErr = strings.Contains(query, "NEXTERR")
		if strings.Contains(query, "MULTI") {
			r.sets = 2
		}
	}
	if len(args) == 0 {
		r.data = oneRow
	} else {
		for _, a := range args {
			r.data = append(r.data, []driver.Value{a})
		}
	}
	return fakeRowsCombos[c.d.rowsMask](r), nil
}

// run applies the markers common to every statement.
func (c *fakeConn) run(ctx context.Context, query string) error {
	if c.d.plain {
		return nil
	}
	if strings.Contains(query, "BADCONN") && c.d.badConn.CompareAndSwap(false, true) {
		return driver.ErrBadConn
	}
	if i := strings.Index(query, "sleep="); i >= 0 {
		f := strings.Fields(query[i+len("sleep="):])
		d, err := time.ParseDuration(f[0])
		if err != nil {
			return err
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		// A context that ended during the sleep wins even when the timer
		// fired too (select picks at random among ready cases, and on a
		// loaded machine both can be ready), so the outcome never depends
		// on scheduling.
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if strings.Contains(query, "ERR") && !strings.Contains(query, "NEXTERR") {
		return errFake
	}
	return nil
}

// oneRow is the result of a query without arguments; rows only read it.
var oneRow = [][]driver.Value{{int64(1)}}

// fakeStmt is the base statement.
type fakeStmt struct {
	c     *fakeConn
	query string
}

func (s *fakeStmt) Close() error {
	s.c.d.log.add("Stmt.Close")
	return nil
}

func (s *fakeStmt) NumInput() int { return -1 }

func (s *fakeStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.d.log.add("Stmt.Exec %v", args)
	return s.c.exec(context.Background(), s.query, len(args))
}

func (s *fakeStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.d.log.add("Stmt.Query %v", args)
	return s.c.query(context.Background(), s.query, args)
}

type fakeStmtStmtExecContext fakeStmt

func (s *fakeStmtStmtExecContext) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.c.d.log != nil {
		s.c.d.log.add("Stmt.ExecContext %s", fmtArgs(args))
	}
	return s.c.exec(ctx, s.query, len(args))
}

type fakeStmtStmtQueryContext fakeStmt

func (s *fakeStmtStmtQueryContext) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.c.d.log != nil {
		s.c.d.log.add("Stmt.QueryContext %s", fmtArgs(args))
	}
	return s.c.query(ctx, s.query, namedValues(args))
}

type fakeStmtNamedValueChecker fakeStmt

func (s *fakeStmtNamedValueChecker) CheckNamedValue(nv *driver.NamedValue) error {
	s.c.d.log.add("stmt.CheckNamedValue %d", nv.Ordinal)
	return checkFakeUint(nv)
}

type fakeStmtColumnConverter fakeStmt

func (s *fakeStmtColumnConverter) ColumnConverter(idx int) driver.ValueConverter {
	s.c.d.log.add("ColumnConverter %d", idx)
	return driver.DefaultParameterConverter
}

// fakeRows is the base rows.
type fakeRows struct {
	d       *fakeDriver
	data    [][]driver.Value
	i       int
	sets    int // result sets left, including the current one
	nextErr bool
}

func (r *fakeRows) Columns() []string { return []string{"v"} }

func (r *fakeRows) Close() error {
	r.d.log.add("Rows.Close")
	return nil
}

func (r *fakeRows) Next(dest []driver.Value) error {
	if err := r.advance(); err != nil {
		return err
	}
	copy(dest, r.data[r.i-1])
	return nil
}

// advance moves to the next row, which is then r.data[r.i-1].
func (r *fakeRows) advance() error {
	if r.nextErr && r.i == 1 {
		return errFake
	}
	if r.i >= len(r.data) {
		return io.EOF
	}
	r.i++
	return nil
}

type fakeRowsRowsNextResultSet fakeRows

func (r *fakeRowsRowsNextResultSet) HasNextResultSet() bool {
	r.d.log.add("HasNextResultSet")
	return r.sets > 1
}

func (r *fakeRowsRowsNextResultSet) NextResultSet() error {
	r.d.log.add("NextResultSet")
	if r.sets <= 1 {
		return io.EOF
	}
	r.sets--
	r.i = 0
	return nil
}

type fakeRowsRowsColumnTypeScanType fakeRows

func (r *fakeRowsRowsColumnTypeScanType) ColumnTypeScanType(index int) reflect.Type {
	r.d.log.add("ColumnTypeScanType %d", index)
	return reflect.TypeFor[int64]()
}

type fakeRowsRowsColumnTypeDatabaseTypeName fakeRows

func (r *fakeRowsRowsColumnTypeDatabaseTypeName) ColumnTypeDatabaseTypeName(index int) string {
	r.d.log.add("ColumnTypeDatabaseTypeName %d", index)
	return "FAKEINT"
}

type fakeRowsRowsColumnTypeLength fakeRows

func (r *fakeRowsRowsColumnTypeLength) ColumnTypeLength(index int) (int64, bool) {
	r.d.log.add("ColumnTypeLength %d", index)
	return 8, true
}

type fakeRowsRowsColumnTypeNullable fakeRows

func (r *fakeRowsRowsColumnTypeNullable) ColumnTypeNullable(index int) (bool, bool) {
	r.d.log.add("ColumnTypeNullable %d", index)
	return true, true
}

type fakeRowsRowsColumnTypePrecisionScale fakeRows

func (r *fakeRowsRowsColumnTypePrecisionScale) ColumnTypePrecisionScale(index int) (int64, int64, bool) {
	r.d.log.add("ColumnTypePrecisionScale %d", index)
	return 10, 2, true
}

// fakeTx is the transaction; "ERR" cannot reach it, so commits succeed.
type fakeTx struct{ d *fakeDriver }

func (t *fakeTx) Commit() error {
	t.d.log.add("Commit")
	return nil
}

func (t *fakeTx) Rollback() error {
	t.d.log.add("Rollback")
	return nil
}

func fmtArgs(args []driver.NamedValue) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s#%d=%v", a.Name, a.Ordinal, a.Value)
	}
	return "[" + b.String() + "]"
}

func namedValues(args []driver.NamedValue) []driver.Value {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

// contextFakeDriver is the fake driver with DriverContext.
type contextFakeDriver struct {
	*fakeDriver
	fail bool // OpenConnector fails with errFake
}

func (d *contextFakeDriver) OpenConnector(name string) (driver.Connector, error) {
	d.log.add("OpenConnector %s", name)
	if d.fail {
		return nil, errFake
	}
	return fakeConnector{d.fakeDriver}, nil
}

// closingFakeConnector is a connector that is an io.Closer.
type closingFakeConnector struct {
	fakeConnector
	closed bool
}

func (c *closingFakeConnector) Close() error {
	c.closed = true
	return nil
}
