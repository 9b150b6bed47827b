package middleware

import (
	"context"
	"database/sql/driver"
)

// stmt wraps a prepared driver.Stmt. The statement is classified once, when
// prepared, so its executions skip the classifier. As with conn, optional
// interfaces live on mixins combined by stmtWrappers.
type stmt struct {
	m     *Middleware
	inner driver.Stmt
	query string
	kind  kind

	execCtx   driver.StmtExecContext
	queryCtx  driver.StmtQueryContext
	checker   driver.NamedValueChecker
	converter driver.ColumnConverter

	rowsCaps rowsCapCache // of the Rows that Query and QueryContext return
}

// wrapStmt returns s wrapped, with exactly s's optional interfaces. When s
// has no NamedValueChecker, neither has the wrapper, so database/sql falls
// back to the connection's checker exactly as it does for the bare driver.
func (m *Middleware) wrapStmt(s driver.Stmt, query string) driver.Stmt {
	w := &stmt{m: m, inner: s, query: query, kind: classify(query)}
	mask := 0
	if v, ok := s.(driver.StmtExecContext); ok {
		w.execCtx, mask = v, mask|capStmtExecContext
	}
	if v, ok := s.(driver.StmtQueryContext); ok {
		w.queryCtx, mask = v, mask|capStmtQueryContext
	}
	if v, ok := s.(driver.NamedValueChecker); ok {
		w.checker, mask = v, mask|capStmtNamedValueChecker
	}
	if v, ok := s.(driver.ColumnConverter); ok {
		w.converter, mask = v, mask|capColumnConverter
	}
	return stmtWrappers[mask](w)
}

// Unwrap returns the driver's own statement.
func (s *stmt) Unwrap() driver.Stmt { return s.inner }

// Close closes the driver's statement.
func (s *stmt) Close() error { return s.inner.Close() }

// NumInput forwards to the driver.
func (s *stmt) NumInput() int { return s.inner.NumInput() }

// Exec times one execution of the statement.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	m := s.m
	if !m.installed.Load() {
		return s.inner.Exec(args)
	}
	start := clock()
	res, err := s.inner.Exec(args)
	m.finish(context.Background(), s.kind, start, err, s.query)
	return res, err
}

// Query starts timing one execution; the Rows stop it when closed.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	m := s.m
	if !m.installed.Load() {
		return s.inner.Query(args)
	}
	start := clock()
	r, err := s.inner.Query(args)
	return m.queried(context.Background(), r, err, &s.rowsCaps, s.kind, s.query, start)
}

type stmtExecContext stmt

// ExecContext times one execution of the statement.
func (s *stmtExecContext) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	m := s.m
	if !m.installed.Load() {
		return s.execCtx.ExecContext(ctx, args)
	}
	start := clock()
	res, err := s.execCtx.ExecContext(ctx, args)
	m.finish(ctx, s.kind, start, err, s.query)
	return res, err
}

type stmtQueryContext stmt

// QueryContext starts timing one execution; the Rows stop it when closed.
func (s *stmtQueryContext) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	m := s.m
	if !m.installed.Load() {
		return s.queryCtx.QueryContext(ctx, args)
	}
	start := clock()
	r, err := s.queryCtx.QueryContext(ctx, args)
	return m.queried(ctx, r, err, &s.rowsCaps, s.kind, s.query, start)
}

type stmtNamedValueChecker stmt

// CheckNamedValue forwards to the driver's statement.
func (s *stmtNamedValueChecker) CheckNamedValue(nv *driver.NamedValue) error {
	return s.checker.CheckNamedValue(nv)
}

type stmtColumnConverter stmt

// ColumnConverter forwards to the driver's statement.
func (s *stmtColumnConverter) ColumnConverter(idx int) driver.ValueConverter {
	return s.converter.ColumnConverter(idx)
}
