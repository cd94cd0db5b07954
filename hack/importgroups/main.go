// Command importgroups checks that every Go file named on the command line
// groups its imports as standard library, third-party, then our module.
//
//	importgroups -module github.com/kubenext/kubenext $(git ls-files '*.go')
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/importgroups"
)

func main() {
	module := flag.String("module", "github.com/kubenext/kubenext", "our module path: its imports go in the last group")
	flag.Parse()
	bad := 0
	for _, file := range flag.Args() {
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "importgroups:", err)
			os.Exit(2)
		}
		problems, err := importgroups.Check(file, src, *module)
		if err != nil {
			fmt.Fprintln(os.Stderr, "importgroups:", err)
			os.Exit(2)
		}
		for _, p := range problems {
			fmt.Println(p)
		}
		bad += len(problems)
	}
	if bad > 0 {
		fmt.Printf("%d import grouping problems: standard library, then third-party, then github.com/kubenext/kubenext, separated by blank lines\n", bad)
		os.Exit(1)
	}
}
