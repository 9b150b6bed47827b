package middleware

import (
	"context"
	"database/sql/driver"
	"io"
	"reflect"
	"time"
)

// rows wraps a driver.Rows and ends the timing of its query. A query's
// duration runs from the Query call to Rows.Close, so it includes fetching
// the rows: that is what a user experiences as the query's time, and for
// drivers that stream results (pgx, go-sql-driver/mysql) the server's work
// is still going on while the rows are read. database/sql closes the Rows
// when Next reaches the end, when QueryRow's Scan returns, when the
// context is cancelled, or when the caller calls Close; Rows that are never
// closed are never recorded (they also leak the connection).
//
// rows implements itself RowsNextResultSet and every RowsColumnType*
// interface, answering as database/sql does for a driver without them
// when the driver's rows lack one. RowsColumnScanner (Go 1.27), whose
// presence makes database/sql stop calling Next, is a method set of the
// generated rows1 type, which embeds rows by value and is used exactly
// when the driver's rows have it. A wrapper is allocated the first time a
// connection or statement returns rows; when database/sql closes them, the
// wrapper goes back to the connection (or statement) that made it and the
// next query there reuses it, so a query costs no allocation. That is
// safe because database/sql calls a driver.Rows only while it holds the
// connection's lock, and never after Close: the Query call that takes a
// wrapper and the Close that gives it back are serialised by that lock.
// Code that calls a wrapped driver.Rows directly must likewise not use it
// after Close.
type rows struct {
	self  driver.Rows   // the generated wrapper that embeds this rows
	home  *rowsCapCache // where Close puts the wrapper for the next query
	mask  int           // self's optional interfaces: rowsWrappers index
	m     *Middleware   // the one of the connection or statement: set once
	inner driver.Rows
	ctx   context.Context
	set   *labelSet
	query string
	start time.Duration
	err   error // first error Next, NextRow or NextResultSet returned, io.EOF excluded
	kind  kind
	eof   bool // Next or NextRow returned io.EOF: every row was read
	done  bool // the query was recorded
}

// base returns the rows that a generated wrapper embeds.
func (r *rows) base() *rows { return r }

// wrapRows returns r wrapped, with exactly r's exact optional interfaces,
// which caps looks up. It reuses the wrapper that caps holds when that has the
// same interfaces, and allocates one otherwise.
func (m *Middleware) wrapRows(ctx context.Context, r driver.Rows, caps *rowsCapCache, set *labelSet, k kind, query string, start time.Duration) driver.Rows {
	mask := caps.mask(r)
	w := caps.idle
	if w != nil && w.mask == mask {
		caps.idle = nil
	} else {
		self := rowsWrappers[mask](rows{})
		w = self.(interface{ base() *rows }).base()
		w.self, w.home, w.mask, w.m = self, caps, mask, m
	}
	w.inner, w.ctx, w.set, w.query, w.start, w.kind = r, ctx, set, query, start, k
	w.err, w.eof, w.done = nil, false, false
	return w.self
}

// rowsCapCache remembers the rowsWrappers index of the last type of
// driver.Rows a connection or statement returned, and holds the wrapper of
// its last closed rows for reuse. A driver returns the same type query
// after query, so the type assertions run once instead of per query.
// Like the connection or statement that holds it, it is used by one
// goroutine at a time (database/sql holds the connection's lock).
type rowsCapCache struct {
	typ  reflect.Type
	bits int
	idle *rows // a closed wrapper, ready for the next query; nil if none
}

// mask returns the rowsWrappers index for r.
func (c *rowsCapCache) mask(r driver.Rows) int {
	t := reflect.TypeOf(r)
	if t == c.typ && t != nil {
		return c.bits
	}
	c.typ, c.bits = t, rowsMask(r)
	return c.bits
}

// Unwrap returns the driver's own rows.
func (r *rows) Unwrap() driver.Rows { return r.inner }

// Columns forwards to the driver.
func (r *rows) Columns() []string { return r.inner.Columns() }

// Next forwards to the driver and remembers how iteration ended.
func (r *rows) Next(dest []driver.Value) error {
	err := r.inner.Next(dest)
	r.advanced(err)
	return err
}

// advanced notes the error of a step to the next row.
func (r *rows) advanced(err error) {
	if err != nil {
		if err == io.EOF { // drivers must return io.EOF itself, unwrapped
			r.eof = true
		} else if r.err == nil {
			r.err = err
		}
	}
}

// Close closes the driver's rows and records the query once. It counts as
// an error if Next, NextResultSet or Close failed, or if the context was
// cancelled before every row was read (database/sql then closes the rows
// itself and reports the context's error to the caller). The first Close
// hands the wrapper back for reuse; it keeps the driver's rows, so that a
// second Close before the next query reaches the driver as it would
// without the middleware, but drops the context, which may carry request
// data.
func (r *rows) Close() error {
	err := r.inner.Close()
	if !r.done {
		r.done = true
		failure := r.err
		if failure == nil {
			failure = err
		}
		if failure == nil && !r.eof {
			failure = r.ctx.Err()
		}
		r.m.record(r.ctx, r.set, r.kind, clock()-r.start, failure, r.query)
		r.ctx = nil
		if r.home.idle == nil {
			r.home.idle = r
		}
	}
	return err
}

// HasNextResultSet forwards to the driver; false without its
// RowsNextResultSet, on which database/sql closes the rows at the end of
// the set as it does for such a driver.
func (r *rows) HasNextResultSet() bool {
	n, ok := r.inner.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

// NextResultSet forwards to the driver; an error other than io.EOF makes
// the query count as failed. Without the driver's RowsNextResultSet it
// returns io.EOF: database/sql then closes the rows and reports no error,
// as it does for such a driver (it treats io.EOF as no error throughout).
func (r *rows) NextResultSet() error {
	n, ok := r.inner.(driver.RowsNextResultSet)
	if !ok {
		return io.EOF
	}
	err := n.NextResultSet()
	if err == nil {
		r.eof = false
	} else if err != io.EOF && r.err == nil {
		r.err = err
	}
	return err
}

// The column-type methods assert the driver's interface at each call: they
// are called once per column at most. Without it they answer what
// database/sql assumes for a driver without it.

// ColumnTypeScanType forwards to the driver; the type of any without it.
func (r *rows) ColumnTypeScanType(index int) reflect.Type {
	if c, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}

// ColumnTypeDatabaseTypeName forwards to the driver; "" without it.
func (r *rows) ColumnTypeDatabaseTypeName(index int) string {
	if c, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

// ColumnTypeLength forwards to the driver; 0, false without it.
func (r *rows) ColumnTypeLength(index int) (length int64, ok bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return c.ColumnTypeLength(index)
	}
	return 0, false
}

// ColumnTypeNullable forwards to the driver; false, false without it.
func (r *rows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(index)
	}
	return false, false
}

// ColumnTypePrecisionScale forwards to the driver; 0, 0, false without it.
func (r *rows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if c, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return c.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}
