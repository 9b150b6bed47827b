// Command gen writes configdoc_gen.go from the config files in the current
// directory (configdoc.Files); specs runs it with go generate.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/dbmonctl/dbmonctl/specs/internal/configdoc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
}

func run() error {
	docs, err := configdoc.ExtractFiles(os.ReadFile, configdoc.Files...)
	if err != nil {
		return err
	}
	out, err := configdoc.Render("specs", "fieldDocs", strings.Join(configdoc.Files, ", "), docs)
	if err != nil {
		return err
	}
	return os.WriteFile("configdoc_gen.go", out, 0o644)
}
