// Command e2ereport prints why the specs of a Ginkgo JSON report failed:
//
//	e2ereport REPORT.json
//
// It exits 0 whatever the report holds; a missing or unreadable report is
// an error.
package main

import (
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/e2ereport"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: e2ereport REPORT.json (the file that --ginkgo.json-report wrote)")
		os.Exit(2)
	}
	reports, err := e2ereport.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2ereport:", err)
		os.Exit(1)
	}
	if e2ereport.Write(os.Stdout, reports, e2ereport.DefaultLimits) == 0 {
		fmt.Println("e2ereport: no spec failed in", os.Args[1])
	}
}
