package plegbench

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

func cpuProfile(t *testing.T, stacks map[string][]string) []byte {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	var id uint64
	for ms, stack := range stacks {
		d, err := time.ParseDuration(ms)
		if err != nil {
			t.Fatal(err)
		}
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

func TestPLEGShare(t *testing.T) {
	raw := cpuProfile(t, map[string][]string{
		"300ms": {"syscall.Syscall6", "github.com/google/cadvisor/lib/manager.(*containerData).housekeeping"},
		"40ms":  {"k8s.io/cri-client/pkg.(*remoteRuntimeService).ListContainers", "k8s.io/kubernetes/pkg/kubelet/pleg.(*GenericPLEG).Relist"},
		"10ms":  {"github.com/kubenext/kubenext/pkg/kubelet/pleg/eventmode.(*Watcher).run"},
		// pleg in another package's name must not count.
		"5ms": {"k8s.io/kubernetes/pkg/kubelet/plegx.(*T).f"},
	})
	s, err := PLEGShare(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 355*time.Millisecond || s.PLEG != 50*time.Millisecond {
		t.Fatalf("got total %v pleg %v, want 355ms and 50ms", s.Total, s.PLEG)
	}
}

func TestPLEGShareRejectsOtherProfiles(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := PLEGShare(&buf); err == nil {
		t.Fatal("a heap profile was accepted as a CPU profile")
	}
	if _, err := PLEGShare(bytes.NewReader([]byte("not a profile"))); err == nil {
		t.Fatal("garbage was accepted")
	}
}
