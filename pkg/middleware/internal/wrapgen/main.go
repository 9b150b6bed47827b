// Command wrapgen writes the types that give each wrapped driver object
// exactly the optional interfaces of the object it wraps.
//
// database/sql discovers a driver's abilities by type assertion, so a
// wrapper that always implemented, say, driver.ConnBeginTx would change
// which code path database/sql takes for a driver that lacks it. Go cannot
// add methods to a type at run time, so there is one small named type per
// combination of optional interfaces, embedding the hand-written base
// wrapper and forwarding each optional method to the hand-written "mixin"
// that implements it. Conn and Stmt types embed a pointer to the base
// (allocated once per connection or statement); Rows types embed the base
// by value, so a wrapped Rows costs a single allocation per query.
//
// The legacy driver.Execer and driver.Queryer are not in the list: the
// wrapper reaches them through ExecerContext and QueryerContext exactly as
// database/sql would, which keeps the connection combinations at 256.
//
// It also writes, for the tests, inner fakes of every combination and the
// list of type assertions that tell which optional interfaces a value has.
//
// Run through go generate in pkg/middleware.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

// method is one method of an optional interface.
type method struct {
	name   string // e.g. "Ping"
	params string // e.g. "ctx context.Context"
	args   string // e.g. "ctx"
	result string // e.g. "error"
}

// iface is one optional interface of a family.
type iface struct {
	bit     string // capability constant
	name    string // driver interface, e.g. "driver.Pinger"
	mixin   string // hand-written type that implements it
	methods []method
}

// family is one kind of driver object and its optional interfaces.
type family struct {
	base   string // hand-written wrapper base type
	result string // interface the constructors return
	byVal  bool   // embed the base by value (one allocation per wrapper)
	ifaces []iface
}

var ctx = "ctx context.Context"

var families = []family{
	{
		base: "conn", result: "driver.Conn",
		ifaces: []iface{
			{"capPinger", "driver.Pinger", "connPinger", []method{
				{"Ping", ctx, "ctx", "error"}}},
			{"capExecerContext", "driver.ExecerContext", "connExecerContext", []method{
				{"ExecContext", ctx + ", query string, args []driver.NamedValue", "ctx, query, args", "(driver.Result, error)"}}},
			{"capQueryerContext", "driver.QueryerContext", "connQueryerContext", []method{
				{"QueryContext", ctx + ", query string, args []driver.NamedValue", "ctx, query, args", "(driver.Rows, error)"}}},
			{"capConnPrepareContext", "driver.ConnPrepareContext", "connPrepareContext", []method{
				{"PrepareContext", ctx + ", query string", "ctx, query", "(driver.Stmt, error)"}}},
			{"capConnBeginTx", "driver.ConnBeginTx", "connBeginTx", []method{
				{"BeginTx", ctx + ", opts driver.TxOptions", "ctx, opts", "(driver.Tx, error)"}}},
			{"capSessionResetter", "driver.SessionResetter", "connSessionResetter", []method{
				{"ResetSession", ctx, "ctx", "error"}}},
			{"capValidator", "driver.Validator", "connValidator", []method{
				{"IsValid", "", "", "bool"}}},
			{"capConnNamedValueChecker", "driver.NamedValueChecker", "connNamedValueChecker", []method{
				{"CheckNamedValue", "nv *driver.NamedValue", "nv", "error"}}},
		},
	},
	{
		base: "stmt", result: "driver.Stmt",
		ifaces: []iface{
			{"capStmtExecContext", "driver.StmtExecContext", "stmtExecContext", []method{
				{"ExecContext", ctx + ", args []driver.NamedValue", "ctx, args", "(driver.Result, error)"}}},
			{"capStmtQueryContext", "driver.StmtQueryContext", "stmtQueryContext", []method{
				{"QueryContext", ctx + ", args []driver.NamedValue", "ctx, args", "(driver.Rows, error)"}}},
			{"capStmtNamedValueChecker", "driver.NamedValueChecker", "stmtNamedValueChecker", []method{
				{"CheckNamedValue", "nv *driver.NamedValue", "nv", "error"}}},
			{"capColumnConverter", "driver.ColumnConverter", "stmtColumnConverter", []method{
				{"ColumnConverter", "idx int", "idx", "driver.ValueConverter"}}},
		},
	},
	{
		base: "rows", result: "driver.Rows", byVal: true,
		ifaces: []iface{
			{"capRowsNextResultSet", "driver.RowsNextResultSet", "rowsNextResultSet", []method{
				{"HasNextResultSet", "", "", "bool"},
				{"NextResultSet", "", "", "error"}}},
			{"capRowsColumnTypeScanType", "driver.RowsColumnTypeScanType", "rowsColumnTypeScanType", []method{
				{"ColumnTypeScanType", "index int", "index", "reflect.Type"}}},
			{"capRowsColumnTypeDatabaseTypeName", "driver.RowsColumnTypeDatabaseTypeName", "rowsColumnTypeDatabaseTypeName", []method{
				{"ColumnTypeDatabaseTypeName", "index int", "index", "string"}}},
			{"capRowsColumnTypeLength", "driver.RowsColumnTypeLength", "rowsColumnTypeLength", []method{
				{"ColumnTypeLength", "index int", "index", "(length int64, ok bool)"}}},
			{"capRowsColumnTypeNullable", "driver.RowsColumnTypeNullable", "rowsColumnTypeNullable", []method{
				{"ColumnTypeNullable", "index int", "index", "(nullable, ok bool)"}}},
			{"capRowsColumnTypePrecisionScale", "driver.RowsColumnTypePrecisionScale", "rowsColumnTypePrecisionScale", []method{
				{"ColumnTypePrecisionScale", "index int", "index", "(precision, scale int64, ok bool)"}}},
		},
	},
}

