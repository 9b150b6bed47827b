package demo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// DBName is the db_name label of the demo's connection-pool metrics.
const DBName = "demo"

// Defaults of Options.
const (
	DefaultQPS          = 20
	DefaultMaxOpenConns = 10
	// maxInFlight bounds the goroutines running queries: when the database
	// cannot keep up (a saturated pool), the workload skips a tick rather
	// than piling up goroutines without limit.
	maxInFlight = 256
	// seedRows is the size of the items table; SELECTs, UPDATEs and
	// DELETEs stay within it or above it, so they always find their rows.
	seedRows = 1000
	// holdFor is how long a pool-saturation holder keeps a connection
	// before handing it on. Short, so queued queries still get through.
	holdFor = 20 * time.Millisecond
)

// Options configure a Workload. Take SlowThreshold, Buckets and
// SpikeLatency from the same spec the alert rules come from, so that the
// demo emits what the rules expect.
type Options struct {
	// QPS is the base rate of the healthy workload, in statements per
	// second; scenarios run at a multiple of it. Zero means DefaultQPS.
	QPS float64
	// SlowThreshold is the middleware's slow threshold; slow scenarios
	// make statements take 1.5× it. Zero means the middleware's default.
	SlowThreshold time.Duration
	// SpikeLatency is how long the p99-spike scenario's slow statements
	// take: above the p99 critical threshold. Zero means 1.5 s.
	SpikeLatency time.Duration
	// Buckets are the histogram bounds of the query duration metric; nil
	// means the middleware's default.
	Buckets []float64
	// MaxOpenConns is the size of the connection pool. Zero means
	// DefaultMaxOpenConns.
	MaxOpenConns int
	// Registerer receives the middleware's and the pool's metrics.
	Registerer prometheus.Registerer
	// Logger receives the middleware's slow-query logs and the demo's own.
	// Nil discards them.
	Logger *slog.Logger
	// Dir is where the SQLite database file is created. Empty means a new
	// temporary directory, removed by Close.
	Dir string
}

// Workload is the demo application: a SQLite database behind the
// middleware and the goroutines that query it.
type Workload struct {
	opts    Options
	log     *slog.Logger
	mw      *middleware.Middleware
	db      *sql.DB
	tempDir string // removed by Close when not empty
	// stop is closed when Run returns, so that statements sleeping inside
	// SQLite wake up instead of delaying shutdown.
	stop     chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	scenario Scenario
	since    time.Time
	changed  chan struct{} // closed and replaced by SetScenario

	started atomic.Uint64 // statements started
	skipped atomic.Uint64 // ticks skipped because maxInFlight were running
	failed  atomic.Uint64 // statements that failed without being meant to
	// driving is the scenario Run's loop is driving now: SetScenario
	// changes what is asked, driving follows once the loop has seen it.
	driving atomic.Value
}

// New opens the demo database (schema and seed rows are written with the
// bare driver, so they do not show in the metrics), wraps it with the
// middleware and registers the middleware's and the pool's metrics. The
// workload starts in the healthy scenario; call Run to drive it and Close
// when done.
func New(opts Options) (*Workload, error) {
	if opts.QPS == 0 {
		opts.QPS = DefaultQPS
	}
	if opts.QPS < 0 {
		return nil, fmt.Errorf("qps must be positive, got %v", opts.QPS)
	}
	if opts.SlowThreshold == 0 {
		opts.SlowThreshold = middleware.DefaultSlowThreshold
	}
	if opts.SpikeLatency == 0 {
		opts.SpikeLatency = 1500 * time.Millisecond
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = DefaultMaxOpenConns
	}
	if opts.MaxOpenConns < 0 {
		return nil, fmt.Errorf("max open connections must be positive, got %d", opts.MaxOpenConns)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Workload{opts: opts, log: log, stop: make(chan struct{}), scenario: Healthy, since: time.Now(), changed: make(chan struct{})}

	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "dbmonctl-demo-"); err != nil {
			return nil, fmt.Errorf("create demo database directory: %w", err)
		}
		w.tempDir = dir
	}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()

	drv := &sqlite.Driver{}
	if err := drv.RegisterScalarFunction("sleep_ms", 1, w.sleepMS); err != nil {
		return nil, fmt.Errorf("register sleep_ms: %w", err)
	}
	dsn := dsnFor(filepath.Join(dir, "demo.db"))
	if err := seed(drv, dsn); err != nil {
		return nil, err
	}

	mwOpts := []middleware.Option{
		middleware.WithSlowThreshold(opts.SlowThreshold),
		middleware.WithLogger(log),
	}
	if opts.Registerer != nil {
		mwOpts = append(mwOpts, middleware.WithRegisterer(opts.Registerer))
	}
	if opts.Buckets != nil {
		mwOpts = append(mwOpts, middleware.WithBuckets(opts.Buckets))
	}
	mw, err := middleware.New(mwOpts...)
	if err != nil {
		return nil, fmt.Errorf("create middleware: %w", err)
	}
	w.mw = mw
	w.db = sql.OpenDB(mw.WrapDSN(drv, dsn))
	w.db.SetMaxOpenConns(opts.MaxOpenConns)
	// As many idle as open: connections are reused rather than reopened,
	// so the pool figures show the workload, not churn.
	w.db.SetMaxIdleConns(opts.MaxOpenConns)
	if opts.Registerer != nil {
		if err := mw.RegisterDBStats(w.db, DBName); err != nil {
			return nil, fmt.Errorf("register pool metrics: %w", err)
		}
	}
	ok = true
	return w, nil
}

