package admissionbench

import (
	"bytes"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/benchstat/benchstattest"
)

func TestAdmissionPackages(t *testing.T) {
	raw := benchstattest.CPUProfile(t,
		benchstattest.Sample{CPU: 30 * time.Millisecond, Stack: []string{"github.com/google/cel-go/interpreter.(*evalAnd).Eval", "k8s.io/apiserver/pkg/admission/plugin/policy/validating.(*dispatcher).Dispatch", "net/http.(*conn).serve"}},
		benchstattest.Sample{CPU: 20 * time.Millisecond, Stack: []string{"k8s.io/apiserver/pkg/admission/plugin/webhook/validating.(*Plugin).Validate"}},
		// The admission chain itself is not a plugin's work.
		benchstattest.Sample{CPU: 50 * time.Millisecond, Stack: []string{"go.etcd.io/etcd/client/v3.(*kv).Do", "k8s.io/apiserver/pkg/admission.chainAdmissionHandler.Validate"}},
	)
	got, err := benchstat.CPUShare(bytes.NewReader(raw), AdmissionPackages)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 100*time.Millisecond || got.Matched != 50*time.Millisecond {
		t.Errorf("got %+v, want 100ms total, 50ms in the policy and webhook plugins", got)
	}
}

func TestWriteCPUTable(t *testing.T) {
	configs, _ := SelectConfigurations([]string{NoPolicyID, "vap-10"})
	var out bytes.Buffer
	err := WriteCPUTable(&out, []ProfiledRun{
		{Configuration: configs[0], Creates: 1000, CPU: benchstat.Share{Total: 900 * time.Millisecond}},
		{Configuration: configs[1], Creates: 500, CPU: benchstat.Share{Total: 600 * time.Millisecond, Matched: 100 * time.Millisecond}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `| configuration | creates while profiled | apiserver CPU per create | of which admission plugins |
|---|---|---|---|
| no policy | 1000 | 900 µs | 0 µs |
| 10 ValidatingAdmissionPolicies | 500 | 1200 µs | 200 µs |
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
