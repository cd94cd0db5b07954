// Command conformance runs upstream's [Conformance] specs against the kind
// cluster with the ginkgo CLI: the non-serial specs in parallel, then the
// [Serial] ones alone, skipping the specs on the skip list. It then writes
// the counts, failures (with their triage notes) and skips into the
// generated part of docs/conformance.md. The logic is in
// internal/conformance.
//
//	conformance run        both phases, then the summary
//	conformance rerun      the failures of the last run once more, then the summary
//	conformance summarise  only the summary, from an earlier run's reports
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kubenext/kubenext/internal/conformance"
	"github.com/kubenext/kubenext/internal/steps"
)

func main() {
	o := conformance.Options{Steps: &steps.Steps{Out: os.Stdout}}
	fs := flag.NewFlagSet("conformance", flag.ExitOnError)
	fs.StringVar(&o.E2ETest, "e2e-test", "_output/bin/e2e.test", "upstream's suite as compiled by make conformance")
	fs.StringVar(&o.Ginkgo, "ginkgo", "_output/tools/ginkgo", "the ginkgo CLI, at the version go.mod pins")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "the cluster's kubeconfig")
	fs.StringVar(&o.Kubectl, "kubectl", "_output/bin/kubectl", "the kubectl the kubectl specs run")
	fs.StringVar(&o.SkipsFile, "skips", "test/conformance/skips.txt", "specs not to run, each with its reason")
	fs.StringVar(&o.TriageFile, "triage", "test/conformance/triage.txt", "notes on known failures")
	fs.StringVar(&o.Dir, "dir", "_output/conformance", "where ginkgo's reports and logs go")
	fs.StringVar(&o.Doc, "doc", "docs/conformance.md", "the document whose generated part is rewritten")
	fs.StringVar(&o.Command, "command", "make conformance", "the command recorded in the document")
	fs.IntVar(&o.Procs, "procs", 4, "ginkgo processes for the parallel phase")
	fs.DurationVar(&o.ParallelTimeout, "parallel-timeout", 90*time.Minute, "ginkgo --timeout of the parallel phase")
	fs.DurationVar(&o.SerialTimeout, "serial-timeout", 60*time.Minute, "ginkgo --timeout of the serial phase")
	fs.StringVar(&o.Phases, "phases", "parallel,serial", "which phases to run")
	fs.StringVar(&o.RerunNames, "names", "", "rerun: the specs to run again, one full name a line, instead of the last run's failures")
	if len(os.Args) < 2 || (os.Args[1] != "run" && os.Args[1] != "rerun" && os.Args[1] != "summarise") {
		fmt.Fprintln(os.Stderr, "usage: conformance run|rerun|summarise [flags]")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	if err := conformance.Main(context.Background(), os.Args[1], o); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}
