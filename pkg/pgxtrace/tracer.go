// Package pgxtrace feeds the dbmonctl middleware's metric contract from
// pgx (github.com/jackc/pgx/v5) and pgxpool, for services that never go
// through database/sql. A Tracer set as the pgx.ConnConfig's Tracer records
// every query, batched query, CopyFrom and failed Prepare into a
// middleware.Middleware, so a statement run through pgxpool and the same
// statement run through database/sql with the middleware produce the same
// series; NewStatsCollector exports a pgxpool.Pool's figures under the
// go_sql_* names of client_golang's DBStats collector.
//
// It is a module of its own so that database/sql users of the middleware
// never depend on pgx.
package pgxtrace

import (
	"context"
	"sync"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tracer records pgx statements into a middleware.Middleware. It
// implements pgx.QueryTracer, pgx.BatchTracer, pgx.CopyFromTracer,
// pgx.PrepareTracer, pgx.ConnectTracer and pgxpool.AcquireTracer (for
// the pool's wait figures: see NewStatsCollector). Set it as the Tracer of the
// pgx.ConnConfig (for a pool, pgxpool.Config.ConnConfig.Tracer) before
// connecting; to combine it with other tracers use
// github.com/jackc/pgx/v5/multitracer.
//
// What is recorded, and as what:
//   - Query, QueryRow and Exec: one statement, classified by its SQL as
//     middleware.Classify does, timed from the call until its Rows are
//     closed (as the database/sql path times a query until its Rows are
//     closed). An error, including the context's cancellation, counts as
//     an error.
//   - SendBatch: one statement per queued query, with that query's own
//     type and error. pgx reports no per-query timing, so each query's
//     duration is the time since the previous query's result was read (the
//     batch's start for the first one, which therefore also carries the
//     round trip of sending the batch). When the batch fails before its
//     queries run (pgx prepares them all first), each one counts as
//     failed.
//   - CopyFrom: one INSERT (it inserts rows into a table; classifying its
//     COPY text would make it OTHER and hide the write load), timed over
//     the whole copy, including when it fails while describing the
//     table's columns (pgx then reports no end of the copy; the failed
//     description ends it). The slow-query log shows it as
//     `COPY "table" FROM STDIN`.
//   - Begin, Commit and Rollback (pgx runs them as queries): not
//     statements; the transaction is timed from the end of its begin to
//     the end of its commit or rollback into the transaction histogram,
//     with the outcome the database/sql path gives the same transaction
//     (a commit that the server answers with a rollback, pgx's
//     ErrTxCommitRollback, is an error). See tx.go for how they are told
//     from statements. A transaction that begins while the middleware is
//     uninstalled is not recorded; one left without commit or rollback
//     (its connection closed) is not recorded either.
//   - Prepare: a successful preparation is not counted (the statement's
//     executions are); a failed explicit Prepare counts as one failed
//     statement of the SQL's type, as in the database/sql path. A
//     preparation that pgx makes inside a Query, Exec, batch or CopyFrom
//     is not counted separately: that statement records its error.
//
// With WithDBName, statements are recorded under that db_name, as through
// a database/sql wrapper with middleware.WithDBName; with the middleware's
// statement label on, a statement's name comes from
// middleware.WithStatement on its context or from a "-- name:" comment at
// the start of its SQL, as on the database/sql path (the queries of a batch
// share the batch's context, so only their comments can tell them apart).
//
// The tracer keeps its per-query state on the connection (in pgconn's
// CustomData, set up once when the connection is established), never in
// the context, so tracing a query does not allocate. A statement that
// starts while the middleware is uninstalled is not recorded.
type Tracer struct {
	m      *middleware.Middleware
	db     *middleware.Database
	dbName string
	// giveUps: time the acquires that can give up waiting (see
	// WithGiveUpWaits).
	giveUps bool

	// waits holds, per *pgxpool.Pool, the acquires that gave up waiting
	// (see TraceAcquireEnd); NewStatsCollector reads them. An entry lives
	// as long as the Tracer: a Tracer is meant for long-lived pools.
	waits sync.Map
}

// Option configures a Tracer.
type Option func(*Tracer)

// WithDBName records the tracer's statements and transactions under
// db_name=name, as middleware.WithDBName does for a database/sql wrapper:
// use the same name for the same database on both paths, and for
// NewStatsCollector.
func WithDBName(name string) Option {
	return func(t *Tracer) { t.dbName = name }
}

// WithGiveUpWaits counts, as pool waits (go_sql_wait_count_total and
// go_sql_wait_duration_seconds_total of NewStatsCollector), the acquires
// that gave up waiting because their context was canceled or its
// deadline passed, as database/sql counts them; pgxpool.Stat has only
// the waits that got a connection. Timing an acquire costs one small
// allocation per acquire under a context that can end, that is per query
// through a pgxpool.Pool, which is why it is off by default: without it
// tracing allocates nothing, and the waits that gave up are missing from
// the wait metrics (the pool's stat still shows them as canceled
// acquires).
func WithGiveUpWaits() Option {
	return func(t *Tracer) { t.giveUps = true }
}

// New returns a Tracer that records into m, which must not be nil.
func New(m *middleware.Middleware, opts ...Option) *Tracer {
	t := &Tracer{m: m}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	t.db = m.Database(t.dbName)
	return t
}

// stateKey is the key of the tracer's state in pgconn's CustomData.
const stateKey = "dbmon.pgxtrace"

// connState is what the tracer knows of the operations in flight on one
// connection. A pgx.Conn runs one operation at a time, so no lock is
// needed; pgxpool hands a connection over with the synchronisation that
// orders these writes.
type connState struct {
	// query: a Query or Exec is in flight (whether recorded or not);
	// queryOn: and it is recorded. queryTx is the connection's
	// transaction status when it started.
	query, queryOn bool
	queryTx        byte
	querySQL       string
	queryStart     time.Duration

	// txOn: a transaction is open on the connection and recorded;
	// txStart is the end of its begin.
	txOn    bool
	txStart time.Duration

	batch, batchOn bool
	batchQueued    *pgx.Batch
	batchTraced    int // queries of batchQueued recorded so far
	batchLast      time.Duration

	prepareOn    bool
	prepareSQL   string
	prepareStart time.Duration

	// copy: a CopyFrom is in flight; copyOn: and it is recorded.
	copy, copyOn bool
	copyTable    pgx.Identifier
	copyStart    time.Duration
}

// epoch is the origin of the tracer's clock.
var epoch = time.Now()

// clock returns the monotonic time since epoch: one clock read, where
// time.Now reads two.
func clock() time.Duration { return time.Since(epoch) }

// state returns conn's tracer state, creating it on a connection that was
// not established through this tracer.
func state(conn *pgx.Conn) *connState {
	data := conn.PgConn().CustomData()
	if s, ok := data[stateKey].(*connState); ok {
		return s
	}
	s := new(connState)
	data[stateKey] = s
	return s
}

// TraceConnectStart implements pgx.ConnectTracer.
func (t *Tracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

// TraceConnectEnd implements pgx.ConnectTracer: it attaches the tracer's
// state to the new connection, so that queries find it without allocating.
// Connecting is not a statement and is not recorded.
func (t *Tracer) TraceConnectEnd(_ context.Context, data pgx.TraceConnectEndData) {
	if data.Err == nil && data.Conn != nil {
		state(data.Conn)
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	s := state(conn)
	s.query = true
	s.queryOn = t.m.Installed()
	s.queryTx = conn.PgConn().TxStatus()
	s.querySQL = data.SQL
	if s.queryOn {
		s.queryStart = clock()
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer. A statement that began or
// ended a transaction (pgx's Begin, Commit and Rollback run them as
// queries) is not a statement: it starts or ends the transaction's timing,
// as Begin, Commit and Rollback do in the database/sql path.
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	s := state(conn)
	after := conn.PgConn().TxStatus()
	switch {
	case txBegan(s.queryTx, after, s.querySQL, data.Err):
		if s.queryOn && data.Err == nil {
			s.txOn, s.txStart = true, clock()
		}
	case txEnded(s.queryTx, after, s.querySQL, data.Err):
		if s.txOn {
			t.db.ObserveTx(txOutcome(s.querySQL, data), clock()-s.txStart)
		}
		s.txOn = false
	case s.queryOn:
		t.db.Observe(ctx, s.querySQL, clock()-s.queryStart, data.Err)
	}
	s.query, s.queryOn, s.querySQL = false, false, ""
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *Tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	s := state(conn)
	s.batch = true
	s.batchOn = t.m.Installed()
	if s.batchOn {
		s.batchQueued, s.batchTraced = data.Batch, 0
		s.batchLast = clock()
	}
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (t *Tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	s := state(conn)
	if !s.batchOn {
		return
	}
	now := clock()
	t.db.Observe(ctx, data.SQL, now-s.batchLast, data.Err)
	s.batchLast = now
	s.batchTraced++
}

// TraceBatchEnd implements pgx.BatchTracer. When the batch failed before
// pgx reported some of its queries (it prepares them all before running
// any, so one bad query fails them all), each unreported query is
// recorded as failed with the batch's error: the first with the time since
// the last report, the others with none, as they never ran.
func (t *Tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	s := state(conn)
	if s.batchOn && data.Err != nil && s.batchQueued != nil {
		d := clock() - s.batchLast
		for _, q := range s.batchQueued.QueuedQueries[min(s.batchTraced, len(s.batchQueued.QueuedQueries)):] {
			t.db.Observe(ctx, q.SQL, d, data.Err)
			d = 0
		}
	}
	s.batch, s.batchOn, s.batchQueued, s.batchTraced = false, false, nil, 0
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	s := state(conn)
	s.copy = true
	s.copyOn = t.m.Installed()
	if s.copyOn {
		s.copyTable = data.TableName
		s.copyStart = clock()
	}
	return ctx
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.endCopy(ctx, state(conn), data.Err)
}

// endCopy records the CopyFrom in flight on s, if it is recorded, and
// forgets it.
func (t *Tracer) endCopy(ctx context.Context, s *connState, err error) {
	if s.copyOn {
		d := clock() - s.copyStart
		query := "COPY FROM STDIN"
		if d >= t.m.SlowThreshold() {
			// Only a slow copy is logged, so only then is its text built.
			query = "COPY " + s.copyTable.Sanitize() + " FROM STDIN"
		}
		t.db.ObserveAs(ctx, middleware.QueryInsert, query, d, err)
	}
	s.copy, s.copyOn, s.copyTable = false, false, nil
}

// TracePrepareStart implements pgx.PrepareTracer.
func (t *Tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	s := state(conn)
	// Inside a query, batch or copy, a failed preparation is that
	// statement's error.
	s.prepareOn = !s.query && !s.batch && !s.copy && t.m.Installed()
	if s.prepareOn {
		s.prepareSQL = data.SQL
		s.prepareStart = clock()
	}
	return ctx
}

// TracePrepareEnd implements pgx.PrepareTracer.
func (t *Tracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	s := state(conn)
	if s.copy && !s.query && !s.batch && data.Err != nil {
		// CopyFrom describes its columns with a preparation; when that
		// fails, pgx returns without reporting the copy's end, so the
		// copy ends here (and a later end of the same copy finds
		// nothing in flight).
		t.endCopy(ctx, s, data.Err)
	}
	if s.prepareOn && data.Err != nil {
		t.db.Observe(ctx, s.prepareSQL, clock()-s.prepareStart, data.Err)
	}
	s.prepareOn, s.prepareSQL = false, ""
}

var (
	_ pgx.QueryTracer    = (*Tracer)(nil)
	_ pgx.BatchTracer    = (*Tracer)(nil)
	_ pgx.CopyFromTracer = (*Tracer)(nil)
	_ pgx.PrepareTracer  = (*Tracer)(nil)
	_ pgx.ConnectTracer  = (*Tracer)(nil)

	_ pgxpool.AcquireTracer = (*Tracer)(nil)
)
