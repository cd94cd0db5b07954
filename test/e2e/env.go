package e2e

import (
	"os"
	"path"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubernetes/test/e2e/framework"

	"github.com/kubenext/kubenext/internal/vm"
)

// The Makefile passes what the suite needs to know about the cluster it
// created; nothing here is guessed.
type clusterEnv struct {
	Name      string // kind cluster name
	Network   string // docker network of the nodes
	TestImage string // locally built busybox-style image
	// PullPolicy is how the suite's pods get TestImage: Never on kind
	// nodes, which have it preloaded and must not reach for a registry;
	// IfNotPresent on machines, which pull it from the project's registry.
	PullPolicy v1.PullPolicy
	// Workers and GateOffWorkers are the shape make cluster was asked
	// for (WORKERS, GATE_OFF_WORKERS), -1 when it did not record one. A
	// spec whose node is missing skips only when the cluster was made
	// without it on purpose (0), and fails otherwise.
	Workers, GateOffWorkers int
	// UpstreamWorkers is UPSTREAM_WORKERS, -1 when not recorded (a
	// cluster made by make machines, or before the option existed).
	UpstreamWorkers int
	// NodeSelector, from make e2e NODE_SELECTOR=k=v[,k=v], keeps the
	// feature specs on the nodes it selects: the virtual machine worker
	// (kubenext.io/vm=cgroupv2) when they run on cgroup v2.
	NodeSelector map[string]string
}

func env() clusterEnv {
	e := clusterEnv{
		Name:            os.Getenv("KUBENEXT_CLUSTER"),
		Network:         os.Getenv("KUBENEXT_NETWORK"),
		TestImage:       os.Getenv("KUBENEXT_TEST_IMAGE"),
		PullPolicy:      v1.PullPolicy(os.Getenv("KUBENEXT_PULL_POLICY")),
		Workers:         recordedCount("KUBENEXT_WORKERS"),
		GateOffWorkers:  recordedCount("KUBENEXT_GATE_OFF_WORKERS"),
		UpstreamWorkers: recordedCount("KUBENEXT_UPSTREAM_WORKERS"),
	}
	if sel := os.Getenv("KUBENEXT_NODE_SELECTOR"); sel != "" {
		set, err := labels.ConvertSelectorToLabelsMap(sel)
		if err != nil {
			framework.Failf("KUBENEXT_NODE_SELECTOR=%q: %v; want key=value[,key=value]", sel, err)
		}
		e.NodeSelector = set
	}
	if e.Name == "" || e.Network == "" || e.TestImage == "" {
		framework.Failf("KUBENEXT_CLUSTER, KUBENEXT_NETWORK and KUBENEXT_TEST_IMAGE must be set; run the suite with `make e2e`")
	}
	switch e.PullPolicy {
	case "":
		e.PullPolicy = v1.PullNever
	case v1.PullNever, v1.PullIfNotPresent:
	default:
		framework.Failf("KUBENEXT_PULL_POLICY=%q: want Never (kind nodes) or IfNotPresent (machines)", e.PullPolicy)
	}
	return e
}

// siblingImage is the image make images built next to the test image,
// from the same registry and with the same tag: kubenext/busybox:<tag>
// gives kubenext/<name>:<tag>.
func (e clusterEnv) siblingImage(name string) string {
	repo, tag, ok := strings.Cut(e.TestImage, ":")
	if i := strings.LastIndex(e.TestImage, ":"); i > strings.LastIndex(e.TestImage, "/") {
		repo, tag, ok = e.TestImage[:i], e.TestImage[i+1:], true
	}
	if !ok || path.Base(repo) != "busybox" {
		framework.Failf("test image %q is not <registry>/busybox:<tag>; rebuild the cluster with make cluster or make machines", e.TestImage)
	}
	return path.Join(path.Dir(repo), name) + ":" + tag
}

func recordedCount(name string) int {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// allWorkers is every worker make cluster was asked for, -1 if unknown.
func (e clusterEnv) allWorkers() int {
	if e.Workers < 0 || e.GateOffWorkers < 0 {
		return -1
	}
	return e.Workers + e.GateOffWorkers
}

// selects says whether node is one the run is kept to.
func (e clusterEnv) selects(node *v1.Node) bool {
	return labels.SelectorFromSet(e.NodeSelector).Matches(labels.Set(node.Labels))
}

// placeOnSelectedNodes lets pod run on the virtual machine worker
// (tolerating the taint make vm-worker puts there, which keeps the other
// specs' pods off its emulated CPUs), and,
// when the run is kept to selected nodes and the pod is not bound to one,
// puts it there.
func placeOnSelectedNodes(pod *v1.Pod) *v1.Pod {
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Key: vm.Label, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule})
	if sel := env().NodeSelector; len(sel) > 0 && pod.Spec.NodeName == "" {
		if pod.Spec.NodeSelector == nil {
			pod.Spec.NodeSelector = map[string]string{}
		}
		for k, v := range sel {
			pod.Spec.NodeSelector[k] = v
		}
	}
	return pod
}
