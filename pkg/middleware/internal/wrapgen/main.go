// Command wrapgen writes the types that give each wrapped driver object
// the optional interfaces database/sql must see on it.
//
// database/sql discovers a driver's abilities by type assertion. For most
// optional interfaces its behaviour without the interface can be
// reproduced exactly by a method that falls back to what database/sql
// would have done (Ping returns nil, PrepareContext calls Prepare, …): the
// wrapper implements those always, by hand, on its base type. The rest
// change database/sql's path by their mere presence (an ExecerContext that
// is there is called instead of preparing, a Validator and a
// SessionResetter together let a connection survive a cancelled
// transaction, a RowsColumnScanner replaces Next): the wrapper must have
// those exactly when the wrapped object has them. Go cannot add methods to
// a type at run time, so there is one small named type per combination of
// these exact interfaces, embedding the hand-written base wrapper and
// forwarding each method to the hand-written "mixin" that implements it.
// docs/adr/0006-wrapper-interfaces.md gives the reasoning per interface.
//
// Conn and Stmt types embed a pointer to the base (allocated once per
// connection or statement); Rows types embed the base by value, so a
// wrapped Rows costs a single allocation, which is then reused.
//
// An interface that exists only in newer Go versions carries a build
// constraint; a family with such an interface is written twice, to a file
// with the constraint and to one with its negation.
//
// It also writes, for the tests, fakes of every combination of every
// optional interface (exact and always-implemented), and the list of type
// assertions that tell which optional interfaces a value has.
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
	key     string // names the constants: cap<key> (wrapper bit), has<key> (test fake bit)
	name    string // driver interface, e.g. "driver.Pinger"
	always  bool   // the base wrapper implements it whatever the driver has
	tag     string // build constraint the interface needs, or ""
	mixin   string // hand-written type that implements it, for an exact interface
	methods []method
}

// family is one kind of driver object and its optional interfaces.
type family struct {
	base   string // hand-written wrapper base type
	result string // interface the constructors return
	byVal  bool   // embed the base by value (one allocation per wrapper)
	ifaces []iface
}

const ctx = "ctx context.Context"

