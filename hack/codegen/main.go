// Command codegen regenerates the generated-code patches of our series with
// upstream's generators (see internal/codegen).
//
//	codegen update   rewrite staging/<module>/90NN-generated-*.patch
//	codegen verify   fail if the committed generated patches are stale
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/kubenext/kubenext/internal/codegen"
)

func main() {
	root := flag.String("root", ".", "repository root (holds go.mod and staging/)")
	out := flag.String("out", "_output/codegen", "scratch directory for the trees the generators run in")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: codegen [flags] update|verify\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (flag.Arg(0) != "update" && flag.Arg(0) != "verify") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := codegen.Run(ctx, *root, *out, flag.Arg(0), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "codegen:", err)
		os.Exit(1)
	}
}
