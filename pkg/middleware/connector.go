package middleware

import (
	"context"
	"database/sql/driver"
	"io"
)

// WrapConnector returns a connector whose connections are instrumented by
// m, for sql.OpenDB:
//
//	db := sql.OpenDB(m.WrapConnector(connector))
//
// The wrapper's Driver is the instrumented form of c.Driver(), and it is an
// io.Closer exactly when c is one (database/sql closes such connectors in
// DB.Close). c must not be nil. Options: WithDBName.
func (m *Middleware) WrapConnector(c driver.Connector, opts ...WrapOption) driver.Connector {
	db := m.wrapDatabase(opts)
	return m.wrapConnector(c, m.wrapDriver(c.Driver(), db), db)
}

// wrapDatabase returns the database the options name.
func (m *Middleware) wrapDatabase(opts []WrapOption) *database {
	var cfg wrapConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	db := m.database(cfg.dbName)
	db.used.Store(true)
	return db
}

// wrapConnector wraps c, reporting d as its driver.
func (m *Middleware) wrapConnector(c driver.Connector, d driver.Driver, db *database) driver.Connector {
	w := &connector{m: m, db: db, inner: c, driver: d}
	if cl, ok := c.(io.Closer); ok {
		return &closingConnector{w, cl}
	}
	return w
}

// WrapDriver returns a driver whose connections are instrumented by m, for
// sql.Register:
//
//	sql.Register("postgres-timed", m.WrapDriver(stdlib.GetDefaultDriver()))
//
// When d implements driver.DriverContext, so does the wrapper, and its
// connectors are instrumented too. d must not be nil. Options: WithDBName.
func (m *Middleware) WrapDriver(d driver.Driver, opts ...WrapOption) driver.Driver {
	return m.wrapDriver(d, m.wrapDatabase(opts))
}

// wrapDriver wraps d, recording under db.
func (m *Middleware) wrapDriver(d driver.Driver, db *database) driver.Driver {
	w := &wrappedDriver{m: m, db: db, inner: d}
	if dc, ok := d.(driver.DriverContext); ok {
		return &contextDriver{w, dc}
	}
	return w
}

// WrapDSN returns an instrumented connector for a driver and a data source
// name, for drivers that offer no Connector of their own, such as
// modernc.org/sqlite:
//
//	db := sql.OpenDB(m.WrapDSN(&sqlite.Driver{}, "file:app.db"))
//
// It does what sql.Open does with a registered driver: it asks
// driver.DriverContext for a connector when d has one, and otherwise opens
// each connection with d.Open(dsn). If OpenConnector fails, the returned
// connector reports that error on every Connect, so it surfaces from the
// first query or db.Ping rather than from WrapDSN. d must not be nil.
// Options: WithDBName.
func (m *Middleware) WrapDSN(d driver.Driver, dsn string, opts ...WrapOption) driver.Connector {
	db := m.wrapDatabase(opts)
	wd := m.wrapDriver(d, db)
	if dc, ok := d.(driver.DriverContext); ok {
		c, err := dc.OpenConnector(dsn)
		if err != nil {
			return m.wrapConnector(failedConnector{err: err, driver: d}, wd, db)
		}
		return m.wrapConnector(c, wd, db)
	}
	return m.wrapConnector(dsnConnector{dsn: dsn, driver: d}, wd, db)
}

// connector instruments the connections of a driver.Connector.
type connector struct {
	m      *Middleware
	db     *database
	inner  driver.Connector
	driver driver.Driver
}

// Connect opens a connection through the wrapped connector and wraps it.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return conn, err
	}
	return c.m.wrapConn(conn, c.db), nil
}

// Driver returns the instrumented driver.
func (c *connector) Driver() driver.Driver { return c.driver }

// Unwrap returns the wrapped connector.
func (c *connector) Unwrap() driver.Connector { return c.inner }

// closingConnector is a connector whose wrapped connector is an io.Closer.
type closingConnector struct {
	*connector
	closer io.Closer
}

// Close closes the wrapped connector.
func (c *closingConnector) Close() error { return c.closer.Close() }

// wrappedDriver instruments the connections of a driver.Driver.
type wrappedDriver struct {
	m     *Middleware
	db    *database
	inner driver.Driver
}

// Open opens a connection with the wrapped driver and wraps it.
func (d *wrappedDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return c, err
	}
	return d.m.wrapConn(c, d.db), nil
}

// Unwrap returns the wrapped driver.
func (d *wrappedDriver) Unwrap() driver.Driver { return d.inner }

// contextDriver is a wrappedDriver whose driver implements DriverContext.
type contextDriver struct {
	*wrappedDriver
	dc driver.DriverContext
}

// OpenConnector returns an instrumented connector of the wrapped driver.
func (d *contextDriver) OpenConnector(name string) (driver.Connector, error) {
	c, err := d.dc.OpenConnector(name)
	if err != nil {
		return c, err
	}
	return d.m.wrapConnector(c, d, d.db), nil
}

// dsnConnector opens connections with Driver.Open, as database/sql does for
// a registered driver without DriverContext.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// failedConnector reports the error OpenConnector returned.
type failedConnector struct {
	err    error
	driver driver.Driver
}

func (c failedConnector) Connect(context.Context) (driver.Conn, error) { return nil, c.err }
func (c failedConnector) Driver() driver.Driver                        { return c.driver }
