package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// ConformanceTag marks upstream's conformance specs in their names.
const ConformanceTag = "[Conformance]"

// Outcome is what became of one conformance spec over all phases.
type Outcome string

const (
	Passed Outcome = "passed"
	Failed Outcome = "failed"
	// Skipped: on the skip list (not run), or skipped by the spec itself
	// at run time (its reason is ginkgo's skip message).
	Skipped Outcome = "skipped"
	// NotRun: selected but never finished, e.g. the run was interrupted.
	NotRun Outcome = "not run"
)

// Result is one conformance spec's outcome.
type Result struct {
	Name    string
	Outcome Outcome
	// Reason: the skip list's reason, ginkgo's skip message, or the
	// failure message's first line.
	Reason string
	// Location is where a failure happened (file:line).
	Location string
	RunTime  time.Duration
	// Triage is the note from the triage list for a failure, or for a
	// spec that failed first and passed when run again.
	Triage string
	// FirstFailure is an earlier phase's failure of a spec that a rerun
	// then ran again.
	FirstFailure string
}

// ReadReports reads ginkgo --json-report files (each a JSON list of
// suite reports).
func ReadReports(paths ...string) ([]types.Report, error) {
	var all []types.Report
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var reports []types.Report
		if err := json.Unmarshal(data, &reports); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, reports...)
	}
	return all, nil
}

