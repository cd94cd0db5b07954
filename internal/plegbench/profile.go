package plegbench

// PLEGPackages are the function-name prefixes whose CPU is the PLEG's, for
// benchstat.CPUShare: upstream's GenericPLEG (relists, the CRI calls they
// make, cache writes) and our event-mode controller and watcher. The
// kubelet's total idle CPU is mostly cAdvisor and the eviction manager in
// both modes; this is the part evented PLEG can change.
var PLEGPackages = []string{
	"k8s.io/kubernetes/pkg/kubelet/pleg.",
	"github.com/kubenext/kubenext/pkg/kubelet/pleg/",
}
