package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/steps"
)

// Options are the conformance tool's flags.
type Options struct {
	E2ETest, Ginkgo, Kubeconfig, Kubectl string
	SkipsFile, TriageFile, Dir, Doc      string
	// Command is recorded in the document as what produced it.
	Command                        string
	Procs                          int
	ParallelTimeout, SerialTimeout time.Duration
	// Phases selects, comma-separated, which of Phases run.
	Phases string
	// RerunNames is a file of full spec names, one a line, that rerun
	// runs instead of the last run's failures.
	RerunNames string

	// Host runs ginkgo and uname; exec.Host when nil.
	Host  exec.Cmder
	Steps *steps.Steps
	// Now stamps the run; time.Now when nil.
	Now func() time.Time
}

// Main runs one of the tool's commands: run, rerun or summarise.
func Main(ctx context.Context, command string, o Options) error {
	switch command {
	case "run":
		return o.Run(ctx)
	case "rerun":
		return o.Rerun(ctx)
	case "summarise":
		return o.Summarise(RunInfo{Command: o.Command, Machine: Machine(ctx, o.host())})
	}
	return fmt.Errorf("unknown command %q: use run, rerun or summarise", command)
}

func (o Options) host() exec.Cmder {
	if o.Host == nil {
		return exec.Host
	}
	return o.Host
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func readList(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := ParseList(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// Run runs the selected phases over every conformance spec not on the
// skip list, then writes the summary.
func (o Options) Run(ctx context.Context) error {
	if o.Kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	skips, err := readList(o.SkipsFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	for _, phase := range ReportOrder {
		// Reports of an earlier run's reruns would override this run.
		_ = os.Remove(Phase{Name: phase}.JSONReport(o.Dir))
	}
	var phases []Phase
	for _, phase := range Phases(o.Procs, o.ParallelTimeout, o.SerialTimeout) {
		if strings.Contains(","+o.Phases+",", ","+phase.Name+",") {
			phases = append(phases, phase)
		}
	}
	return o.runPhases(ctx, skips, phases)
}

// Rerun runs the specs that failed in the reports of the last run once
// more: a failure that passes then is listed apart in the summary.
func (o Options) Rerun(ctx context.Context) error {
	skips, err := readList(o.SkipsFile)
	if err != nil {
		return err
	}
	var failed []string
	if o.RerunNames != "" {
		data, err := os.ReadFile(o.RerunNames)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				failed = append(failed, line)
			}
		}
	} else {
		results, _, err := o.readResults()
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Outcome == Failed {
				failed = append(failed, r.Name)
			}
		}
	}
	o.Steps.Note("%d failed specs to run again", len(failed))
	return o.runPhases(ctx, skips, RerunPhases(failed, o.Procs, o.ParallelTimeout))
}

func (o Options) runPhases(ctx context.Context, skips []Entry, phases []Phase) error {
	if !strings.HasSuffix(o.E2ETest, ".test") {
		// ginkgo runs a compiled suite only if its name ends in .test;
		// otherwise it looks for sources and finds "no test suites".
		return fmt.Errorf("--e2e-test %s: ginkgo needs a name ending in .test", o.E2ETest)
	}
	s := o.Steps
	info := RunInfo{Command: o.Command, Machine: Machine(ctx, o.host()), Started: o.now()}
	for _, phase := range phases {
		start := o.now()
		// A phase with failing specs exits non-zero; the summary reports
		// them, and the next phase still runs.
		var exitErr error
		title := fmt.Sprintf("Running the %s conformance specs (%s, %d process(es))", phase.Name, phase.LabelFilter, phase.Procs)
		if len(phase.Focus) > 0 {
			title = fmt.Sprintf("Running %d specs again, %s (%s, %d process(es))", len(phase.Focus), phase.Name, phase.LabelFilter, phase.Procs)
		}
		_ = s.Run(title, func() error {
			s.Note("log: %s", phase.Log(o.Dir))
			exitErr = o.runPhase(ctx, phase, skips)
			if exitErr != nil {
				s.Note("ginkgo: %v (failures are listed in the summary)", exitErr)
			}
			return exitErr
		})
		info.Phases = append(info.Phases, fmt.Sprintf("%s, %d process(es), %s", phase.Name, phase.Procs, o.now().Sub(start).Round(time.Second)))
	}
	info.Duration = o.now().Sub(info.Started)
	return o.Summarise(info)
}

func (o Options) runPhase(ctx context.Context, phase Phase, skips []Entry) error {
	_ = os.Remove(phase.JSONReport(o.Dir))
	log, err := os.Create(phase.Log(o.Dir))
	if err != nil {
		return err
	}
	defer log.Close()
	err = o.host().Command(ctx, o.Ginkgo, GinkgoArgs(phase, o.E2ETest, o.Kubeconfig, o.Kubectl, o.Dir, skips)...).
		SetStdout(log).SetStderr(log).Run()
	// The exit status alone: the command line carries the whole skip
	// list, and the log has ginkgo's own account.
	var re *exec.RunError
	if errors.As(err, &re) {
		return re.Err
	}
	return err
}

// phaseReport is one suite report and the phase that wrote it.
type phaseReport struct {
	name string
	types.Report
}

// readResults summarises the reports under Dir, in the order their
// phases run.
func (o Options) readResults() ([]Result, []phaseReport, error) {
	skips, err := readList(o.SkipsFile)
	if err != nil {
		return nil, nil, err
	}
	triage, err := readList(o.TriageFile)
	if err != nil {
		return nil, nil, err
	}
	var all []types.Report
	var phases []phaseReport
	for _, name := range ReportOrder {
		p := Phase{Name: name}.JSONReport(o.Dir)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		reports, err := ReadReports(p)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range reports {
			phases = append(phases, phaseReport{name, r})
		}
		all = append(all, reports...)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("no ginkgo reports in %s", o.Dir)
	}
	return Summarise(all, skips, triage), phases, nil
}

// Summarise rewrites the generated part of Doc from the reports under Dir.
func (o Options) Summarise(info RunInfo) error {
	s := o.Steps
	return s.Run("Summarising into "+o.Doc, func() error {
		results, reports, err := o.readResults()
		if err != nil {
			return err
		}
		info = headerFromReports(info, reports)
		var b strings.Builder
		if err := WriteMarkdown(&b, info, results); err != nil {
			return err
		}
		old, err := os.ReadFile(o.Doc)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		c := Count(results)
		s.Note("%d conformance specs: %d passed, %d failed, %d skipped, %d not run (%.1f%% of those run passed)",
			c.Total, c.Passed, c.Failed, c.Skipped, c.NotRun, c.PassRate())
		return os.WriteFile(o.Doc, []byte(ReplaceGenerated(string(old), b.String())), 0o644)
	})
}

// headerFromReports fills the header from the reports when no run in
// this process started before them (summarise, or after rerun): the first
// phase's start, the sum of the phases' run times.
func headerFromReports(info RunInfo, reports []phaseReport) RunInfo {
	if len(reports) == 0 {
		return info
	}
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
	return info
}

// Machine describes this host in one line for the document.
func Machine(ctx context.Context, host exec.Cmder) string {
	desc := fmt.Sprintf("%d CPUs, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		desc += memTotal(string(data))
	}
	if out, err := exec.Output(host.Command(ctx, "uname", "-r")); err == nil {
		desc += ", kernel " + strings.TrimSpace(string(out))
	}
	return desc
}

func memTotal(meminfo string) string {
	var kb int64
	for _, line := range strings.Split(meminfo, "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
		}
	}
	return fmt.Sprintf(", %.0f GiB memory", float64(kb)/(1<<20))
}
