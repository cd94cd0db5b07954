package plegbench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// plegPackages are the packages whose CPU is the PLEG's: upstream's
// GenericPLEG (relists, the CRI calls they make, cache writes) and our
// event-mode controller and watcher.
var plegPackages = []string{
	"k8s.io/kubernetes/pkg/kubelet/pleg.",
	"github.com/kubenext/kubenext/pkg/kubelet/pleg/",
}

// CPUShare is the CPU time in one or more CPU profiles, and the part of it
// spent with a PLEG function anywhere on the stack.
type CPUShare struct {
	Total, PLEG time.Duration
}

// Add sums one more profile into s.
func (s *CPUShare) Add(s2 CPUShare) { s.Total += s2.Total; s.PLEG += s2.PLEG }

// PLEGShare attributes the samples of a Go CPU profile (as served by
// /debug/pprof/profile) to the PLEG or not. The kubelet's total idle CPU is
// mostly cAdvisor and the eviction manager in both modes; this is the part
// evented PLEG can change.
func PLEGShare(r io.Reader) (CPUShare, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return CPUShare{}, fmt.Errorf("parse CPU profile: %w", err)
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			cpu = i
		}
	}
	if cpu < 0 {
		return CPUShare{}, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	var s CPUShare
	for _, sample := range p.Sample {
		d := time.Duration(sample.Value[cpu])
		s.Total += d
		if onStack(sample, plegPackages) {
			s.PLEG += d
		}
	}
	return s, nil
}

func onStack(sample *profile.Sample, prefixes []string) bool {
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
