//go:build go1.27

package middleware

import "database/sql/driver"

type rowsColumnScanner rows

// NextRow forwards to the driver and remembers how iteration ended, as
// Next does: database/sql calls NextRow instead of Next on rows that have
// it.
func (r *rowsColumnScanner) NextRow() error {
	err := r.inner.(driver.RowsColumnScanner).NextRow()
	(*rows)(r).advanced(err)
	return err
}

// ScanColumn forwards to the driver with database/sql's scan context
// unchanged. Its errors are conversion errors of the caller's destination,
// like those of database/sql's own Scan for rows without it, so they do
// not make the query count as failed.
func (r *rowsColumnScanner) ScanColumn(scanCtx driver.ScanContext, index int, dest any) error {
	return r.inner.(driver.RowsColumnScanner).ScanColumn(scanCtx, index, dest)
}
