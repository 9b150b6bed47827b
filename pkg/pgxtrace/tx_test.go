package pgxtrace_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
)

// txAPI is a transaction of either API, as the scenarios use it.
type txAPI struct {
	exec             func(q string, args ...any) error
	commit, rollback func() error
}

// txScenarios runs the same transactions through begin and reports each
// commit's or rollback's error.
func txScenarios(t *testing.T, table string, exec func(q string) error, begin func(readOnly bool) (txAPI, error)) []error {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE " + table + " (id int PRIMARY KEY, d int UNIQUE DEFERRABLE INITIALLY DEFERRED)",
	} {
		if err := exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ins := "INSERT INTO " + table + " VALUES ($1, $2)"
	var ends []error
	run := func(readOnly bool, body func(tx txAPI), end func(tx txAPI) error) {
		tx, err := begin(readOnly)
		if err != nil {
			t.Fatal(err)
		}
		body(tx)
		ends = append(ends, end(tx))
	}
	commit := func(tx txAPI) error { return tx.commit() }
	rollback := func(tx txAPI) error { return tx.rollback() }
	// Committed.
	run(false, func(tx txAPI) {
		if err := tx.exec(ins, 1, 1); err != nil {
			t.Fatal(err)
		}
	}, commit)
	// Rolled back.
	run(false, func(tx txAPI) {
		if err := tx.exec(ins, 2, 2); err != nil {
			t.Fatal(err)
		}
	}, rollback)
	// A statement fails; the commit is answered by a rollback.
	run(false, func(tx txAPI) {
		if err := tx.exec(ins, 1, 3); err == nil {
			t.Fatal("duplicate key: no error")
		}
	}, commit)
	// The commit itself fails (a deferred constraint).
	run(false, func(tx txAPI) {
		if err := tx.exec(ins, 4, 1); err != nil {
			t.Fatal(err)
		}
	}, commit)
	// Options change the begin statement.
	run(true, func(tx txAPI) {
		if err := tx.exec("SELECT count(*) FROM " + table); err != nil {
			t.Fatal(err)
		}
	}, commit)
	if err := exec("DROP TABLE " + table); err != nil {
		t.Fatal(err)
	}
	return ends
}

// The same transactions through pgxpool and through database/sql produce
// the same series: the same transaction outcomes, and begin, commit and
// rollback are not statements in either.
func TestTransactionsProduceTheSameSeriesAsDatabaseSQL(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()

	pgxReg := prometheus.NewRegistry()
	pool, m := newPool(t, dsn, pgxReg)
	pgxEnds := txScenarios(t, tableName(), func(q string) error {
		_, err := pool.Exec(ctx, q)
		return err
	}, func(readOnly bool) (txAPI, error) {
		opts := pgx.TxOptions{}
		if readOnly {
			opts = pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadOnly}
		}
		tx, err := pool.BeginTx(ctx, opts)
		if err != nil {
			return txAPI{}, err
		}
		return txAPI{
			exec: func(q string, args ...any) error {
				rows, err := tx.Query(ctx, q, args...)
				if err != nil {
					return err
				}
				rows.Close()
				return rows.Err()
			},
			commit:   func() error { return tx.Commit(ctx) },
			rollback: func() error { return tx.Rollback(ctx) },
		}, nil
	})

	sqlReg := prometheus.NewRegistry()
	sm, err := middleware.New(middleware.WithRegisterer(sqlReg), middleware.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(sm.WrapConnector(stdlib.GetConnector(*cfg)))
	defer db.Close()
	sqlEnds := txScenarios(t, tableName(), func(q string) error {
		_, err := db.ExecContext(ctx, q)
		return err
	}, func(readOnly bool) (txAPI, error) {
		var opts *sql.TxOptions
		if readOnly {
			opts = &sql.TxOptions{Isolation: sql.LevelSerializable, ReadOnly: true}
		}
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return txAPI{}, err
		}
		return txAPI{
			exec: func(q string, args ...any) error {
				rows, err := tx.QueryContext(ctx, q, args...)
				if err != nil {
					return err
				}
				return rows.Close()
			},
			commit:   tx.Commit,
			rollback: tx.Rollback,
		}, nil
	})

	for i := range pgxEnds {
		if (pgxEnds[i] == nil) != (sqlEnds[i] == nil) {
			t.Errorf("transaction %d ends with %v through pgx, %v through database/sql", i, pgxEnds[i], sqlEnds[i])
		}
	}
	if !errors.Is(pgxEnds[2], pgx.ErrTxCommitRollback) {
		t.Errorf("commit after a failed statement: %v, want pgx.ErrTxCommitRollback", pgxEnds[2])
	}
	got, want := series(t, pgxReg), series(t, sqlReg)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pgxpool series:\n%s\n\ndatabase/sql series:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tx := m.Stats().Tx
	if g := [3]uint64{tx.Commits, tx.Rollbacks, tx.Errors}; g != [3]uint64{2, 1, 2} {
		t.Errorf("pgx transactions: commits, rollbacks, errors = %v, want [2 1 2]", g)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{
		middleware.QueryOther:  {2, 0}, // CREATE and DROP TABLE
		middleware.QueryInsert: {4, 1},
		middleware.QuerySelect: {1, 0},
	})
}

