// Command admissioncpu is the last step of make bench-admission-cpu: it
// reads the go test -bench output of internal/celadmission and prints the
// gate-off over gate-on ratios per size (internal/admissioncpubench).
//
//	admissioncpu _output/bench-admission-cpu.txt
package main

import (
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/admissioncpubench"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: admissioncpu <go test -bench output>")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	results, err := admissioncpubench.Parse(f)
	if err == nil {
		err = admissioncpubench.Summary(os.Stdout, results)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
