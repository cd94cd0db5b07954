// Command conformance runs upstream's [Conformance] specs against the kind
// cluster with the ginkgo CLI: the non-serial specs in parallel, then the
// [Serial] ones alone, skipping the specs on the skip list. It then writes
// the counts, failures (with their triage notes) and skips into the
// generated part of docs/conformance.md.
//
//	conformance run        both phases, then the summary
//	conformance summarise  only the summary, from an earlier run's reports
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/conformance"
	"github.com/kubenext/kubenext/internal/steps"
)

type options struct {
	e2eTest, ginkgo, kubeconfig, kubectl string
	skipsFile, triageFile, dir, doc      string
	command                              string
	procs                                int
	parallelTimeout, serialTimeout       time.Duration
	phases                               string
}

func main() {
	var o options
	fs := flag.NewFlagSet("conformance", flag.ExitOnError)
	fs.StringVar(&o.e2eTest, "e2e-test", "_output/bin/e2e.test", "upstream's suite as compiled by make conformance")
	fs.StringVar(&o.ginkgo, "ginkgo", "_output/tools/ginkgo", "the ginkgo CLI, at the version go.mod pins")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "the cluster's kubeconfig")
	fs.StringVar(&o.kubectl, "kubectl", "_output/bin/kubectl", "the kubectl the kubectl specs run")
	fs.StringVar(&o.skipsFile, "skips", "test/conformance/skips.txt", "specs not to run, each with its reason")
	fs.StringVar(&o.triageFile, "triage", "test/conformance/triage.txt", "notes on known failures")
	fs.StringVar(&o.dir, "dir", "_output/conformance", "where ginkgo's reports and logs go")
	fs.StringVar(&o.doc, "doc", "docs/conformance.md", "the document whose generated part is rewritten")
	fs.StringVar(&o.command, "command", "make conformance", "the command recorded in the document")
	fs.IntVar(&o.procs, "procs", 4, "ginkgo processes for the parallel phase")
	fs.DurationVar(&o.parallelTimeout, "parallel-timeout", 90*time.Minute, "ginkgo --timeout of the parallel phase")
	fs.DurationVar(&o.serialTimeout, "serial-timeout", 60*time.Minute, "ginkgo --timeout of the serial phase")
	fs.StringVar(&o.phases, "phases", "parallel,serial", "which phases to run")
	if len(os.Args) < 2 || (os.Args[1] != "run" && os.Args[1] != "summarise") {
		fmt.Fprintln(os.Stderr, "usage: conformance run|summarise [flags]")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	s := &steps.Steps{Out: os.Stdout}
	var err error
	if os.Args[1] == "run" {
		err = run(s, o)
	} else {
		err = summarise(s, o, conformance.RunInfo{Command: o.command, Machine: machine()})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func readList(path string) ([]conformance.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := conformance.ParseList(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

func run(s *steps.Steps, o options) error {
	if o.kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	skips, err := readList(o.skipsFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	info := conformance.RunInfo{Command: o.command, Machine: machine(), Started: time.Now()}
	for _, phase := range conformance.Phases(o.procs, o.parallelTimeout, o.serialTimeout) {
		if !strings.Contains(","+o.phases+",", ","+phase.Name+",") {
			continue
		}
		start := time.Now()
		// A phase with failing specs exits non-zero; the summary reports
		// them, and the next phase still runs.
		var exitErr error
		title := fmt.Sprintf("Running the %s conformance specs (%s, %d process(es))", phase.Name, phase.LabelFilter, phase.Procs)
		_ = s.Run(title, func() error {
			s.Note("log: %s", phase.Log(o.dir))
			exitErr = runPhase(phase, o, skips)
			if exitErr != nil {
				s.Note("ginkgo: %v (failures are listed in the summary)", exitErr)
			}
			return exitErr
		})
		info.Phases = append(info.Phases, fmt.Sprintf("%s, %d process(es), %s", phase.Name, phase.Procs, time.Since(start).Round(time.Second)))
	}
	info.Duration = time.Since(info.Started)
	return summarise(s, o, info)
}

func runPhase(phase conformance.Phase, o options, skips []conformance.Entry) error {
	_ = os.Remove(phase.JSONReport(o.dir))
	log, err := os.Create(phase.Log(o.dir))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(o.ginkgo, conformance.GinkgoArgs(phase, o.e2eTest, o.kubeconfig, o.kubectl, o.dir, skips)...)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}

func summarise(s *steps.Steps, o options, info conformance.RunInfo) error {
	return s.Run("Summarising into "+o.doc, func() error {
		skips, err := readList(o.skipsFile)
		if err != nil {
			return err
		}
		triage, err := readList(o.triageFile)
		if err != nil {
			return err
		}
		var paths []string
		for _, phase := range conformance.Phases(o.procs, 0, 0) {
			if _, err := os.Stat(phase.JSONReport(o.dir)); err == nil {
				paths = append(paths, phase.JSONReport(o.dir))
			}
		}
		if len(paths) == 0 {
			return fmt.Errorf("no ginkgo reports in %s", o.dir)
		}
		reports, err := conformance.ReadReports(paths...)
		if err != nil {
			return err
		}
		if info.Started.IsZero() && len(reports) > 0 {
			info.Started = reports[0].StartTime
			info.Duration = reports[len(reports)-1].EndTime.Sub(info.Started)
			for i, r := range reports {
				info.Phases = append(info.Phases, fmt.Sprintf("%s: %s", paths[i], r.RunTime.Round(time.Second)))
			}
		}
		results := conformance.Summarise(reports, skips, triage)
		var b strings.Builder
		if err := conformance.WriteMarkdown(&b, info, results); err != nil {
			return err
		}
		old, err := os.ReadFile(o.doc)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		c := conformance.Count(results)
		s.Note("%d conformance specs: %d passed, %d failed, %d skipped, %d not run (%.1f%% of those run passed)",
			c.Total, c.Passed, c.Failed, c.Skipped, c.NotRun, c.PassRate())
		return os.WriteFile(o.doc, []byte(conformance.ReplaceGenerated(string(old), b.String())), 0o644)
	})
}

// machine describes this host in one line for the document.
func machine() string {
	desc := fmt.Sprintf("%d CPUs, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
			}
		}
		desc += fmt.Sprintf(", %.0f GiB memory", float64(kb)/(1<<20))
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		desc += ", kernel " + strings.TrimSpace(string(out))
	}
	return desc
}