// A nested transaction (a savepoint) is statements inside its outer
// transaction, which stays one transaction; a transaction that begins
// while the middleware is uninstalled is not recorded, one that began
// while it was installed is recorded when it ends.
func TestTransactionsNestedAndUninstalled(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	txs := func() [3]uint64 {
		tx := m.Stats().Tx
		return [3]uint64{tx.Commits, tx.Rollbacks, tx.Errors}
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nested, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nested.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := txs(); got != [3]uint64{1, 0, 0} {
		t.Errorf("after a nested rollback and an outer commit: %v, want [1 0 0]", got)
	}
	// SAVEPOINT and ROLLBACK TO SAVEPOINT: two statements.
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QueryOther: {2, 0}})

	m.Uninstall()
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Install()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := txs(); got != [3]uint64{1, 0, 0} {
		t.Errorf("a transaction begun while uninstalled was recorded: %v", got)
	}
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Uninstall()
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	m.Install()
	if got := txs(); got != [3]uint64{1, 1, 0} {
		t.Errorf("a transaction begun while installed, rolled back while uninstalled: %v, want [1 1 0]", got)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QueryOther: {2, 0}})
}

// A transaction whose connection is lost ends with an error when it is
// rolled back, as in database/sql.
func TestTransactionOnALostConnectionEndsInError(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("statement on a terminated connection: no error")
	}
	if err := tx.Rollback(context.Background()); err == nil {
		t.Fatal("rollback on a terminated connection: no error")
	}
	if tx := m.Stats().Tx; tx.Errors != 1 || tx.Commits+tx.Rollbacks != 0 {
		t.Errorf("commits, rollbacks, errors = %d, %d, %d; want 0, 0, 1", tx.Commits, tx.Rollbacks, tx.Errors)
	}
}

// Custom begin and commit statements (TxOptions.BeginQuery, CommitQuery)
// are told by the transaction status they leave, not by pgx's texts.
func TestTransactionsWithCustomStatements(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := t.Context()
	pool, m := newPool(t, dsn, nil)
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: "START TRANSACTION READ ONLY", CommitQuery: "END"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if tx := m.Stats().Tx; tx.Commits != 1 || tx.Rollbacks+tx.Errors != 0 {
		t.Errorf("commits, rollbacks, errors = %d, %d, %d; want 1, 0, 0", tx.Commits, tx.Rollbacks, tx.Errors)
	}
	wantTypes(t, m, map[middleware.QueryType][2]uint64{middleware.QuerySelect: {1, 0}})
}
