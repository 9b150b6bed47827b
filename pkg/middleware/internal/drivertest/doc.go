// Package drivertest holds the middleware's tests and benchmarks that need
// real database drivers: pgx against PostgreSQL, go-sql-driver/mysql
// against MySQL or MariaDB, and modernc.org/sqlite. It is a module of its
// own so that those drivers are requirements of this test module only,
// never of the middleware's module, whose users would otherwise inherit
// them as version floors and in their go.sum.
//
// The tests use the middleware's public API only, as an application does.
package drivertest