var families = []family{
	{
		base: "conn", result: "driver.Conn",
		ifaces: []iface{
			{"Pinger", "driver.Pinger", true, "", "", []method{
				{"Ping", ctx, "ctx", "error"}}},
			{"Execer", "driver.Execer", false, "", "connExecer", []method{
				{"Exec", "query string, args []driver.Value", "query, args", "(driver.Result, error)"}}},
			{"ExecerContext", "driver.ExecerContext", false, "", "connExecerContext", []method{
				{"ExecContext", ctx + ", query string, args []driver.NamedValue", "ctx, query, args", "(driver.Result, error)"}}},
			{"Queryer", "driver.Queryer", false, "", "connQueryer", []method{
				{"Query", "query string, args []driver.Value", "query, args", "(driver.Rows, error)"}}},
			{"QueryerContext", "driver.QueryerContext", false, "", "connQueryerContext", []method{
				{"QueryContext", ctx + ", query string, args []driver.NamedValue", "ctx, query, args", "(driver.Rows, error)"}}},
			{"ConnPrepareContext", "driver.ConnPrepareContext", true, "", "", []method{
				{"PrepareContext", ctx + ", query string", "ctx, query", "(driver.Stmt, error)"}}},
			{"ConnBeginTx", "driver.ConnBeginTx", true, "", "", []method{
				{"BeginTx", ctx + ", opts driver.TxOptions", "ctx, opts", "(driver.Tx, error)"}}},
			{"SessionResetter", "driver.SessionResetter", false, "", "connSessionResetter", []method{
				{"ResetSession", ctx, "ctx", "error"}}},
			{"Validator", "driver.Validator", false, "", "connValidator", []method{
				{"IsValid", "", "", "bool"}}},
			{"ConnNamedValueChecker", "driver.NamedValueChecker", true, "", "", []method{
				{"CheckNamedValue", "nv *driver.NamedValue", "nv", "error"}}},
		},
	},
	{
		base: "stmt", result: "driver.Stmt",
		ifaces: []iface{
			{"StmtExecContext", "driver.StmtExecContext", true, "", "", []method{
				{"ExecContext", ctx + ", args []driver.NamedValue", "ctx, args", "(driver.Result, error)"}}},
			{"StmtQueryContext", "driver.StmtQueryContext", true, "", "", []method{
				{"QueryContext", ctx + ", args []driver.NamedValue", "ctx, args", "(driver.Rows, error)"}}},
			{"StmtNamedValueChecker", "driver.NamedValueChecker", true, "", "", []method{
				{"CheckNamedValue", "nv *driver.NamedValue", "nv", "error"}}},
			{"ColumnConverter", "driver.ColumnConverter", false, "", "stmtColumnConverter", []method{
				{"ColumnConverter", "idx int", "idx", "driver.ValueConverter"}}},
		},
	},
	{
		base: "rows", result: "driver.Rows", byVal: true,
		ifaces: []iface{
			{"RowsNextResultSet", "driver.RowsNextResultSet", true, "", "", []method{
				{"HasNextResultSet", "", "", "bool"},
				{"NextResultSet", "", "", "error"}}},
			{"RowsColumnTypeScanType", "driver.RowsColumnTypeScanType", true, "", "", []method{
				{"ColumnTypeScanType", "index int", "index", "reflect.Type"}}},
			{"RowsColumnTypeDatabaseTypeName", "driver.RowsColumnTypeDatabaseTypeName", true, "", "", []method{
				{"ColumnTypeDatabaseTypeName", "index int", "index", "string"}}},
			{"RowsColumnTypeLength", "driver.RowsColumnTypeLength", true, "", "", []method{
				{"ColumnTypeLength", "index int", "index", "(length int64, ok bool)"}}},
			{"RowsColumnTypeNullable", "driver.RowsColumnTypeNullable", true, "", "", []method{
				{"ColumnTypeNullable", "index int", "index", "(nullable, ok bool)"}}},
			{"RowsColumnTypePrecisionScale", "driver.RowsColumnTypePrecisionScale", true, "", "", []method{
				{"ColumnTypePrecisionScale", "index int", "index", "(precision, scale int64, ok bool)"}}},
			{"RowsColumnScanner", "driver.RowsColumnScanner", false, "go1.27", "rowsColumnScanner", []method{
				{"NextRow", "", "", "error"},
				{"ScanColumn", "scanCtx driver.ScanContext, index int, dest any", "scanCtx, index, dest", "error"}}},
		},
	},
}

const header = "// Code generated by wrapgen. DO NOT EDIT.\n\n"

func main() {
	out := flag.String("out", "wrap_gen.go", "wrapper types file; files for build-constrained interfaces get a _go<version> suffix")
	testOut := flag.String("test", "wrap_gen_test.go", "test fakes file, named likewise")
	flag.Parse()
	for _, f := range files(*out, *testOut) {
		write(f.path, f.src)
	}
}

// file is one generated file.
type file struct {
	path string
	src  []byte
}

// files returns every file the generator writes: the families without a
// build-constrained interface in out and testOut, and each constrained
// family twice, with and without its constrained interfaces.
func files(out, testOut string) []file {
	var plain []family
	byTag := map[string][]family{}
	var tags []string
	for _, f := range families {
		tag := ""
		for _, it := range f.ifaces {
			if it.tag != "" {
				tag = it.tag
			}
		}
		if tag == "" {
			plain = append(plain, f)
			continue
		}
		if _, ok := byTag[tag]; !ok {
			tags = append(tags, tag)
		}
		byTag[tag] = append(byTag[tag], f)
	}
	fs := []file{
		{out, generate("", plain, false)},
		{testOut, generate("", plain, true)},
	}
	for _, tag := range tags {
		// go1.27 → _go127 (with) and _go126 (without): the versions the files serve.
		with := strings.ReplaceAll(strings.TrimPrefix(tag, "go"), ".", "")
		without := previous(tag)
		var pre []family
		for _, f := range byTag[tag] {
			g := f
			g.ifaces = nil
			for _, it := range f.ifaces {
				if it.tag == "" {
					g.ifaces = append(g.ifaces, it)
				}
			}
			pre = append(pre, g)
		}
		fs = append(fs,
			file{suffixed(out, "_go"+with), generate(tag, byTag[tag], false)},
			file{suffixed(testOut, "_go"+with), generate(tag, byTag[tag], true)},
			file{suffixed(out, "_go"+without), generate("!"+tag, pre, false)},
			file{suffixed(testOut, "_go"+without), generate("!"+tag, pre, true)},
		)
	}
	return fs
}

