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
	problems, err := importgroups.CheckFiles(flag.Args(), *module)
	for _, p := range problems {
		fmt.Println(p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "importgroups:", err)
		os.Exit(2)
	}
	if len(problems) > 0 {
		fmt.Printf("%d import grouping problems: standard library, then third-party, then %s, separated by blank lines\n", len(problems), *module)
		os.Exit(1)
	}
}
