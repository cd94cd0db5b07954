package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/steps"
)

// fakeGinkgo writes the report each phase would write (by the phase's
// --json-report path) and answers from the script: ginkgo exits non-zero
// when specs fail, and the tool must go on.
type fakeGinkgo struct {
	*exectest.Cmder
	t       *testing.T
	reports map[string]types.Report // phase name -> its report
}

func (f *fakeGinkgo) Command(ctx context.Context, name string, args ...string) exec.Cmd {
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "--json-report="); ok {
			if r, ok := f.reports[strings.TrimSuffix(filepath.Base(p), ".json")]; ok {
				// After the run began, as a report written now would be.
				r.StartTime = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
				writeReport(f.t, p, r)
			}
		}
	}
	return f.Cmder.Command(ctx, name, args...)
}

func writeReport(t *testing.T, path string, r types.Report) {
	t.Helper()
	data, err := json.Marshal([]types.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// options lays out the lists, the document and the report directory,
// with ginkgo faked; out collects the progress lines.
func options(t *testing.T, reports map[string]types.Report, script map[string]exectest.Result) (Options, *fakeGinkgo, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if script == nil {
		script = map[string]exectest.Result{}
	}
	script["uname -r"] = exectest.Result{Stdout: "6.1.0-test\n"}
	fake := &fakeGinkgo{Cmder: &exectest.Cmder{Script: script}, t: t, reports: reports}
	var out bytes.Buffer
	clock := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	o := Options{
		E2ETest: "/b/e2e.test", Ginkgo: "ginkgo", Kubeconfig: "/k/config", Kubectl: "/b/kubectl",
		SkipsFile:  write("skips.txt", "- [sig-x] Thing needs a registry\n  no registry here\n"),
		TriageFile: write("triage.txt", "- [sig-x] Thing fails\n  environment: slow node\n"),
		Dir:        filepath.Join(dir, "reports"),
		Doc:        write("conformance.md", "# Conformance\n\nby hand\n\n"+BeginMarker+"\nold\n"+EndMarker+"\n\n## Triage\nkept\n"),
		Command:    "make conformance", Procs: 4, ParallelTimeout: time.Hour, SerialTimeout: time.Hour,
		Phases: "parallel,serial",
		Host:   fake, Steps: &steps.Steps{Out: &out},
		Now: func() time.Time { clock = clock.Add(time.Minute); return clock },
	}
	return o, fake, &out
}

func ginkgoCalls(fake *fakeGinkgo) []string {
	var calls []string
	for _, l := range fake.Lines() {
		if strings.HasPrefix(l, "ginkgo ") {
			calls = append(calls, l)
		}
	}
	return calls
}

func TestRunRunsEveryPhaseAndSummarises(t *testing.T) {
	phases := samplePhases()
	o, fake, out := options(t,
		map[string]types.Report{"parallel": phases[0], "serial": phases[1]},
		map[string]exectest.Result{"ginkgo --label-filter=Conformance && !Serial": {ExitCode: 1}})
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An earlier rerun's report would override this run's outcomes.
	writeReport(t, Phase{Name: "rerun-parallel"}.JSONReport(o.Dir), types.Report{SpecReports: types.SpecReports{
		spec([]string{"[sig-x] Thing"}, "fails [Conformance]", types.SpecStatePassed, "")}})

	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := ginkgoCalls(fake)
	if len(calls) != 2 || !strings.Contains(calls[0], "--label-filter=Conformance && !Serial --procs=4") ||
		!strings.Contains(calls[1], "--label-filter=Conformance && Serial --procs=1") {
		t.Fatalf("ginkgo runs:\n%s", strings.Join(calls, "\n"))
	}
	if !strings.Contains(calls[0], `--skip=\[sig-x\] Thing needs a registry`) || !strings.Contains(calls[0], "/b/e2e.test -- --kubeconfig=/k/config --kubectl-path=/b/kubectl") {
		t.Errorf("parallel run: %s", calls[0])
	}
	if _, err := os.Stat(Phase{Name: "rerun-parallel"}.JSONReport(o.Dir)); !os.IsNotExist(err) {
		t.Error("the earlier rerun's report was left to override this run")
	}
	if !strings.Contains(out.String(), "   ginkgo: exit status 1 (failures are listed in the summary)\n") ||
		!strings.Contains(out.String(), "   log: "+filepath.Join(o.Dir, "serial.log")+"\n") {
		t.Errorf("progress:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "6 conformance specs: 2 passed, 2 failed, 2 skipped, 0 not run (50.0% of those run passed)") {
		t.Errorf("progress lacks the counts:\n%s", out.String())
	}
	doc, _ := os.ReadFile(o.Doc)
	for _, want := range []string{
		"# Conformance\n\nby hand\n\n" + BeginMarker + "\nCommand: `make conformance`  \n",
		"Machine: ",
		", kernel 6.1.0-test  \n",
		"Started: 2026-11-27 02:31 UTC, duration 5m0s  \n",
		"Phase: parallel, 4 process(es), 1m0s  \nPhase: serial, 1 process(es), 1m0s  \n",
		"| 6 | 2 | 2 | 2 | 0 | 50.0% |",
		"Triage: environment: slow node\n",
		EndMarker + "\n\n## Triage\nkept\n",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("document lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(string(doc), "\nold\n") {
		t.Errorf("the old generated part was kept:\n%s", doc)
	}
}

func TestRunSelectsPhases(t *testing.T) {
	o, fake, _ := options(t, map[string]types.Report{"serial": samplePhases()[1]}, nil)
	o.Phases = "serial"
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := ginkgoCalls(fake); len(calls) != 1 || !strings.Contains(calls[0], "--json-report="+filepath.Join(o.Dir, "serial.json")) {
		t.Errorf("ginkgo runs:\n%s", strings.Join(calls, "\n"))
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	o, fake, _ := options(t, nil, nil)
	o.Kubeconfig = ""
	if err := o.Run(context.Background()); err == nil || err.Error() != "--kubeconfig is required" {
		t.Errorf("got %v", err)
	}
	o, fake, _ = options(t, nil, nil)
	o.E2ETest = "/b/e2e"
	if err := o.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "ginkgo needs a name ending in .test") {
		t.Errorf("got %v", err)
	}
	if len(ginkgoCalls(fake)) != 0 {
		t.Error("ginkgo ran despite the refusal")
	}
	o, _, _ = options(t, nil, nil)
	if err := o.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no ginkgo reports in "+o.Dir) {
		t.Errorf("a run that wrote no report: %v", err)
	}
	if err := Main(context.Background(), "summarize", o); err == nil {
		t.Error("an unknown command was accepted")
	}
}

func TestRerunRunsTheLastFailuresAgain(t *testing.T) {
	sig := []string{"[sig-x] Thing"}
	rerun := types.Report{SpecReports: types.SpecReports{
		spec(sig, "fails [Conformance]", types.SpecStatePassed, ""),
		spec(sig, "is unknown and fails [Conformance]", types.SpecStateFailed, "again"),
	}}
	o, fake, out := options(t, map[string]types.Report{"rerun-parallel": rerun}, nil)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"parallel", "serial"} {
		r := samplePhases()[i]
		r.StartTime = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
		writeReport(t, Phase{Name: name}.JSONReport(o.Dir), r)
	}
	if err := o.Rerun(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := ginkgoCalls(fake)
	if len(calls) != 1 || !strings.Contains(calls[0], `--focus=\[sig-x\] Thing fails \[Conformance\]|\[sig-x\] Thing is unknown and fails \[Conformance\]`) ||
		!strings.Contains(calls[0], "--procs=4") {
		t.Fatalf("ginkgo runs:\n%s", strings.Join(calls, "\n"))
	}
	if !strings.Contains(out.String(), "   2 failed specs to run again\n") || !strings.Contains(out.String(), "Running 2 specs again, rerun-parallel") {
		t.Errorf("progress:\n%s", out.String())
	}
	doc, _ := os.ReadFile(o.Doc)
	if !strings.Contains(string(doc), "### Failed first, passed when run again\n\n- `[sig-x] Thing fails [Conformance]`") {
		t.Errorf("document:\n%s", doc)
	}
	// The header covers the whole run, from the first phase's report.
	if !strings.Contains(string(doc), "Started: 2026-11-27 01:00 UTC") || !strings.Contains(string(doc), "Phase: parallel: 0 specs, 0s  \nPhase: serial: 0 specs, 0s  \nPhase: rerun-parallel: 0 specs, 0s  \n") {
		t.Errorf("header:\n%s", doc)
	}
}

func TestRerunTakesNamesFromAFile(t *testing.T) {
	o, fake, _ := options(t, map[string]types.Report{"rerun-serial": samplePhases()[1]}, nil)
	o.RerunNames = filepath.Join(t.TempDir(), "names")
	if err := os.WriteFile(o.RerunNames, []byte("\n[sig-x] Thing runs alone [Conformance] [Serial]  \n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := o.Rerun(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := ginkgoCalls(fake); len(calls) != 1 || !strings.Contains(calls[0], `--focus=\[sig-x\] Thing runs alone \[Conformance\] \[Serial\] `) || !strings.Contains(calls[0], "--procs=1") {
		t.Errorf("ginkgo runs:\n%s", strings.Join(calls, "\n"))
	}
}

func TestHeaderFromReports(t *testing.T) {
	start := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	reports := []phaseReport{
		{"parallel", types.Report{StartTime: start, RunTime: 40 * time.Minute, PreRunStats: types.PreRunStats{SpecsThatWillRun: 300}}},
		{"serial", types.Report{StartTime: start.Add(time.Hour), RunTime: 20 * time.Minute, PreRunStats: types.PreRunStats{SpecsThatWillRun: 20}}},
	}
	got := headerFromReports(RunInfo{Command: "c"}, reports)
	if !got.Started.Equal(start) || got.Duration != time.Hour || strings.Join(got.Phases, "; ") != "parallel: 300 specs, 40m0s; serial: 20 specs, 20m0s" {
		t.Errorf("summarise alone: %+v", got)
	}
	// A run in this process that started before its reports keeps its own
	// header.
	mine := RunInfo{Started: start.Add(-time.Minute), Duration: 3 * time.Hour, Phases: []string{"mine"}}
	if got := headerFromReports(mine, reports); got.Duration != 3*time.Hour || got.Phases[0] != "mine" {
		t.Errorf("this run's header replaced: %+v", got)
	}
}

func TestMachine(t *testing.T) {
	got := Machine(context.Background(), &exectest.Cmder{Script: map[string]exectest.Result{"uname -r": {Stdout: "6.1.0-test\n"}}})
	if !strings.Contains(got, " CPUs, ") || !strings.HasSuffix(got, ", kernel 6.1.0-test") {
		t.Errorf("Machine = %q", got)
	}
	if got := Machine(context.Background(), &exectest.Cmder{Script: map[string]exectest.Result{"uname": {ExitCode: 1}}}); strings.Contains(got, "kernel") {
		t.Errorf("a failed uname must leave the kernel out: %q", got)
	}
	if got := memTotal("MemFree: 1 kB\nMemTotal:       8152000 kB\n"); got != ", 8 GiB memory" {
		t.Errorf("memTotal = %q", got)
	}
}