// dsnFor is the SQLite DSN of the demo database: WAL so that readers never
// wait for the writer, a busy timeout so that writers queue instead of
// failing, and no fsync, because a demo's durability is worth less than
// timings that do not depend on the disk.
func dsnFor(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "synchronous(OFF)")
	return "file:" + path + "?" + q.Encode()
}

// seed creates and fills the items table through the bare driver.
func seed(drv *sqlite.Driver, dsn string) error {
	db := sql.OpenDB(bareConnector{drv, dsn})
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS items (
		id   INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		hits INTEGER NOT NULL DEFAULT 0
	)`); err != nil {
		return fmt.Errorf("create demo schema: %w", err)
	}
	if _, err := db.Exec(`DELETE FROM items`); err != nil {
		return fmt.Errorf("clear demo table: %w", err)
	}
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO items (id, name) SELECT i, 'item-' || i FROM n`, seedRows); err != nil {
		return fmt.Errorf("seed demo table: %w", err)
	}
	return nil
}

// bareConnector opens connections with the bare driver, for setup
// statements that are not part of the workload.
type bareConnector struct {
	drv *sqlite.Driver
	dsn string
}

func (c bareConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c bareConnector) Driver() driver.Driver                        { return c.drv }

// sleepMS is the sleep_ms(n) SQL function: it sleeps n milliseconds inside
// the statement that calls it and returns 0. It wakes early when the
// workload stops, so that shutdown never waits for a spike.
func (w *Workload) sleepMS(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	ms, ok := args[0].(int64)
	if !ok {
		return nil, fmt.Errorf("sleep_ms: want an integer number of milliseconds, got %T", args[0])
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return int64(0), nil
	case <-w.stop:
		return nil, errors.New("sleep_ms: interrupted, the demo is stopping")
	}
}

// DB returns the instrumented database handle.
func (w *Workload) DB() *sql.DB { return w.db }

// Middleware returns the middleware the database is wrapped with, for its
// in-process Stats.
func (w *Workload) Middleware() *middleware.Middleware { return w.mw }

// SetScenario switches the running workload to s at once.
func (w *Workload) SetScenario(s Scenario) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s == w.scenario {
		return
	}
	w.log.Info("demo scenario changed", "from", w.scenario, "to", s)
	w.scenario, w.since = s, time.Now()
	close(w.changed)
	w.changed = make(chan struct{})
}

// current returns the scenario and a channel closed when it changes.
func (w *Workload) current() (Scenario, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scenario, w.changed
}

// Status is what the control endpoint reports.
type Status struct {
	// Scenario is the running scenario and Since when it started.
	Scenario Scenario  `json:"scenario"`
	Since    time.Time `json:"since"`
	// BaseQPS is the healthy rate; RateQPS is the scenario's.
	BaseQPS float64 `json:"base_qps"`
	RateQPS float64 `json:"rate_qps"`
	// Started counts statements started since New; Skipped counts ticks
	// skipped because too many statements were still running; Unexpected
	// counts statements that failed although the scenario did not ask.
	Started    uint64 `json:"started"`
	Skipped    uint64 `json:"skipped"`
	Unexpected uint64 `json:"unexpected_errors"`
}

