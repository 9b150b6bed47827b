// Command gen writes configdoc_gen.go from config.go in the current
// directory; specs runs it with go generate.
package main

import (
	"fmt"
	"os"

	"github.com/dbmonctl/dbmonctl/specs/internal/configdoc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
}

func run() error {
	src, err := os.ReadFile("config.go")
	if err != nil {
		return err
	}
	docs, err := configdoc.Extract("config.go", src)
	if err != nil {
		return err
	}
	out, err := configdoc.Render("specs", "fieldDocs", "config.go", docs)
	if err != nil {
		return err
	}
	return os.WriteFile("configdoc_gen.go", out, 0o644)
}
