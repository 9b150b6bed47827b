package main

import "runtime/debug"

// The version is set with -ldflags "-X main.version=v1.2.3" by release
// builds; `go install …@v1.2.3` records it in the build info instead.
func init() {
	if version != "dev" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
}
