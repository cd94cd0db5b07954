package plegbench

import (
	"io"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
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
	total, pleg, err := benchstat.CPUShare(r, plegPackages)
	return CPUShare{Total: total, PLEG: pleg}, err
}
