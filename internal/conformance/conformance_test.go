package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

const sampleList = `# comment

- [sig-node] ImageVolume should succeed with pod and pull policy of Always
  needs a registry,
  which is not here

- [sig-network] DNS should support configurable pod DNS nameservers
	outside address
`

func TestParseList(t *testing.T) {
	entries, err := ParseList(strings.NewReader(sampleList))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Match: "[sig-node] ImageVolume should succeed with pod and pull policy of Always", Reason: "needs a registry, which is not here"},
		{Match: "[sig-network] DNS should support configurable pod DNS nameservers", Reason: "outside address"},
	}
	if !slices.Equal(entries, want) {
		t.Fatalf("got %#v", entries)
	}
}

func TestParseListRefusesEntriesWithoutReasons(t *testing.T) {
	for _, bad := range []string{
		"- [sig-node] something\n",
		"  a reason before any spec\n",
		"not a list line\n",
		"- \n  reason\n",
	} {
		if _, err := ParseList(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseList(%q) accepted it", bad)
		}
	}
}

func TestSkipRegexpMatchesNamesLiterally(t *testing.T) {
	entries := []Entry{{Match: "[sig-node] A (b) c.d", Reason: "x"}, {Match: "[sig-apps] E+F", Reason: "y"}}
	re := regexp.MustCompile(SkipRegexp(entries))
	for _, name := range []string{"[sig-node] A (b) c.d [Conformance]", "[sig-apps] E+F should [Conformance]"} {
		if !re.MatchString(name) {
			t.Errorf("%q not matched by %s", name, re)
		}
	}
	// Brackets are literal: "[sig-node]" must not act as a character class.
	for _, name := range []string{"s A (b) c.d", "[sig-node] A b c.d", "[sig-apps] EEF"} {
		if re.MatchString(name) {
			t.Errorf("%q wrongly matched by %s", name, re)
		}
	}
}

func spec(containers []string, text string, state types.SpecState, failure string) types.SpecReport {
	r := types.SpecReport{
		ContainerHierarchyTexts: containers,
		LeafNodeText:            text,
		LeafNodeType:            types.NodeTypeIt,
		State:                   state,
		RunTime:                 time.Second,
	}
	if failure != "" {
		r.Failure = types.Failure{Message: failure, Location: types.CodeLocation{FileName: "k8s.io/kubernetes/test/e2e/x.go", LineNumber: 42}}
	}
	return r
}

// Two phases as make conformance writes them: each report has every spec,
// the other phase's specs skipped by the label filter.
func samplePhases() []types.Report {
	sig := []string{"[sig-x] Thing"}
	parallel := types.Report{SpecReports: types.SpecReports{
		spec(sig, "passes [Conformance]", types.SpecStatePassed, ""),
		spec(sig, "fails [Conformance]", types.SpecStateFailed, "timed out waiting\nfor the pod"),
		spec(sig, "is unknown and fails [Conformance]", types.SpecStateTimedout, "timeout"),
		spec(sig, "skips itself [Conformance]", types.SpecStateSkipped, "Only supported for providers [gce]"),
		spec(sig, "needs a registry [Conformance]", types.SpecStateSkipped, ""),
		spec(sig, "runs alone [Conformance] [Serial]", types.SpecStateSkipped, ""),
		spec(sig, "is not conformance", types.SpecStateSkipped, ""),
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed},
	}}
	serial := types.Report{SpecReports: types.SpecReports{
		spec(sig, "passes [Conformance]", types.SpecStateSkipped, ""),
		spec(sig, "fails [Conformance]", types.SpecStateSkipped, ""),
		spec(sig, "runs alone [Conformance] [Serial]", types.SpecStatePassed, ""),
	}}
	return []types.Report{parallel, serial}
}

