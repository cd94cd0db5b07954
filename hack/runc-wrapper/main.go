// Command kubenext-runc-wrapper is an OCI runtime that Docker uses in place
// of runc on hosts whose capability bounding set is short; see package
// internal/runcwrapper for what it changes and why.
//
// Build it static (CGO_ENABLED=0): it runs from containerd's shim with
// whatever environment and libraries the host has.
//
// The real runc is $KUBENEXT_REAL_RUNC, else the first runc on PATH that is
// not this program. The wrapper takes no flags of its own, since everything
// on its command line belongs to runc.
package main

import (
	"os"

	"github.com/kubenext/kubenext/internal/runcwrapper"
)

func main() {
	os.Exit(runcwrapper.Main(os.Args[1:]))
}
