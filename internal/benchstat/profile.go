package benchstat

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// CPUShare reads a Go CPU profile as /debug/pprof/profile serves it and
// returns its total CPU time and the part spent with a function whose name
// starts with one of prefixes anywhere on the stack. The benchmarks use it
// to tell a component's share (the PLEG, the admission plugins) from the
// rest of the process.
func CPUShare(r io.Reader, prefixes []string) (total, matched time.Duration, err error) {
	p, err := profile.Parse(r)
	if err != nil {
		return 0, 0, fmt.Errorf("parse CPU profile: %w", err)
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			cpu = i
		}
	}
	if cpu < 0 {
		return 0, 0, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	for _, sample := range p.Sample {
		d := time.Duration(sample.Value[cpu])
		total += d
		if stackHas(sample, prefixes) {
			matched += d
		}
	}
	return total, matched, nil
}

func stackHas(sample *profile.Sample, prefixes []string) bool {
	for _, loc := range sample.Location {
		for _, line := range loc.Line {
			if line.Function == nil {
				continue
			}
			for _, prefix := range prefixes {
				if strings.HasPrefix(line.Function.Name, prefix) {
					return true
				}
			}
		}
	}
	return false
}
