package middleware

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestObserveRecordsAsTheDriverPathDoes(t *testing.T) {
	var logs bytes.Buffer
	m, err := New(WithRegisterer(nil), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	m.Observe(ctx, "  /* c */ select 1", time.Millisecond, nil)
	m.Observe(ctx, "WITH x AS (SELECT 1) DELETE FROM t", 2*time.Millisecond, errors.New("boom"))
	m.Observe(ctx, "UPDATE t SET a = 1", DefaultSlowThreshold, nil)
	m.ObserveAs(ctx, QueryInsert, "COPY t FROM STDIN", time.Millisecond, nil)
	m.ObserveAs(ctx, QueryType("MERGE"), "MERGE", time.Millisecond, nil)

	s := m.Stats()
	want := map[QueryType][3]uint64{ // total, errors, slow
		QuerySelect: {1, 0, 0},
		QueryDelete: {1, 1, 0},
		QueryUpdate: {1, 0, 1},
		QueryInsert: {1, 0, 0},
		QueryOther:  {1, 0, 0},
	}
	for _, ts := range s.ByType {
		if got := [3]uint64{ts.Total, ts.Errors, ts.Slow}; got != want[ts.Type] {
			t.Errorf("%s: total, errors, slow = %v, want %v", ts.Type, got, want[ts.Type])
		}
	}
	if !strings.Contains(logs.String(), `msg="slow query" query_type=UPDATE`) {
		t.Errorf("slow UPDATE not logged: %q", logs.String())
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	m, err := New(WithRegisterer(nil), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	boom := errors.New("boom")
	if n := testing.AllocsPerRun(100, func() {
		m.Observe(ctx, "SELECT 1", time.Millisecond, nil)
		m.Observe(ctx, "DELETE FROM t", time.Second, boom)
		m.ObserveAs(ctx, QueryInsert, "COPY", time.Millisecond, nil)
		m.ObserveTx(TxCommit, time.Millisecond)
	}); n != 0 {
		t.Errorf("Observe allocates %v times per run", n)
	}
}

func TestObserveTxRecordsEachOutcome(t *testing.T) {
	m, err := New(WithRegisterer(nil), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveTx(TxCommit, time.Millisecond)
	m.ObserveTx(TxCommit, time.Millisecond)
	m.ObserveTx(TxRollback, time.Millisecond)
	m.ObserveTx(TxError, time.Millisecond)
	m.ObserveTx(TxOutcome("abandoned"), time.Millisecond)
	tx := m.Stats().Tx
	if got := [3]uint64{tx.Commits, tx.Rollbacks, tx.Errors}; got != [3]uint64{2, 1, 2} {
		t.Errorf("commits, rollbacks, errors = %v, want [2 1 2]", got)
	}
	if tx.Duration.Count != 5 {
		t.Errorf("%d transaction durations, want 5", tx.Duration.Count)
	}
}