func TestSummariseMergesPhases(t *testing.T) {
	skips := []Entry{{Match: "Thing needs a registry", Reason: "no registry here"}}
	triage := []Entry{{Match: "Thing fails", Reason: "environment: slow node"}}
	results := Summarise(samplePhases(), skips, triage)
	got := map[string]Result{}
	for _, r := range results {
		got[strings.TrimPrefix(r.Name, "[sig-x] Thing ")] = r
	}
	if len(results) != 6 {
		t.Fatalf("want the 6 conformance specs, got %d: %+v", len(results), results)
	}
	check := func(name string, outcome Outcome, reason string) {
		t.Helper()
		r := got[name]
		if r.Outcome != outcome || !strings.Contains(r.Reason, reason) {
			t.Errorf("%s: got %s %q, want %s with %q", name, r.Outcome, r.Reason, outcome, reason)
		}
	}
	check("passes [Conformance]", Passed, "")
	check("fails [Conformance]", Failed, "failed: timed out waiting")
	check("is unknown and fails [Conformance]", Failed, "timedout: timeout")
	check("skips itself [Conformance]", Skipped, "Only supported for providers")
	check("needs a registry [Conformance]", Skipped, "no registry here")
	check("runs alone [Conformance] [Serial]", Passed, "")
	if r := got["fails [Conformance]"]; r.Triage != "environment: slow node" || r.Location != "k8s.io/kubernetes/test/e2e/x.go:42" {
		t.Errorf("failure = %+v", r)
	}
	if r := got["is unknown and fails [Conformance]"]; r.Triage != "" {
		t.Errorf("untriaged failure got a note: %+v", r)
	}
	c := Count(results)
	if c != (Counts{Total: 6, Passed: 2, Failed: 2, Skipped: 2}) || c.PassRate() != 50 {
		t.Errorf("counts = %+v, rate %.1f", c, c.PassRate())
	}
}

func TestSummariseCountsUnfinishedSpecsAsNotRun(t *testing.T) {
	// Only the parallel phase's report: the serial spec never ran.
	results := Summarise(samplePhases()[:1], nil, nil)
	for _, r := range results {
		if strings.Contains(r.Name, "runs alone") && r.Outcome != NotRun {
			t.Errorf("got %+v", r)
		}
	}
}

func TestReadReportsAndMarkdown(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, r := range samplePhases() {
		data, err := json.Marshal([]types.Report{r})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, []string{"parallel.json", "serial.json"}[i])
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	reports, err := ReadReports(paths...)
	if err != nil {
		t.Fatal(err)
	}
	results := Summarise(reports, nil, nil)
	var b strings.Builder
	info := RunInfo{Command: "make conformance", Machine: "2 CPUs", Started: time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC), Duration: 61 * time.Minute}
	if err := WriteMarkdown(&b, info, results); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"Command: `make conformance`",
		"| 6 | 2 | 2 | 1 | 1 | 50.0% |",
		"- `[sig-x] Thing fails [Conformance]`  \n  failed: timed out waiting (k8s.io/kubernetes/test/e2e/x.go:42)  \n  Triage: not triaged yet\n",
		"### Skipped\n\n- `[sig-x] Thing skips itself [Conformance]`",
		"### Not run\n\n- `[sig-x] Thing needs a registry [Conformance]`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestReplaceGenerated(t *testing.T) {
	doc := "# Conformance\n\nby hand\n\n" + BeginMarker + "\nold\n" + EndMarker + "\n\n## Triage\nkept\n"
	got := ReplaceGenerated(doc, "new\n")
	want := "# Conformance\n\nby hand\n\n" + BeginMarker + "\nnew\n" + EndMarker + "\n\n## Triage\nkept\n"
	if got != want {
		t.Errorf("got\n%s", got)
	}
	if got := ReplaceGenerated("# by hand", "new\n"); got != "# by hand\n"+BeginMarker+"\nnew\n"+EndMarker+"\n" {
		t.Errorf("without markers got\n%s", got)
	}
}

