package admissionbench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat/benchstattest"
)

func TestOptionsCheck(t *testing.T) {
	ok := Options{Rounds: 1, Creates: 1, Warmup: 0, Workers: 1}
	if err := ok.Check(); err != nil {
		t.Errorf("%+v refused: %v", ok, err)
	}
	for _, bad := range []Options{
		{Rounds: 0, Creates: 1, Workers: 1},
		{Rounds: 1, Creates: 0, Workers: 1},
		{Rounds: 1, Creates: 1, Workers: 0},
		{Rounds: 1, Creates: 1, Workers: 1, Warmup: -1},
	} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if ids := AllIDs(); !strings.HasPrefix(ids, NoPolicyID+",") || !strings.Contains(ids, ","+WebhookID) {
		t.Errorf("AllIDs = %q, want every configuration", ids)
	}
}

func TestWriteSummary(t *testing.T) {
	configs, samples, batches := fixture()
	var out bytes.Buffer
	o := Options{Rounds: 2, Creates: 100, Warmup: 10, Workers: 8, Stdout: &out}
	if err := o.writeSummary(Summarize(configs, samples, batches)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "2 rounds x 100 timed creates per configuration (after 10 warm-up creates), 8 in flight\n\n| configuration |") {
		t.Errorf("header:\n%s", got)
	}
	if !strings.Contains(got, "|\n\n- 10 VAPs add 0.50 ms") {
		t.Errorf("the verdict must follow the table after a blank line:\n%s", got)
	}
	out.Reset()
	if err := o.writeSummary(Summarize(configs[:2], samples[:200], batches[:4])); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "VAPs add") {
		t.Errorf("a verdict without the webhook:\n%s", out.String())
	}
}

func TestKeepProfileAndWriteProfiles(t *testing.T) {
	configs, _ := SelectConfigurations([]string{"vap-10"})
	raw := benchstattest.CPUProfile(t,
		benchstattest.Sample{CPU: 30 * time.Millisecond, Stack: []string{"k8s.io/apiserver/pkg/admission/plugin/policy/validating.(*dispatcher).Dispatch"}},
		benchstattest.Sample{CPU: 70 * time.Millisecond, Stack: []string{"net/http.(*conn).serve"}},
	)
	var out bytes.Buffer
	o := Options{ProfileSeconds: 10, ProfileDir: filepath.Join(t.TempDir(), "profiles"), Stdout: &out}
	run, path, err := o.keepProfile(configs[0], raw, 100)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(o.ProfileDir, "vap-10.pprof") {
		t.Errorf("profile written to %s", path)
	}
	if kept, err := os.ReadFile(path); err != nil || !bytes.Equal(kept, raw) {
		t.Errorf("the profile on disk is not the one fetched (%v)", err)
	}
	if run.CPU.Total != 100*time.Millisecond || run.CPU.Matched != 30*time.Millisecond || run.Creates != 100 {
		t.Errorf("run %+v", run)
	}
	if _, _, err := o.keepProfile(configs[0], []byte("garbage"), 1); err == nil {
		t.Error("garbage kept as a profile")
	}
	if err := o.writeProfiles(nil); err != nil || out.Len() != 0 {
		t.Errorf("no profiles must print nothing, printed %q (%v)", out.String(), err)
	}
	if err := o.writeProfiles([]ProfiledRun{run}); err != nil {
		t.Fatal(err)
	}
	if want := "\nkube-apiserver CPU per create, from a 10 s CPU profile of each configuration under the same load:\n\n| configuration |"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("profiles:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| 10 ValidatingAdmissionPolicies | 100 | 1000 µs | 300 µs |") {
		t.Errorf("profiles:\n%s", out.String())
	}
}
