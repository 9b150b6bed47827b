package pgxbench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/pkg/middleware"
	"github.com/dbmonctl/dbmonctl/pkg/pgxtrace"
	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func dsn(b *testing.B) string {
	b.Helper()
	d := os.Getenv("DBMON_POSTGRES_DSN")
	if d == "" {
		d = defaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, d)
	if err != nil {
		if os.Getenv("DBMON_REQUIRE_DBS") == "1" {
			b.Fatalf("postgres unreachable: %v", err)
		}
		b.Skipf("skipping: postgres unreachable (%v)", err)
	}
	_ = c.Close(ctx)
	return d
}

// impl is one way of running pgx: its tracer (nil for bare pgx) and the
// context its queries run in.
type impl struct {
	name   string
	tracer func(b *testing.B) pgx.QueryTracer
	ctx    func(b *testing.B) context.Context
}

// impls are compared in one run. otelpgx is measured as a service uses it,
// with the OpenTelemetry SDK's tracer provider and queries under a sampled
// span (spans are recorded, then dropped: no exporter), and with no-op
// providers (what it costs when nothing is traced).
func impls() []impl {
	background := func(*testing.B) context.Context { return context.Background() }
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	return []impl{
		{"bare", func(*testing.B) pgx.QueryTracer { return nil }, background},
		{"dbmonctl", func(b *testing.B) pgx.QueryTracer {
			m, err := middleware.New(middleware.WithRegisterer(nil), middleware.WithLogger(nil))
			if err != nil {
				b.Fatal(err)
			}
			return pgxtrace.New(m)
		}, background},
		{"otelpgx", func(*testing.B) pgx.QueryTracer {
			return otelpgx.NewTracer(otelpgx.WithTracerProvider(sdk))
		}, func(b *testing.B) context.Context {
			ctx, span := sdk.Tracer("bench").Start(context.Background(), "request")
			b.Cleanup(func() { span.End() })
			return ctx
		}},
		{"otelpgx-noop", func(*testing.B) pgx.QueryTracer {
			return otelpgx.NewTracer(otelpgx.WithTracerProvider(noop.NewTracerProvider()))
		}, background},
	}
}

var _ trace.Tracer = noop.Tracer{}

// BenchmarkQuery runs one round trip per iteration on one connection.
func BenchmarkQuery(b *testing.B) {
	d := dsn(b)
	for _, im := range impls() {
		b.Run("impl="+im.name, func(b *testing.B) {
			cfg, err := pgx.ParseConfig(d)
			if err != nil {
				b.Fatal(err)
			}
			cfg.Tracer = im.tracer(b)
			ctx := im.ctx(b)
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(context.Background())
			var n int
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := conn.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrace measures only what a tracer adds to a query: its
// TraceQueryStart and TraceQueryEnd, called as pgx calls them on a live
// connection. The database round trip, which dwarfs both, is left out, so
// the difference is not lost in its noise.
func BenchmarkTrace(b *testing.B) {
	d := dsn(b)
	for _, im := range impls() {
		b.Run("impl="+im.name, func(b *testing.B) {
			cfg, err := pgx.ParseConfig(d)
			if err != nil {
				b.Fatal(err)
			}
			tr := im.tracer(b)
			cfg.Tracer = tr
			ctx := im.ctx(b)
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(context.Background())
			start := pgx.TraceQueryStartData{SQL: "SELECT $1::int"}
			end := pgx.TraceQueryEndData{}
			b.ReportAllocs()
			if tr == nil {
				for b.Loop() {
				}
				return
			}
			for b.Loop() {
				c := tr.TraceQueryStart(ctx, conn, start)
				tr.TraceQueryEnd(c, conn, end)
			}
		})
	}
}

// BenchmarkClock is the floor of timing a query: the two monotonic clock
// readings (start and end) that any tracer measuring a duration makes.
// On virtual machines a reading costs tens of nanoseconds, so this floor
// is most of what pgxtrace adds; compare BenchmarkTrace's pgxtrace line
// with it.
func BenchmarkClock(b *testing.B) {
	epoch := time.Now()
	var d time.Duration
	for b.Loop() {
		start := time.Since(epoch)
		d += time.Since(epoch) - start
	}
	if d < 0 {
		b.Fatal("the monotonic clock went back")
	}
}

// BenchmarkAcquire acquires and releases the one connection of a pool
// under a context that can end (a request's), bare and with pgxtrace as
// the pool's tracer, whose AcquireTracer times such an acquire: the cost
// of counting the acquires that give up waiting.
func BenchmarkAcquire(b *testing.B) {
	d := dsn(b)
	for _, traced := range []bool{false, true} {
		name := "impl=bare"
		if traced {
			name = "impl=pgxtrace"
		}
		b.Run(name, func(b *testing.B) {
			cfg, err := pgxpool.ParseConfig(d)
			if err != nil {
				b.Fatal(err)
			}
			cfg.MaxConns = 1
			if traced {
				m, err := middleware.New(middleware.WithRegisterer(nil), middleware.WithLogger(nil))
				if err != nil {
					b.Fatal(err)
				}
				cfg.ConnConfig.Tracer = pgxtrace.New(m)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			b.ReportAllocs()
			for b.Loop() {
				c, err := pool.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				c.Release()
			}
		})
	}
}