// Status returns the workload's current state.
func (w *Workload) Status() Status {
	w.mu.Lock()
	s, since := w.scenario, w.since
	w.mu.Unlock()
	return Status{
		Scenario:   s,
		Since:      since,
		BaseQPS:    w.opts.QPS,
		RateQPS:    w.opts.QPS * s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency).rate,
		Started:    w.started.Load(),
		Skipped:    w.skipped.Load(),
		Unexpected: w.failed.Load(),
	}
}

// Run drives the workload until ctx is done, following scenario changes,
// then waits for the statements in flight. It returns nil on
// cancellation: stopping is how a demo ends.
func (w *Workload) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		w.stopOnce.Do(func() { close(w.stop) })
		wg.Wait()
	}()
	sem := make(chan struct{}, maxInFlight)
	for {
		s, changed := w.current()
		w.driving.Store(s)
		p := s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency)
		sctx, cancel := context.WithCancel(ctx)
		if p.holdPool {
			w.holdPool(sctx, &wg)
		}
		w.drive(ctx, changed, p, sem, &wg)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drive runs the statements of profile p at its rate until the scenario
// changes or ctx is done. Statements run on ctx, not on the scenario's
// lifetime, so a switch never cancels one half-way and counts it an error.
func (w *Workload) drive(ctx context.Context, changed <-chan struct{}, p profile, sem chan struct{}, wg *sync.WaitGroup) {
	if p.rate <= 0 {
		select {
		case <-ctx.Done():
		case <-changed:
		}
		return
	}
	pl := newPlanner(p)
	t := time.NewTicker(time.Duration(float64(time.Second) / (w.opts.QPS * p.rate)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			return
		case <-t.C:
		}
		st := pl.next()
		select {
		case sem <- struct{}{}:
		default:
			w.skipped.Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.exec(ctx, st)
		}()
	}
}

// holdPool keeps every connection of the pool checked out until ctx is
// done: one more holder than the pool has connections, so a released
// connection always goes straight to a waiter and the pool never shows an
// idle connection. Queries still get through between holds, after waiting.
func (w *Workload) holdPool(ctx context.Context, wg *sync.WaitGroup) {
	for range w.opts.MaxOpenConns + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(0)
			defer t.Stop()
			for {
				c, err := w.db.Conn(ctx)
				if err != nil {
					return // ctx is done
				}
				t.Reset(holdFor)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				c.Close()
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
}

// The workload's statements. Slow ones call sleep_ms in the select list,
// which SQLite evaluates once per row, and they select exactly one row.
const (
	sqlSelect      = `SELECT id, name, hits FROM items WHERE id = ?`
	sqlSelectSlow  = `SELECT id, name, hits, sleep_ms(?) FROM items WHERE id = ?`
	sqlSelectError = `SELECT id, name, hits FROM items_archive WHERE id = ?` // no such table: a missing migration
	sqlInsert      = `INSERT INTO items (name) VALUES (?)`
	sqlUpdate      = `UPDATE items SET hits = hits + 1 WHERE id = ?`
	sqlDelete      = `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id > ? ORDER BY id LIMIT 2)`
)

// exec runs one planned statement and reads its rows to the end, as an
// application would.
func (w *Workload) exec(ctx context.Context, st step) {
	w.started.Add(1)
	id := int64(st.seq*7919%seedRows) + 1 // spread over the seeded rows
	var err error
	switch st.kind {
	case stmtSelect:
		err = w.query(ctx, sqlSelect, id)
	case stmtSelectSlow:
		err = w.query(ctx, sqlSelectSlow, st.sleep.Milliseconds(), id)
	case stmtSelectError:
		if err = w.query(ctx, sqlSelectError, id); err != nil {
			return // meant to fail
		}
		err = errors.New("a statement meant to fail succeeded")
	case stmtInsert:
		_, err = w.db.ExecContext(ctx, sqlInsert, fmt.Sprintf("item-%d", st.seq))
	case stmtUpdate:
		_, err = w.db.ExecContext(ctx, sqlUpdate, id)
	case stmtDelete:
		_, err = w.db.ExecContext(ctx, sqlDelete, seedRows)
	}
	if err != nil && ctx.Err() == nil {
		w.failed.Add(1)
		w.log.Warn("demo statement failed", "err", err)
	}
}

func (w *Workload) query(ctx context.Context, q string, args ...any) error {
	rows, err := w.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// Close closes the database and removes the temporary directory New made.
// Call it after Run has returned.
func (w *Workload) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	var errs []error
	if w.db != nil {
		errs = append(errs, w.db.Close())
	}
	if w.tempDir != "" {
		errs = append(errs, os.RemoveAll(w.tempDir))
	}
	return errors.Join(errs...)
}
