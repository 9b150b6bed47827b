package pgxtrace

import (
	"strings"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/jackc/pgx/v5"
)

// Transaction status bytes of pgconn.PgConn.TxStatus, as PostgreSQL's
// ReadyForQuery message reports them.
const (
	txIdle   = 'I' // not in a transaction block
	txActive = 'T' // in a transaction block
	txFailed = 'E' // in a failed transaction block
)

// pgx has no transaction tracer: Begin, Commit and Rollback (of a pgx.Conn,
// a pgxpool.Pool or a pgx.Tx) run "begin …", "commit" and "rollback" as
// queries. The tracer tells them from statements by what they did to the
// connection's transaction status, which PostgreSQL reports after every
// query, so custom TxOptions.BeginQuery and CommitQuery texts are
// recognised too; only a failure, which may leave no status (a lost
// connection), is told by the statement's first word. Savepoints (pgx's
// nested transactions) leave the status as it is: they are statements.

// txBegan reports whether a statement that ran with status before and
// left status after was a transaction's begin: it opened a transaction
// block, or it failed and was a BEGIN or START TRANSACTION.
func txBegan(before, after byte, sql string, err error) bool {
	if before != txIdle {
		return false
	}
	if err != nil {
		return firstWordIs(sql, "begin") || firstWordIs(sql, "start")
	}
	return after == txActive || after == txFailed
}

// txEnded reports whether a statement that ran with status before and
// left status after ended the transaction it ran in: it closed the
// transaction block, or it failed and was a COMMIT, END, ROLLBACK or
// ABORT (not a ROLLBACK TO a savepoint).
func txEnded(before, after byte, sql string, err error) bool {
	if before != txActive && before != txFailed {
		return false
	}
	if after == txIdle {
		return true
	}
	if err == nil {
		return false
	}
	if firstWordIs(sql, "commit") || firstWordIs(sql, "end") {
		return true
	}
	if firstWordIs(sql, "rollback") || firstWordIs(sql, "abort") {
		_, rest := firstWord(sql)
		return !firstWordIs(rest, "to")
	}
	return false
}

// txOutcome is the outcome of the transaction that the statement sql,
// ending as data says, ended: an error when it failed or when a COMMIT
// was answered by a rollback (pgx's ErrTxCommitRollback, an error in the
// database/sql path too), a rollback when it rolled back, otherwise a
// commit.
func txOutcome(sql string, data pgx.TraceQueryEndData) middleware.TxOutcome {
	switch {
	case data.Err != nil:
		return middleware.TxError
	case data.CommandTag.String() != "ROLLBACK":
		return middleware.TxCommit
	case firstWordIs(sql, "commit") || firstWordIs(sql, "end"):
		return middleware.TxError
	default:
		return middleware.TxRollback
	}
}

// firstWord splits sql after its first word, skipping leading white space.
func firstWord(sql string) (word, rest string) {
	sql = strings.TrimLeft(sql, " \t\r\n")
	i := strings.IndexAny(sql, " \t\r\n;")
	if i < 0 {
		return sql, ""
	}
	return sql[:i], sql[i:]
}

// firstWordIs reports whether sql's first word is w, in any case.
func firstWordIs(sql, w string) bool {
	first, _ := firstWord(sql)
	return strings.EqualFold(first, w)
}
