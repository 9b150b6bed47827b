package middleware

import (
	"database/sql/driver"
	"time"
)

// tx wraps a driver.Tx to time the transaction from Begin to Commit or
// Rollback. The statements inside it are recorded as usual; Begin, Commit
// and Rollback themselves are not statements and are not counted as queries.
type tx struct {
	m     *Middleware
	db    *database
	inner driver.Tx
	start time.Duration
	done  bool
}

// wrapTx returns t wrapped, or t itself while the middleware is uninstalled.
func (m *Middleware) wrapTx(t driver.Tx, db *database) driver.Tx {
	if !m.installed.Load() {
		return t
	}
	return &tx{m: m, db: db, inner: t, start: clock()}
}

// Unwrap returns the driver's own transaction.
func (t *tx) Unwrap() driver.Tx { return t.inner }

// Commit commits and records the transaction as committed, or as an error
// if the commit failed.
func (t *tx) Commit() error {
	err := t.inner.Commit()
	t.finish(txCommit, err)
	return err
}

// Rollback rolls back and records the transaction as rolled back, or as an
// error if the rollback failed.
func (t *tx) Rollback() error {
	err := t.inner.Rollback()
	t.finish(txRollback, err)
	return err
}

func (t *tx) finish(o outcome, err error) {
	if t.done {
		return
	}
	t.done = true
	if err != nil {
		o = txError
	}
	t.m.recordTx(t.db, o, clock()-t.start)
}
