package middleware

import (
	"context"
	"database/sql/driver"
	"errors"
)

// stmt wraps a prepared driver.Stmt. The statement is classified once, when
// prepared, so its executions skip the classifier. It implements itself
// StmtExecContext, StmtQueryContext and NamedValueChecker, falling back to
// what database/sql would do without the driver's; ColumnConverter, whose
// presence changes how database/sql converts arguments, lives on a mixin
// that the generated stmtWrappers add exactly when the driver's statement
// has it.
type stmt struct {
	m     *Middleware
	db    *database
	inner driver.Stmt
	query string
	kind  kind
	name  string // the "-- name:" comment's, with the statement label on
	memo  setMemo

	execCtx     driver.StmtExecContext
	queryCtx    driver.StmtQueryContext
	checker     driver.NamedValueChecker // the statement's
	connChecker driver.NamedValueChecker // the connection's that prepared it
	converter   driver.ColumnConverter

	rowsCaps rowsCapCache // of the Rows that Query and QueryContext return
}

// wrapStmt returns s, prepared on a connection of db, wrapped. connChecker
// is the NamedValueChecker of the driver's connection that prepared s, or
// nil: database/sql falls back to it when the statement has none.
func (m *Middleware) wrapStmt(s driver.Stmt, query string, db *database, connChecker driver.NamedValueChecker) driver.Stmt {
	w := &stmt{m: m, db: db, inner: s, query: query, kind: classify(query), connChecker: connChecker}
	if m.maxStatements > 0 {
		w.name = commentName(query)
	}
	w.execCtx, _ = s.(driver.StmtExecContext)
	w.queryCtx, _ = s.(driver.StmtQueryContext)
	w.checker, _ = s.(driver.NamedValueChecker)
	w.converter, _ = s.(driver.ColumnConverter)
	return stmtWrappers[stmtMask(s)](w)
}

// set returns the label set of one execution: a name given to ctx wins
// over the comment's.
func (s *stmt) set(ctx context.Context) *labelSet {
	m := s.m
	if m.maxStatements == 0 {
		return s.db.plain
	}
	name := s.name
	if n, ok := ctx.Value(statementKey{}).(string); ok && n != "" {
		name = n
	}
	return s.memo.get(m, s.db, name)
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
	ctx := context.Background()
	m.finish(ctx, s.set(ctx), s.kind, start, err, s.query)
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
	ctx := context.Background()
	return m.queried(ctx, r, err, &s.rowsCaps, s.set(ctx), s.kind, s.query, start)
}

// ExecContext times one execution of the statement. Without the driver's
// StmtExecContext it does what database/sql does then: it refuses named
// arguments and a done context with database/sql's errors, and calls Exec.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.execCtx == nil {
		values, err := namedValueToValue(args)
		if err != nil {
			return nil, err
		}
		select {
		default:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.Exec(values)
	}
	m := s.m
	if !m.installed.Load() {
		return s.execCtx.ExecContext(ctx, args)
	}
	start := clock()
	res, err := s.execCtx.ExecContext(ctx, args)
	m.finish(ctx, s.set(ctx), s.kind, start, err, s.query)
	return res, err
}

// QueryContext starts timing one execution; the Rows stop it when closed.
// Without the driver's StmtQueryContext it falls back as ExecContext does.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.queryCtx == nil {
		values, err := namedValueToValue(args)
		if err != nil {
			return nil, err
		}
		select {
		default:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.Query(values)
	}
	m := s.m
	if !m.installed.Load() {
		return s.queryCtx.QueryContext(ctx, args)
	}
	start := clock()
	r, err := s.queryCtx.QueryContext(ctx, args)
	return m.queried(ctx, r, err, &s.rowsCaps, s.set(ctx), s.kind, s.query, start)
}

// CheckNamedValue forwards to the driver's statement, or, as database/sql
// does when the statement has no checker, to the checker of the
// connection that prepared it. With neither it returns driver.ErrSkip, on
// which database/sql goes on exactly as with no checker.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	switch {
	case s.checker != nil:
		return s.checker.CheckNamedValue(nv)
	case s.connChecker != nil:
		return s.connChecker.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type stmtColumnConverter stmt

// ColumnConverter forwards to the driver's statement.
func (s *stmtColumnConverter) ColumnConverter(idx int) driver.ValueConverter {
	return s.converter.ColumnConverter(idx)
}

// namedValueToValue is database/sql's conversion for the interfaces without
// a context, with its error text, so a caller sees the same error as with
// the bare driver.
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
