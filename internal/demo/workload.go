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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
)

// DBName is the db_name label of the connection-pool metrics of a demo
// with one unnamed database (Options.Databases empty).
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
	// Dir is where the SQLite database files are created. Empty means a
	// new temporary directory, removed by Close.
	Dir string
	// Databases names the databases of the workload. Each is a SQLite
	// file of its own, wrapped WithDBName(name), with its pool metrics
	// registered under the same name, and each runs the whole workload
	// at QPS, its scenario set on its own or with the others. Empty means
	// one database whose statements carry no db_name and whose pool
	// metrics carry DBName.
	Databases []string
	// MaxStatements, when positive, turns the middleware's statement label
	// on: WithStatementLabel(MaxStatements).
	MaxStatements int
	// Statements is how many distinct names the workload gives its
	// statements: at least BaseStatements (the default), the names of
	// its kinds of statement. More add ListItemsPage01, ListItemsPage02,
	// …, run in turn once every 50 statements; beyond MaxStatements the
	// middleware folds the names seen last into _overflow.
	Statements int
}

// Workload is the demo application: SQLite databases behind the
// middleware and the goroutines that query them.
type Workload struct {
	opts    Options
	log     *slog.Logger
	mw      *middleware.Middleware
	dbs     []*database
	tempDir string // removed by Close when not empty
	// stop is closed when Run returns, so that statements sleeping inside
	// SQLite wake up instead of delaying shutdown.
	stop     chan struct{}
	stopOnce sync.Once

	started atomic.Uint64 // statements started
	skipped atomic.Uint64 // ticks skipped because maxInFlight were running
	failed  atomic.Uint64 // statements that failed without being meant to
}

// database is one database of the workload and the scenario it runs.
type database struct {
	name string // its db_name; "" for the one unnamed database
	db   *sql.DB

	mu       sync.Mutex
	scenario Scenario
	since    time.Time
	changed  chan struct{} // closed and replaced when the scenario changes

	// driving is the scenario Run's loop is driving now: a scenario change
	// is what is asked, driving follows once the loop has seen it.
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
	if opts.Statements == 0 {
		opts.Statements = BaseStatements
	}
	if opts.Statements < BaseStatements {
		return nil, fmt.Errorf("statements must be at least %d, the names of the workload's own statements, got %d", BaseStatements, opts.Statements)
	}
	if opts.MaxStatements < 0 {
		return nil, fmt.Errorf("max statements must be positive, got %d", opts.MaxStatements)
	}
	if err := checkDatabases(opts.Databases); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Workload{opts: opts, log: log, stop: make(chan struct{})}

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
	if opts.MaxStatements > 0 {
		mwOpts = append(mwOpts, middleware.WithStatementLabel(opts.MaxStatements))
	}
	mw, err := middleware.New(mwOpts...)
	if err != nil {
		return nil, fmt.Errorf("create middleware: %w", err)
	}
	w.mw = mw

	names := opts.Databases
	if len(names) == 0 {
		names = []string{""}
	}
	for _, name := range names {
		file, poolName := name+".db", name
		var wrapOpts []middleware.WrapOption
		if name == "" {
			file, poolName = "demo.db", DBName
		} else {
			wrapOpts = append(wrapOpts, middleware.WithDBName(name))
		}
		dsn := dsnFor(filepath.Join(dir, file))
		if err := seed(drv, dsn); err != nil {
			return nil, fmt.Errorf("database %q: %w", poolName, err)
		}
		db := &database{name: name, db: sql.OpenDB(mw.WrapDSN(drv, dsn, wrapOpts...)), scenario: Healthy, since: time.Now(), changed: make(chan struct{})}
		w.dbs = append(w.dbs, db)
		db.db.SetMaxOpenConns(opts.MaxOpenConns)
		// As many idle as open: connections are reused rather than
		// reopened, so the pool figures show the workload, not churn.
		db.db.SetMaxIdleConns(opts.MaxOpenConns)
		if opts.Registerer != nil {
			if err := mw.RegisterDBStats(db.db, poolName); err != nil {
				return nil, fmt.Errorf("register pool metrics: %w", err)
			}
		}
	}
	ok = true
	return w, nil
}

