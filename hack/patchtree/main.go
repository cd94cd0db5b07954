// Command patchtree builds the patched upstream trees and the go.work that
// points every build at them (see internal/patchtree).
//
//	patchtree apply    materialize _output/src/<module>@<version> and _output/go.work
//	patchtree verify   check that every series applies to the pinned modules; writes nothing
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/patchtree"
)

func main() {
	root := flag.String("root", ".", "repository root (holds go.mod and staging/)")
	out := flag.String("out", "_output", "output directory for patched trees and go.work")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: patchtree [flags] apply|verify\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := patchtree.Run(flag.Arg(0), *root, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "patchtree:", err)
		os.Exit(1)
	}
}
