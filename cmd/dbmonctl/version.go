package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is dbmonctl's version, set by release builds with
// -ldflags "-X main.version=v1.2.3"; `go install …@v1.2.3` records it in
// the build info instead (see buildVersion). push records it in the
// dashboard's version history.
var version = "dev"

// buildVersion is the version of this binary: the -ldflags value when a
// release build set one, else the module version `go install` recorded,
// else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// buildCommit is the VCS revision the binary was built from, when the Go
// toolchain recorded one.
func buildCommit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print dbmonctl's version, commit and Go version",
		Long: `version prints the version of this dbmonctl binary (set by release builds,
or recorded by go install), the commit it was built from when known, and the
Go toolchain and platform. --version prints the version alone.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(a.stdout, "dbmonctl %s\n", buildVersion())
			if c := buildCommit(); c != "" {
				fmt.Fprintf(a.stdout, "commit   %s\n", c)
			}
			fmt.Fprintf(a.stdout, "go       %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
