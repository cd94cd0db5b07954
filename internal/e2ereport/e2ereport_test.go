package e2ereport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

func failedSpec(leaf string, logLines int) types.SpecReport {
	var log strings.Builder
	for i := range logLines {
		fmt.Fprintf(&log, "log line %d\n", i)
	}
	return types.SpecReport{
		ContainerHierarchyTexts: []string{"Evented PLEG"},
		LeafNodeType:            types.NodeTypeIt,
		LeafNodeText:            leaf,
		State:                   types.SpecStateFailed,
		RunTime:                 90 * time.Second,
		Failure: types.Failure{
			Message:            "Timed out after 60.001s.\nthe kubelet must be in event mode\nExpected\n    <float64>: 0\nto equal\n    <float64>: 1",
			Location:           types.CodeLocation{FileName: "test/e2e/pleg.go", LineNumber: 42},
			FailureNodeContext: types.FailureNodeIsLeafNode,
		},
		CapturedGinkgoWriterOutput: log.String(),
	}
}

// roundTrip writes reports as Ginkgo's --ginkgo.json-report does and
// reads them back, so that the test covers the JSON form CI reads.
func roundTrip(t *testing.T, reports []types.Report) []types.Report {
	t.Helper()
	raw, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteSaysWhyEachSpecFailed(t *testing.T) {
	passed := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: "passes", State: types.SpecStatePassed}
	beforeEach := failedSpec("answers queries", 2)
	beforeEach.Failure.FailureNodeContext = types.FailureNodeInContainer
	beforeEach.Failure.FailureNodeType = types.NodeTypeBeforeEach
	beforeEach.Failure.Message = "Unexpected error: namespaces is forbidden"
	reports := roundTrip(t, []types.Report{{SpecReports: types.SpecReports{passed, failedSpec("survives restarts", 30), beforeEach}}})

	var out bytes.Buffer
	if n := Write(&out, reports, Limits{MessageLines: 3, LogLines: 4}); n != 2 {
		t.Fatalf("Write counted %d failures, want 2:\n%s", n, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"--- FAILED: Evented PLEG survives restarts",
		"in [It] at test/e2e/pleg.go:42, after 1m30s",
		"| Timed out after 60.001s.",
		"| (3 more lines left out)",
		"> (26 earlier lines left out)",
		"> log line 29",
		"--- FAILED: Evented PLEG answers queries",
		"in [BeforeEach] at",
		"| Unexpected error: namespaces is forbidden",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "passes") || strings.Contains(text, "log line 25") {
		t.Errorf("digest holds a passed spec or a log line past the limit:\n%s", text)
	}
}

func TestLoadNamesTheFlagWhenTheReportIsMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if err == nil || !strings.Contains(err.Error(), "--ginkgo.json-report") {
		t.Fatalf("want an error naming --ginkgo.json-report, got %v", err)
	}
}

func TestLoadRejectsOtherJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, []byte(`{"not":"a report"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "not a Ginkgo JSON report") {
		t.Fatalf("want a not-a-report error, got %v", err)
	}
}
