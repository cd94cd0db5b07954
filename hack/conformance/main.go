// Command conformance runs upstream's [Conformance] specs against the kind
// cluster with the ginkgo CLI: the non-serial specs in parallel, then the
// [Serial] ones alone, skipping the specs on the skip list. It then writes
// the counts, failures (with their triage notes) and skips into the
// generated part of docs/conformance.md.
//
//	conformance run        both phases, then the summary
//	conformance rerun      the failures of the last run once more, then the summary
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

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kubenext/kubenext/internal/conformance"
	"github.com/kubenext/kubenext/internal/steps"
)

type options struct {
	e2eTest, ginkgo, kubeconfig, kubectl string
	skipsFile, triageFile, dir, doc      string
	command                              string
	procs                                int
	parallelTimeout, serialTimeout       time.Duration
	phases, rerunNames                   string
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
	fs.StringVar(&o.rerunNames, "names", "", "rerun: the specs to run again, one full name a line, instead of the last run's failures")
	if len(os.Args) < 2 || (os.Args[1] != "run" && os.Args[1] != "rerun" && os.Args[1] != "summarise") {
		fmt.Fprintln(os.Stderr, "usage: conformance run|rerun|summarise [flags]")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	s := &steps.Steps{Out: os.Stdout}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(s, o)
	case "rerun":
		err = rerun(s, o)
	default:
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
	for _, phase := range conformance.ReportOrder {
		// Reports of an earlier run's reruns would override this run.
		_ = os.Remove(conformance.Phase{Name: phase}.JSONReport(o.dir))
	}
	var phases []conformance.Phase
	for _, phase := range conformance.Phases(o.procs, o.parallelTimeout, o.serialTimeout) {
		if strings.Contains(","+o.phases+",", ","+phase.Name+",") {
			phases = append(phases, phase)
		}
	}
	return runPhases(s, o, skips, phases)
}

// rerun runs the specs that failed in the reports of the last run once
// more: a failure that passes then is listed apart in the summary.
func rerun(s *steps.Steps, o options) error {
	skips, err := readList(o.skipsFile)
	if err != nil {
		return err
	}
	var failed []string
	if o.rerunNames != "" {
		data, err := os.ReadFile(o.rerunNames)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				failed = append(failed, line)
			}
		}
	} else {
		results, _, err := readResults(o)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Outcome == conformance.Failed {
				failed = append(failed, r.Name)
			}
		}
	}
	s.Note("%d failed specs to run again", len(failed))
	return runPhases(s, o, skips, conformance.RerunPhases(failed, o.procs, o.parallelTimeout))
}

func runPhases(s *steps.Steps, o options, skips []conformance.Entry, phases []conformance.Phase) error {
	if !strings.HasSuffix(o.e2eTest, ".test") {
		// ginkgo runs a compiled suite only if its name ends in .test;
		// otherwise it looks for sources and finds "no test suites".
		return fmt.Errorf("--e2e-test %s: ginkgo needs a name ending in .test", o.e2eTest)
	}
	info := conformance.RunInfo{Command: o.command, Machine: machine(), Started: time.Now()}
	for _, phase := range phases {
		start := time.Now()
		// A phase with failing specs exits non-zero; the summary reports
		// them, and the next phase still runs.
		var exitErr error
		title := fmt.Sprintf("Running the %s conformance specs (%s, %d process(es))", phase.Name, phase.LabelFilter, phase.Procs)
		if len(phase.Focus) > 0 {
			title = fmt.Sprintf("Running %d specs again, %s (%s, %d process(es))", len(phase.Focus), phase.Name, phase.LabelFilter, phase.Procs)
		}
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

// readResults summarises the reports in _output/conformance, in the
// order their phases run.
func readResults(o options) ([]conformance.Result, []phaseReport, error) {
	skips, err := readList(o.skipsFile)
	if err != nil {
		return nil, nil, err
	}
	triage, err := readList(o.triageFile)
	if err != nil {
		return nil, nil, err
	}
	var all []types.Report
	var phases []phaseReport
	for _, name := range conformance.ReportOrder {
		p := conformance.Phase{Name: name}.JSONReport(o.dir)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		reports, err := conformance.ReadReports(p)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range reports {
			phases = append(phases, phaseReport{name, r})
		}
		all = append(all, reports...)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("no ginkgo reports in %s", o.dir)
	}
	return conformance.Summarise(all, skips, triage), phases, nil
}

type phaseReport struct {
	name string
	types.Report
}

func summarise(s *steps.Steps, o options, info conformance.RunInfo) error {
	return s.Run("Summarising into "+o.doc, func() error {
		results, reports, err := readResults(o)
		if err != nil {
			return err
		}
		// Without a run in this process (summarise, or after rerun), the
		// header comes from the reports: the first phase's start, the sum
		// of the phases' run times.
		if len(reports) > 0 {
			first := reports[0].StartTime
			var total time.Duration
			phases := []string{}
			for _, r := range reports {
				total += r.RunTime
				phases = append(phases, fmt.Sprintf("%s: %d specs, %s", r.name, r.PreRunStats.SpecsThatWillRun, r.RunTime.Round(time.Second)))
			}
			if info.Started.IsZero() || first.Before(info.Started) {
				info.Started, info.Duration, info.Phases = first, total, phases
			}
		}
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
