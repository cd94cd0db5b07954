package plegbench

import (
	"bytes"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/benchstat/benchstattest"
)

func TestPLEGPackages(t *testing.T) {
	raw := benchstattest.CPUProfile(t,
		benchstattest.Sample{CPU: 300 * time.Millisecond, Stack: []string{"syscall.Syscall6", "github.com/google/cadvisor/lib/manager.(*containerData).housekeeping"}},
		benchstattest.Sample{CPU: 40 * time.Millisecond, Stack: []string{"k8s.io/cri-client/pkg.(*remoteRuntimeService).ListContainers", "k8s.io/kubernetes/pkg/kubelet/pleg.(*GenericPLEG).Relist"}},
		benchstattest.Sample{CPU: 10 * time.Millisecond, Stack: []string{"github.com/kubenext/kubenext/pkg/kubelet/pleg/eventmode.(*Watcher).run"}},
		// pleg in another package's name must not count.
		benchstattest.Sample{CPU: 5 * time.Millisecond, Stack: []string{"k8s.io/kubernetes/pkg/kubelet/plegx.(*T).f"}},
	)
	s, err := benchstat.CPUShare(bytes.NewReader(raw), PLEGPackages)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 355*time.Millisecond || s.Matched != 50*time.Millisecond {
		t.Fatalf("got total %v pleg %v, want 355ms and 50ms", s.Total, s.Matched)
	}
}
