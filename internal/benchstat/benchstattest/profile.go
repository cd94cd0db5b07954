// Package benchstattest builds Go CPU profiles for the benchmarks' unit
// tests, so that CPU attribution is tested on real pprof encoding rather
// than on a hand-made struct that would skip the parser.
package benchstattest

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// Sample is CPU time spent with Stack on the stack, leaf first.
type Sample struct {
	CPU   time.Duration
	Stack []string
}

// CPUProfile encodes samples as /debug/pprof/profile would serve them: a
// count and a cpu/nanoseconds value per sample, the cpu one second so that
// a reader must look the type up rather than take the first value.
func CPUProfile(t testing.TB, samples ...Sample) []byte {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	var id uint64
	for _, smp := range samples {
		s := &profile.Sample{Value: []int64{1, int64(smp.CPU)}}
		for _, name := range smp.Stack {
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

// HeapProfile is a valid profile that is not a CPU profile.
func HeapProfile(t testing.TB) []byte {
	t.Helper()
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
