package conformance

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Phase is one ginkgo run over part of the conformance specs.
type Phase struct {
	Name string
	// LabelFilter selects the phase's specs by the labels upstream's
	// framework gives them (Conformance, Serial).
	LabelFilter string
	Procs       int
	Timeout     time.Duration
	// Focus, when set, limits the phase to these specs (full names, taken
	// literally): a rerun of earlier failures.
	Focus []string
}

// Phases are the two runs of `make conformance`: every non-serial spec in
// parallel, then the [Serial] ones alone, as upstream's conformance image
// does. The serial specs fill nodes, taint them or count their pods, so
// nothing of ours may run beside them.
func Phases(procs int, parallelTimeout, serialTimeout time.Duration) []Phase {
	return []Phase{
		{Name: "parallel", LabelFilter: "Conformance && !Serial", Procs: procs, Timeout: parallelTimeout},
		{Name: "serial", LabelFilter: "Conformance && Serial", Procs: 1, Timeout: serialTimeout},
	}
}

// RerunPhases run the given specs (earlier failures) again, the
// non-serial ones in parallel, then the serial ones alone.
func RerunPhases(names []string, procs int, timeout time.Duration) []Phase {
	var parallel, serial []string
	for _, n := range names {
		if strings.Contains(n, "[Serial]") {
			serial = append(serial, n)
		} else {
			parallel = append(parallel, n)
		}
	}
	var phases []Phase
	if len(parallel) > 0 {
		phases = append(phases, Phase{Name: "rerun-parallel", LabelFilter: "Conformance && !Serial", Procs: procs, Timeout: timeout, Focus: parallel})
	}
	if len(serial) > 0 {
		phases = append(phases, Phase{Name: "rerun-serial", LabelFilter: "Conformance && Serial", Procs: 1, Timeout: timeout, Focus: serial})
	}
	return phases
}

// ReportOrder lists the phases' JSON reports in the order they run; a
// later report's outcome for a spec replaces an earlier one's.
var ReportOrder = []string{"parallel", "serial", "rerun-parallel", "rerun-serial"}

// Paths of one phase's outputs under the run's directory.
func (p Phase) JSONReport(dir string) string  { return filepath.Join(dir, p.Name+".json") }
func (p Phase) JUnitReport(dir string) string { return filepath.Join(dir, p.Name+".xml") }
func (p Phase) Log(dir string) string         { return filepath.Join(dir, p.Name+".log") }

// GinkgoArgs are the ginkgo CLI's arguments for the phase: the compiled
// e2e.test, the filters and the reports, then e2e.test's own flags after
// "--".
func GinkgoArgs(p Phase, e2eTest, kubeconfig, kubectl, dir string, skips []Entry) []string {
	args := []string{
		"--label-filter=" + p.LabelFilter,
		fmt.Sprintf("--procs=%d", p.Procs),
		"--timeout=" + p.Timeout.String(),
		"--json-report=" + p.JSONReport(dir),
		"--junit-report=" + p.JUnitReport(dir),
		// A spec's progress is reported when it has run for a while, so a
		// stuck spec shows in the log while the run goes on.
		"--poll-progress-after=5m",
		"--no-color",
	}
	if len(p.Focus) > 0 {
		args = append(args, "--focus="+SkipRegexp(entriesOf(p.Focus)))
	}
	if len(skips) > 0 {
		args = append(args, "--skip="+SkipRegexp(skips))
	}
	return append(args, e2eTest, "--",
		"--kubeconfig="+kubeconfig,
		// The kubectl specs run this binary, ours, not one on PATH.
		"--kubectl-path="+kubectl,
		"--provider=skeleton",
		// Upstream's failure dumps (events of every namespace) are large
		// and the log already has the spec's own output.
		"--dump-logs-on-failure=false",
	)
}

func entriesOf(names []string) []Entry {
	entries := make([]Entry, len(names))
	for i, n := range names {
		entries[i] = Entry{Match: n}
	}
	return entries
}