// Summarise merges the phases' reports, given in the order the phases
// ran, into one result per conformance spec. A spec appears in every
// phase's report, filtered out (NotRun) in all but the phase that ran it,
// so an outcome replaces NotRun, and the outcome of a later phase (a
// rerun) replaces an earlier one; the earlier failure is kept in
// FirstFailure. Specs on the skip list are Skipped with the list's reason,
// and failures get their note from the triage list.
func Summarise(reports []types.Report, skips, triage []Entry) []Result {
	byName := map[string]*Result{}
	for _, report := range reports {
		for _, spec := range report.SpecReports {
			if spec.LeafNodeType != types.NodeTypeIt {
				continue
			}
			name := spec.FullText()
			if !strings.Contains(name, ConformanceTag) {
				continue
			}
			r := resultOf(spec, skips)
			old, seen := byName[name]
			if seen && r.Outcome == NotRun {
				continue
			}
			if seen && old.Outcome == Failed {
				r.FirstFailure = old.Reason
			} else if seen {
				r.FirstFailure = old.FirstFailure
			}
			byName[name] = &r
		}
	}
	results := make([]Result, 0, len(byName))
	for _, r := range byName {
		if r.Outcome == Failed || r.FirstFailure != "" {
			if e, ok := Find(triage, r.Name); ok {
				r.Triage = e.Reason
			}
		}
		results = append(results, *r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results
}

func resultOf(spec types.SpecReport, skips []Entry) Result {
	r := Result{Name: spec.FullText(), RunTime: spec.RunTime}
	if e, ok := Find(skips, r.Name); ok {
		r.Outcome, r.Reason = Skipped, e.Reason
		return r
	}
	switch {
	case spec.State == types.SpecStatePassed:
		r.Outcome = Passed
	case spec.State == types.SpecStateSkipped && spec.Failure.Message != "":
		// Skipped by the spec itself (e.g. e2eskipper), not by a filter.
		r.Outcome, r.Reason = Skipped, firstLine(spec.Failure.Message)
	case spec.State.Is(types.SpecStateFailureStates):
		r.Outcome = Failed
		r.Reason = fmt.Sprintf("%s: %s", spec.State, firstLine(spec.Failure.Message))
		r.Location = fmt.Sprintf("%s:%d", spec.Failure.Location.FileName, spec.Failure.Location.LineNumber)
	default:
		// Filtered out in this phase, or pending: NotRun unless another
		// phase ran it.
		r.Outcome = NotRun
	}
	return r
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Counts tallies results by outcome.
type Counts struct {
	Total, Passed, Failed, Skipped, NotRun int
}

func Count(results []Result) Counts {
	c := Counts{Total: len(results)}
	for _, r := range results {
		switch r.Outcome {
		case Passed:
			c.Passed++
		case Failed:
			c.Failed++
		case Skipped:
			c.Skipped++
		default:
			c.NotRun++
		}
	}
	return c
}

// PassRate is passed over the specs that ran to an outcome here (passed
// or failed): the offline-runnable ones.
func (c Counts) PassRate() float64 {
	if c.Passed+c.Failed == 0 {
		return 0
	}
	return 100 * float64(c.Passed) / float64(c.Passed+c.Failed)
}

// RunInfo describes the run for the report's header.
type RunInfo struct {
	Command  string
	Machine  string
	Started  time.Time
	Duration time.Duration
	// Phases says how each phase ran, e.g. "parallel, 4 processes: 41m".
	Phases []string
}

// WriteMarkdown writes the generated part of docs/conformance.md.
func WriteMarkdown(w io.Writer, info RunInfo, results []Result) error {
	c := Count(results)
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`  \n", info.Command)
	fmt.Fprintf(&b, "Machine: %s  \n", info.Machine)
	fmt.Fprintf(&b, "Started: %s UTC, duration %s  \n", info.Started.UTC().Format("2006-01-02 15:04"), info.Duration.Round(time.Second))
	for _, p := range info.Phases {
		fmt.Fprintf(&b, "Phase: %s  \n", p)
	}
	fmt.Fprintf(&b, "\n| conformance specs | passed | failed | skipped | not run | pass rate (passed / (passed + failed)) |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %.1f%% |\n", c.Total, c.Passed, c.Failed, c.Skipped, c.NotRun, c.PassRate())

	section := func(title string, o Outcome, row func(Result) string) {
		fmt.Fprintf(&b, "\n### %s\n\n", title)
		n := 0
		for _, r := range results {
			if r.Outcome == o {
				b.WriteString(row(r))
				n++
			}
		}
		if n == 0 {
			b.WriteString("None.\n")
		}
	}
	section("Failures", Failed, func(r Result) string {
		triage := r.Triage
		if triage == "" {
			triage = "not triaged yet"
		}
		return fmt.Sprintf("- `%s`  \n  %s (%s)  \n  Triage: %s\n", r.Name, escape(r.Reason), r.Location, triage)
	})
	fmt.Fprintf(&b, "\n### Failed first, passed when run again\n\n")
	reran := 0
	for _, r := range results {
		if r.Outcome == Passed && r.FirstFailure != "" {
			triage := r.Triage
			if triage == "" {
				triage = "not triaged yet"
			}
			fmt.Fprintf(&b, "- `%s`  \n  first: %s  \n  Triage: %s\n", r.Name, escape(r.FirstFailure), triage)
			reran++
		}
	}
	if reran == 0 {
		b.WriteString("None.\n")
	}
	section("Skipped", Skipped, func(r Result) string {
		return fmt.Sprintf("- `%s`  \n  %s\n", r.Name, escape(r.Reason))
	})
	section("Not run", NotRun, func(r Result) string {
		return fmt.Sprintf("- `%s`\n", r.Name)
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// escape keeps a failure message from breaking the markdown list.
func escape(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ").Replace(s)
}

// Markers delimit the generated part of docs/conformance.md; what is
// outside them is written by hand and kept.
const (
	BeginMarker = "<!-- BEGIN generated by make conformance -->"
	EndMarker   = "<!-- END generated by make conformance -->"
)

// ReplaceGenerated puts generated between the markers of doc, or appends
// the markers and generated if doc has none.
func ReplaceGenerated(doc, generated string) string {
	block := BeginMarker + "\n" + generated + EndMarker + "\n"
	begin := strings.Index(doc, BeginMarker)
	end := strings.Index(doc, EndMarker)
	if begin < 0 || end < begin {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + block
	}
	rest := doc[end+len(EndMarker):]
	rest = strings.TrimPrefix(rest, "\n")
	return doc[:begin] + block + rest
}