// DatabaseNameError is New's error for a name in Options.Databases that
// cannot name a database of the demo.
type DatabaseNameError struct {
	Name   string
	Reason string
}

func (e *DatabaseNameError) Error() string {
	return fmt.Sprintf("database name %q: %s", e.Name, e.Reason)
}

// checkDatabases reports the first name that cannot name a database of
// the demo: empty, duplicate, or unfit for a file name.
func checkDatabases(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "":
			return &DatabaseNameError{n, "must not be empty"}
		case seen[n]:
			return &DatabaseNameError{n, "named twice"}
		case strings.ContainsAny(n, `/\`) || n == "." || n == "..":
			return &DatabaseNameError{n, "must not contain a path separator or be . or .."}
		}
		seen[n] = true
	}
	return nil
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

// DB returns the instrumented handle of the first database.
func (w *Workload) DB() *sql.DB { return w.dbs[0].db }

// Databases returns the names of the databases, in the order of
// Options.Databases; a demo with one unnamed database returns nil.
func (w *Workload) Databases() []string { return w.opts.Databases }

// Middleware returns the middleware the database is wrapped with, for its
// in-process Stats.
func (w *Workload) Middleware() *middleware.Middleware { return w.mw }

// SetScenario switches every database of the running workload to s at
// once.
func (w *Workload) SetScenario(s Scenario) {
	for _, db := range w.dbs {
		w.setScenario(db, s)
	}
}

// SetScenarioOf switches database name alone to s; the others keep
// theirs. An unknown name is an error that lists the databases.
func (w *Workload) SetScenarioOf(name string, s Scenario) error {
	for _, db := range w.dbs {
		if db.name != "" && db.name == name {
			w.setScenario(db, s)
			return nil
		}
	}
	if len(w.opts.Databases) == 0 {
		return fmt.Errorf("unknown database %q: this demo runs one database without a name", name)
	}
	return fmt.Errorf("unknown database %q (want one of: %s)", name, strings.Join(w.opts.Databases, ", "))
}

func (w *Workload) setScenario(db *database, s Scenario) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if s == db.scenario {
		return
	}
	if db.name == "" {
		w.log.Info("demo scenario changed", "from", db.scenario, "to", s)
	} else {
		w.log.Info("demo scenario changed", "db_name", db.name, "from", db.scenario, "to", s)
	}
	db.scenario, db.since = s, time.Now()
	close(db.changed)
	db.changed = make(chan struct{})
}

// current returns the scenario of db and a channel closed when it changes.
func (db *database) current() (Scenario, time.Time, <-chan struct{}) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.scenario, db.since, db.changed
}

// Status is what the control endpoint reports.
type Status struct {
	// Scenario is the scenario every database runs, empty when they run
	// different ones; Since is when the last database switched to it.
	Scenario Scenario  `json:"scenario"`
	Since    time.Time `json:"since"`
	// BaseQPS is the healthy rate of each database; RateQPS is the rate
	// of all databases together, in their scenarios.
	BaseQPS float64 `json:"base_qps"`
	RateQPS float64 `json:"rate_qps"`
	// Started counts statements started since New; Skipped counts ticks
	// skipped because too many statements were still running; Unexpected
	// counts statements that failed although the scenario did not ask.
	Started    uint64 `json:"started"`
	Skipped    uint64 `json:"skipped"`
	Unexpected uint64 `json:"unexpected_errors"`
	// Databases is the state of each named database, in the order of
	// Options.Databases; absent for one unnamed database.
	Databases []DatabaseStatus `json:"databases,omitempty"`
}

// DatabaseStatus is the state of one named database.
type DatabaseStatus struct {
	// Name is its db_name.
	Name     string    `json:"db_name"`
	Scenario Scenario  `json:"scenario"`
	Since    time.Time `json:"since"`
	RateQPS  float64   `json:"rate_qps"`
}

// Status returns the workload's current state.
func (w *Workload) Status() Status {
	st := Status{
		BaseQPS:    w.opts.QPS,
		Started:    w.started.Load(),
		Skipped:    w.skipped.Load(),
		Unexpected: w.failed.Load(),
	}
	for i, db := range w.dbs {
		s, since, _ := db.current()
		rate := w.opts.QPS * s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency).rate
		st.RateQPS += rate
		switch {
		case i == 0:
			st.Scenario, st.Since = s, since
		case s != st.Scenario:
			st.Scenario = ""
		}
		if since.After(st.Since) {
			st.Since = since
		}
		if db.name != "" {
			st.Databases = append(st.Databases, DatabaseStatus{Name: db.name, Scenario: s, Since: since, RateQPS: rate})
		}
	}
	return st
}

// Run drives the workload of every database until ctx is done, following
// scenario changes, then waits for the statements in flight. It returns
// nil on cancellation: stopping is how a demo ends.
func (w *Workload) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		w.stopOnce.Do(func() { close(w.stop) })
		wg.Wait()
	}()
	sem := make(chan struct{}, maxInFlight)
	var loops sync.WaitGroup
	for _, db := range w.dbs {
		loops.Add(1)
		go func() {
			defer loops.Done()
			w.loop(ctx, db, sem, &wg)
		}()
	}
	loops.Wait()
	return nil
}

// loop drives db's workload until ctx is done, following its scenario.
func (w *Workload) loop(ctx context.Context, db *database, sem chan struct{}, wg *sync.WaitGroup) {
	for {
		s, _, changed := db.current()
		db.driving.Store(s)
		p := s.profile(w.opts.SlowThreshold, w.opts.SpikeLatency)
		sctx, cancel := context.WithCancel(ctx)
		if p.holdPool {
			w.holdPool(sctx, db, wg)
		}
		w.drive(ctx, db, changed, p, sem, wg)
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// drive runs the statements of profile p on db at its rate until the
// scenario changes or ctx is done. Statements run on ctx, not on the
// scenario's lifetime, so a switch never cancels one half-way and counts
// it an error.
func (w *Workload) drive(ctx context.Context, db *database, changed <-chan struct{}, p profile, sem chan struct{}, wg *sync.WaitGroup) {
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
			w.exec(ctx, db, st)
		}()
	}
}

// holdPool keeps every connection of the pool checked out until ctx is
// done: one more holder than the pool has connections, so a released
// connection always goes straight to a waiter and the pool never shows an
// idle connection. Queries still get through between holds, after waiting.
func (w *Workload) holdPool(ctx context.Context, db *database, wg *sync.WaitGroup) {
	for range w.opts.MaxOpenConns + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(0)
			defer t.Stop()
			for {
				c, err := db.db.Conn(ctx)
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

// The workload's statements, named the two ways the middleware reads a
// statement name (WithStatement): the SELECTs by a leading sqlc-style
// "-- name:" comment, the writes by WithStatement on their context.
// Slow SELECTs call sleep_ms in the select list, which SQLite evaluates
// once per row, and they select exactly one row.
const (
	sqlSelect      = "-- name: GetItem :one\nSELECT id, name, hits FROM items WHERE id = ?"
	sqlSearch      = "-- name: SearchItems :one\nSELECT id, name, hits, sleep_ms(?) FROM items WHERE id = ?"
	sqlSelectError = "-- name: GetArchivedItem :one\nSELECT id, name, hits FROM items_archive WHERE id = ?" // no such table: a missing migration
	sqlPage        = "-- name: %s :many\nSELECT id, name, hits FROM items WHERE id >= ? ORDER BY id LIMIT 3"
	sqlInsert      = `INSERT INTO items (name) VALUES (?)`
	sqlUpdate      = `UPDATE items SET hits = hits + 1 WHERE id = ?`
	sqlDelete      = `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id > ? ORDER BY id LIMIT 2)`
)

// The names of the writes, given with WithStatement.
const (
	nameInsert = "CreateItem"
	nameUpdate = "TouchItem"
	nameDelete = "PruneItems"
)

// BaseStatements is the number of statement names of the workload's own
// statements: GetItem, SearchItems (the one that gets slow),
// GetArchivedItem (the one that fails), CreateItem, TouchItem and
// PruneItems. Options.Statements adds pages to them.
const BaseStatements = 6

// Positions in the cycle of two fast SELECTs with names of their own:
// SearchItems runs fast in every scenario, so that its name is known from
// the first statements on, as the one that turns slow in the slow
// scenarios; the pages come last, so that the workload's own names are
// the first seen and keep their place under a small WithStatementLabel
// maximum, while the extra pages are the ones folded into _overflow.
const (
	searchAt = 3
	pageAt   = 44
)

// StatementNames returns the names the workload gives its statements with
// Options.Statements = n (BaseStatements when n is smaller), own names
// first, then the pages in the order they first run.
func StatementNames(n int) []string {
	names := []string{"GetItem", "SearchItems", "GetArchivedItem", nameInsert, nameUpdate, nameDelete}
	for i := 1; i <= n-BaseStatements; i++ {
		names = append(names, pageName(i))
	}
	return names
}

func pageName(i int) string { return fmt.Sprintf("ListItemsPage%02d", i) }

// exec runs one planned statement on db and reads its rows to the end, as
// an application would.
func (w *Workload) exec(ctx context.Context, db *database, st step) {
	w.started.Add(1)
	id := int64(st.seq*7919%seedRows) + 1 // spread over the seeded rows
	var err error
	switch st.kind {
	case stmtSelect:
		switch pages := w.opts.Statements - BaseStatements; {
		case st.seq%cycle == searchAt:
			err = query(ctx, db, sqlSearch, 0, id)
		case st.seq%cycle == pageAt && pages > 0:
			err = query(ctx, db, fmt.Sprintf(sqlPage, pageName(int(st.seq/cycle%uint64(pages))+1)), id)
		default:
			err = query(ctx, db, sqlSelect, id)
		}
	case stmtSelectSlow:
		err = query(ctx, db, sqlSearch, st.sleep.Milliseconds(), id)
	case stmtSelectError:
		if err = query(ctx, db, sqlSelectError, id); err != nil {
			return // meant to fail
		}
		err = errors.New("a statement meant to fail succeeded")
	case stmtInsert:
		_, err = db.db.ExecContext(middleware.WithStatement(ctx, nameInsert), sqlInsert, fmt.Sprintf("item-%d", st.seq))
	case stmtUpdate:
		_, err = db.db.ExecContext(middleware.WithStatement(ctx, nameUpdate), sqlUpdate, id)
	case stmtDelete:
		_, err = db.db.ExecContext(middleware.WithStatement(ctx, nameDelete), sqlDelete, seedRows)
	}
	if err != nil && ctx.Err() == nil {
		w.failed.Add(1)
		if db.name == "" {
			w.log.Warn("demo statement failed", "err", err)
		} else {
			w.log.Warn("demo statement failed", "db_name", db.name, "err", err)
		}
	}
}

func query(ctx context.Context, db *database, q string, args ...any) error {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// Close closes the databases and removes the temporary directory New
// made. Call it after Run has returned.
func (w *Workload) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	var errs []error
	for _, db := range w.dbs {
		errs = append(errs, db.db.Close())
	}
	if w.tempDir != "" {
		errs = append(errs, os.RemoveAll(w.tempDir))
	}
	return errors.Join(errs...)
}
