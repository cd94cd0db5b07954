package benchstat

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Share is the CPU time of one or more CPU profiles and the part of it
// spent with a function of the chosen packages anywhere on the stack. It is
// the one shape every benchmark reports a component's CPU in, so that a
// share of the PLEG and a share of the admission plugins read alike.
type Share struct {
	Total, Matched time.Duration
}

// Add sums one more profile into s: a window longer than one profile may
// last is covered by several back to back.
func (s *Share) Add(o Share) { s.Total += o.Total; s.Matched += o.Matched }

// CPUShare reads a Go CPU profile as /debug/pprof/profile serves it and
// attributes its samples to the functions whose names start with one of
// prefixes, or not. A prefix should end in "." or "/" so that a package
// whose name merely begins like another (pleg, plegx) is not counted.
func CPUShare(r io.Reader, prefixes []string) (Share, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return Share{}, fmt.Errorf("parse CPU profile: %w", err)
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			cpu = i
		}
	}
	if cpu < 0 {
		return Share{}, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	var s Share
	for _, sample := range p.Sample {
		d := time.Duration(sample.Value[cpu])
		s.Total += d
		if stackHas(sample, prefixes) {
			s.Matched += d
		}
	}
	return s, nil
}

// stackHas counts a sample once however many matching frames it has, so
// recursion or nested matching packages cannot count a nanosecond twice.
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