func TestGinkgoArgs(t *testing.T) {
	phases := Phases(4, 90*time.Minute, time.Hour)
	if len(phases) != 2 || phases[1].Procs != 1 || phases[1].LabelFilter != "Conformance && Serial" {
		t.Fatalf("phases = %+v", phases)
	}
	args := GinkgoArgs(phases[0], "/b/e2e.test", "/k/kubeconfig", "/b/kubectl", "/out", []Entry{{Match: "[sig-node] X", Reason: "r"}})
	sep := slices.Index(args, "--")
	if sep < 1 || args[sep-1] != "/b/e2e.test" {
		t.Fatalf("e2e.test must come right before --: %q", args)
	}
	for _, want := range []string{"--label-filter=Conformance && !Serial", "--procs=4", "--timeout=1h30m0s", "--json-report=/out/parallel.json", `--skip=\[sig-node\] X`} {
		if !slices.Contains(args[:sep], want) {
			t.Errorf("ginkgo args lack %q: %q", want, args[:sep])
		}
	}
	for _, want := range []string{"--kubeconfig=/k/kubeconfig", "--kubectl-path=/b/kubectl"} {
		if !slices.Contains(args[sep:], want) {
			t.Errorf("e2e.test args lack %q: %q", want, args[sep:])
		}
	}
	if args := GinkgoArgs(phases[1], "e", "k", "c", "/out", nil); slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--skip") }) {
		t.Errorf("an empty skip list must not become --skip=: %q", args)
	}
}

func TestSummariseTakesTheRerunsOutcome(t *testing.T) {
	sig := []string{"[sig-x] Thing"}
	rerun := types.Report{SpecReports: types.SpecReports{
		spec(sig, "passes [Conformance]", types.SpecStateSkipped, ""),
		spec(sig, "fails [Conformance]", types.SpecStatePassed, ""),
		spec(sig, "is unknown and fails [Conformance]", types.SpecStateFailed, "again"),
	}}
	results := Summarise(append(samplePhases(), rerun), nil, []Entry{{Match: "Thing fails", Reason: "image fixed"}})
	got := map[string]Result{}
	for _, r := range results {
		got[strings.TrimPrefix(r.Name, "[sig-x] Thing ")] = r
	}
	if r := got["fails [Conformance]"]; r.Outcome != Passed || !strings.Contains(r.FirstFailure, "timed out waiting") || r.Triage != "image fixed" {
		t.Errorf("rerun pass: %+v", r)
	}
	if r := got["is unknown and fails [Conformance]"]; r.Outcome != Failed || r.Reason != "failed: again" {
		t.Errorf("rerun failure: %+v", r)
	}
	if r := got["passes [Conformance]"]; r.Outcome != Passed || r.FirstFailure != "" {
		t.Errorf("a rerun that filtered the spec out must not change it: %+v", r)
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, RunInfo{}, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "### Failed first, passed when run again\n\n- `[sig-x] Thing fails [Conformance]`  \n  first: failed: timed out waiting  \n  Triage: image fixed\n") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

func TestRerunPhasesKeepSerialSpecsAlone(t *testing.T) {
	phases := RerunPhases([]string{"[sig-a] A (x) [Conformance]", "[sig-b] B [Conformance] [Serial]"}, 3, time.Hour)
	if len(phases) != 2 || phases[0].Procs != 3 || phases[1].Procs != 1 || len(phases[1].Focus) != 1 {
		t.Fatalf("phases = %+v", phases)
	}
	args := GinkgoArgs(phases[0], "e", "k", "c", "/out", nil)
	if !slices.Contains(args, `--focus=\[sig-a\] A \(x\) \[Conformance\]`) || !slices.Contains(args, "--json-report=/out/rerun-parallel.json") {
		t.Errorf("rerun args: %q", args)
	}
	if len(RerunPhases(nil, 3, time.Hour)) != 0 {
		t.Error("nothing to rerun must give no phase")
	}
}
