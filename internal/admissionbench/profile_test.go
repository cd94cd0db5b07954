package admissionbench

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// cpuProfile builds a CPU profile with one sample per stack (leaf first).
func cpuProfile(t *testing.T, samples map[time.Duration][]string) []byte {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	var id uint64
	for d, stack := range samples {
		s := &profile.Sample{Value: []int64{1, int64(d)}}
		for _, name := range stack {
			id++
			fn := &profile.Function{ID: id, Name: name}
			loc := &profile.Location{ID: id, Line: []profile.Line{{Function: fn}}}
			p.Function = append(p.Function, fn)
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseProfileCPU(t *testing.T) {
	raw := cpuProfile(t, map[time.Duration][]string{
		30 * time.Millisecond: {"github.com/google/cel-go/interpreter.(*evalAnd).Eval", "k8s.io/apiserver/pkg/admission/plugin/policy/validating.(*dispatcher).Dispatch", "net/http.(*conn).serve"},
		20 * time.Millisecond: {"k8s.io/apiserver/pkg/admission/plugin/webhook/validating.(*Plugin).Validate"},
		50 * time.Millisecond: {"go.etcd.io/etcd/client/v3.(*kv).Do", "k8s.io/apiserver/pkg/admission.chainAdmissionHandler.Validate"},
	})
	got, err := ParseProfileCPU(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 100*time.Millisecond || got.Admission != 50*time.Millisecond {
		t.Errorf("got %+v, want 100ms total, 50ms in the policy and webhook plugins", got)
	}
	if _, err := ParseProfileCPU(bytes.NewReader([]byte("not a profile"))); err == nil {
		t.Error("garbage parsed as a profile")
	}
}

func TestWriteCPUTable(t *testing.T) {
	configs, _ := SelectConfigurations([]string{NoPolicyID, "vap-10"})
	var out bytes.Buffer
	err := WriteCPUTable(&out, []ProfiledRun{
		{Configuration: configs[0], Creates: 1000, CPU: ProfileCPU{Total: 900 * time.Millisecond}},
		{Configuration: configs[1], Creates: 500, CPU: ProfileCPU{Total: 600 * time.Millisecond, Admission: 100 * time.Millisecond}},
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