const header = "// Code generated by wrapgen. DO NOT EDIT.\n\n"

func main() {
	out := flag.String("out", "wrap_gen.go", "wrapper types file")
	testOut := flag.String("test", "wrap_gen_test.go", "test fakes file")
	flag.Parse()
	write(*out, generate(false))
	write(*testOut, generate(true))
}

func write(path string, src []byte) {
	formatted, err := format.Source(src)
	if err != nil {
		log.Fatalf("format %s: %v\n%s", path, err, src)
	}
	if err := os.WriteFile(path, formatted, 0o644); err != nil {
		log.Fatalf("write %s: %v", path, err)
	}
}

// generate writes the wrapper types, or with fake the test fakes: the same
// combinations over the fake bases (fakeConn, fakeStmt, fakeRows) and fake
// mixins (fakeConnPinger, …), always embedded by pointer.
func generate(fake bool) []byte {
	var b bytes.Buffer
	b.WriteString(header + "package middleware\n\nimport (\n\"context\"\n\"database/sql/driver\"\n\"reflect\"\n)\n\n")
	for _, f := range families {
		base, byVal := f.base, f.byVal
		if fake {
			base, byVal = "fake"+strings.ToUpper(base[:1])+base[1:], false
		}
		n := 1 << len(f.ifaces)
		if !fake {
			fmt.Fprintf(&b, "// Optional interfaces of a %s, one bit each: the index of %sWrappers.\nconst (\n", f.result, f.base)
			for i, it := range f.ifaces {
				fmt.Fprintf(&b, "%s = 1 << %d // %s\n", it.bit, i, it.name)
			}
			b.WriteString(")\n\n")
		} else {
			fmt.Fprintf(&b, "// %sCaps lists the optional interfaces of a %s by capability bit.\n", f.base, f.result)
			fmt.Fprintf(&b, "var %sCaps = []struct {\nbit  int\nname string\nhas  func(any) bool\n}{\n", f.base)
			for _, it := range f.ifaces {
				fmt.Fprintf(&b, "{%s, %q, func(v any) bool { _, ok := v.(%s); return ok }},\n", it.bit, it.name, it.name)
			}
			b.WriteString("}\n\n")
		}
		for mask := 1; mask < n; mask++ {
			typ := fmt.Sprintf("%s%d", base, mask)
			embed, self := "*"+base, "x."+base
			if byVal {
				embed, self = base, "&x."+base
			}
			fmt.Fprintf(&b, "type %s struct{ %s }\n\n", typ, embed)
			for i, it := range f.ifaces {
				if mask&(1<<i) == 0 {
					continue
				}
				mixin := it.mixin
				if fake {
					mixin = base + strings.TrimPrefix(it.name, "driver.")
				}
				for _, m := range it.methods {
					ret := "return "
					if m.result == "" {
						ret = ""
					}
					fmt.Fprintf(&b, "func (x *%s) %s(%s) %s { %s(*%s)(%s).%s(%s) }\n",
						typ, m.name, m.params, m.result, ret, mixin, self, m.name, m.args)
				}
			}
			b.WriteString("\n")
		}
		table, param, arg := f.base+"Wrappers", "*"+base, "x"
		if fake {
			table = base + "Combos"
		} else if byVal {
			param = base
		}
		fmt.Fprintf(&b, "// %s[mask] returns x as a %s that has exactly the optional interfaces in mask.\n", table, f.result)
		fmt.Fprintf(&b, "var %s = [%d]func(x %s) %s{\n", table, n, param, f.result)
		for mask := range n {
			switch {
			case mask == 0 && byVal:
				fmt.Fprintf(&b, "func(x %s) %s { return &x },\n", param, f.result)
			case mask == 0:
				fmt.Fprintf(&b, "func(x %s) %s { return x },\n", param, f.result)
			default:
				fmt.Fprintf(&b, "func(x %s) %s { return &%s%d{%s} },\n", param, f.result, base, mask, arg)
			}
		}
		b.WriteString("}\n\n")
	}
	return b.Bytes()
}