// previous returns the version before a go1.N tag, without dots: go1.27 → 126.
func previous(tag string) string {
	var minor int
	if _, err := fmt.Sscanf(tag, "go1.%d", &minor); err != nil {
		log.Fatalf("build tag %q: want go1.N", tag)
	}
	return fmt.Sprintf("1%d", minor-1)
}

// suffixed inserts suffix before ".go" or "_test.go".
func suffixed(path, suffix string) string {
	if base, ok := strings.CutSuffix(path, "_test.go"); ok {
		return base + suffix + "_test.go"
	}
	return strings.TrimSuffix(path, ".go") + suffix + ".go"
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

// generate writes the wrapper types of fams, or with fake the test fakes.
func generate(tag string, fams []family, fake bool) []byte {
	var body bytes.Buffer
	for _, f := range fams {
		if fake {
			writeFakes(&body, f)
		} else {
			writeWrappers(&body, f)
		}
	}
	var b bytes.Buffer
	if tag != "" {
		fmt.Fprintf(&b, "//go:build %s\n\n", tag)
	}
	b.WriteString(header + "package middleware\n\nimport (\n")
	for _, pkg := range []string{"context", "database/sql/driver", "reflect"} {
		if bytes.Contains(body.Bytes(), []byte(pkg[strings.LastIndex(pkg, "/")+1:]+".")) {
			fmt.Fprintf(&b, "%q\n", pkg)
		}
	}
	b.WriteString(")\n\n")
	b.Write(body.Bytes())
	return b.Bytes()
}

// writeWrappers writes, for the exact interfaces of f, the capability
// bits, the function that computes them and one type per combination.
func writeWrappers(b *bytes.Buffer, f family) {
	var exact []iface
	for _, it := range f.ifaces {
		if !it.always {
			exact = append(exact, it)
		}
	}
	table, param := f.base+"Wrappers", "*"+f.base
	if f.byVal {
		param = f.base
	}
	if len(exact) > 0 {
		fmt.Fprintf(b, "// Optional interfaces that a wrapped %s has exactly when the driver's\n// has them, one bit each: the index of %s.\nconst (\n", f.result, table)
		for i, it := range exact {
			fmt.Fprintf(b, "cap%s = 1 << %d // %s\n", it.key, i, it.name)
		}
		b.WriteString(")\n\n")
	}
	fmt.Fprintf(b, "// %sMask returns the %s index for v.\n", f.base, table)
	if len(exact) == 0 {
		fmt.Fprintf(b, "func %sMask(%s) int { return 0 }\n\n", f.base, f.result)
	} else {
		fmt.Fprintf(b, "func %sMask(v %s) int {\nmask := 0\n", f.base, f.result)
		for _, it := range exact {
			fmt.Fprintf(b, "if _, ok := v.(%s); ok {\nmask |= cap%s\n}\n", it.name, it.key)
		}
		b.WriteString("return mask\n}\n\n")
	}
	n := 1 << len(exact)
	for mask := 1; mask < n; mask++ {
		typ := fmt.Sprintf("%s%d", f.base, mask)
		embed, self := "*"+f.base, "x."+f.base
		if f.byVal {
			embed, self = f.base, "&x."+f.base
		}
		fmt.Fprintf(b, "type %s struct{ %s }\n\n", typ, embed)
		for i, it := range exact {
			if mask&(1<<i) != 0 {
				writeMethods(b, typ, it.mixin, self, it.methods)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "// %s[mask] returns x as a %s that has exactly the optional interfaces in mask.\n", table, f.result)
	fmt.Fprintf(b, "var %s = [%d]func(x %s) %s{\n", table, n, param, f.result)
	for mask := range n {
		switch {
		case mask == 0 && f.byVal:
			fmt.Fprintf(b, "func(x %s) %s { return &x },\n", param, f.result)
		case mask == 0:
			fmt.Fprintf(b, "func(x %s) %s { return x },\n", param, f.result)
		default:
			fmt.Fprintf(b, "func(x %s) %s { return &%s%d{x} },\n", param, f.result, f.base, mask)
		}
	}
	b.WriteString("}\n\n")
}

// writeFakes writes the fakes of f: every combination of every optional
// interface over the fake base (fakeConn, …) and fake mixins
// (fakeConnPinger, …). A combination embeds the base and two half types,
// one for the low and one for the high half of the interface bits, so that
// 2^n combinations cost 2^(n/2+1) types with methods, not 2^n. The halves
// are embedded by value: a fake costs one allocation, as a driver's
// object would.
func writeFakes(b *bytes.Buffer, f family) {
	base := "fake" + strings.ToUpper(f.base[:1]) + f.base[1:]
	fmt.Fprintf(b, "// Optional interfaces of a fake %s, one bit each: the index of %sCombos.\nconst (\n", f.result, base)
	for i, it := range f.ifaces {
		fmt.Fprintf(b, "has%s = 1 << %d // %s\n", it.key, i, it.name)
	}
	b.WriteString(")\n\n")
	fmt.Fprintf(b, "// %sIfaces lists the optional interfaces of a %s by fake bit.\n", f.base, f.result)
	fmt.Fprintf(b, "var %sIfaces = []ifaceInfo{\n", f.base)
	for _, it := range f.ifaces {
		fmt.Fprintf(b, "{has%s, %q, %v, func(v any) bool { _, ok := v.(%s); return ok }},\n", it.key, it.name, it.always, it.name)
	}
	b.WriteString("}\n\n")

	lo := len(f.ifaces) / 2
	halves := []struct {
		name  string
		shift int
		n     int
	}{{"Lo", 0, lo}, {"Hi", lo, len(f.ifaces) - lo}}
	for _, h := range halves {
		for mask := range 1 << h.n {
			typ := fmt.Sprintf("%s%s%d", base, h.name, mask)
			fmt.Fprintf(b, "type %s struct{ *%s }\n\n", typ, base)
			for i := range h.n {
				if mask&(1<<i) == 0 {
					continue
				}
				it := f.ifaces[h.shift+i]
				writeMethods(b, typ, base+strings.TrimPrefix(it.name, "driver."), "x."+base, it.methods)
			}
			b.WriteString("\n")
		}
	}
	n := 1 << len(f.ifaces)
	fmt.Fprintf(b, "// %sCombos[mask] returns x as a %s that has exactly the optional interfaces in mask.\n", base, f.result)
	fmt.Fprintf(b, "var %sCombos = [%d]func(x *%s) %s{\n", base, n, base, f.result)
	for mask := range n {
		l := fmt.Sprintf("%sLo%d", base, mask&(1<<lo-1))
		h := fmt.Sprintf("%sHi%d", base, mask>>lo)
		fmt.Fprintf(b, "func(x *%s) %s { return &struct{*%s; %s; %s}{x, %s{x}, %s{x}} },\n", base, f.result, base, l, h, l, h)
	}
	b.WriteString("}\n\n")
}

// writeMethods writes methods of typ that forward to mixin's.
func writeMethods(b *bytes.Buffer, typ, mixin, self string, methods []method) {
	for _, m := range methods {
		fmt.Fprintf(b, "func (x *%s) %s(%s) %s { return (*%s)(%s).%s(%s) }\n",
			typ, m.name, m.params, m.result, mixin, self, m.name, m.args)
	}
}
