package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/test/e2e/framework"
	e2enode "k8s.io/kubernetes/test/e2e/framework/node"
	e2eskipper "k8s.io/kubernetes/test/e2e/framework/skipper"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/vm"
)

// slowdown is how many times longer the same work takes on a node than on
// the kind nodes the specs' time bounds were measured on.
type slowdown int

// emulated is the slowdown of a VM worker whose CPUs qemu emulates (tcg):
// the keystone's kubelet part took 3.8 s there on a quiet host and 10.2 s
// on a busy one, against 0.1-0.3 s on kind, and upstream-2026.md measured
// Go code 10-100x slower. Bounds stay far below what a missing feature
// would show (a sidecar that is never stopped, a relist every second).
const emulated slowdown = 30

func (s slowdown) of(d time.Duration) time.Duration { return time.Duration(s) * d }

// selectedSlowdown is the slowdown of the nodes NODE_SELECTOR keeps the
// specs on (the slowest of them), 1 without a selector.
func selectedSlowdown(ctx context.Context, c clientset.Interface) slowdown {
	sel := env().NodeSelector
	if len(sel) == 0 {
		return 1
	}
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	framework.ExpectNoError(err)
	slowest := slowdown(1)
	for _, n := range list.Items {
		slowest = max(slowest, nodeSlowdown(ctx, c, n.Name))
	}
	return slowest
}

// nodeSlowdown reads it from the node's labels: make vm-worker labels its
// node with the accelerator it chose.
func nodeSlowdown(ctx context.Context, c clientset.Interface, node string) slowdown {
	n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	framework.ExpectNoError(err)
	if n.Labels[vm.AccelLabel] == string(vm.TCG) {
		framework.Logf("node %s runs on emulated CPUs (%s=%s): time bounds are %dx", node, vm.AccelLabel, vm.TCG, emulated)
		return emulated
	}
	return 1
}

// needsOurKubelet labels the specs that only our kubelet can pass
// (keystone containers, our evented PLEG). The others must pass on any
// kubelet: a cluster in the middle of a roll from upstream runs them with
// --ginkgo.label-filter='!KubenextKubelet'.
var needsOurKubelet = framework.WithLabel("KubenextKubelet")

// ourKubelet says whether node runs our kubelet rather than upstream's,
// by the version it reports (v1.37.2+kubenext.<commit>).
func ourKubelet(node *v1.Node) bool {
	return strings.Contains(node.Status.NodeInfo.KubeletVersion, "+kubenext")
}

// nodeWithKeystoneGate picks a ready, schedulable node running our kubelet
// with KeystoneContainers as enabled says: for false a node that make
// cluster labelled kubenext.io/keystone=off (GATE_OFF_WORKERS), for true
// any other. Upstream kubelets are never picked. The first match by name
// is taken, so that reruns use the same node. When the cluster has no such
// node the spec fails, naming the option that adds one, unless the cluster
// was made without it on purpose.
func nodeWithKeystoneGate(ctx context.Context, f *framework.Framework, enabled bool) string {
	nodes, err := e2enode.GetReadySchedulableNodes(ctx, f.ClientSet)
	if sel := env().NodeSelector; len(sel) > 0 {
		// The selected nodes (the VM worker) carry a taint that keeps
		// other specs' pods off, which GetReadySchedulableNodes counts as
		// unschedulable; the suite's pods tolerate it.
		nodes, err = f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
		if err == nil {
			ready := nodes.Items[:0]
			for _, n := range nodes.Items {
				if isReady(n) && !n.Spec.Unschedulable {
					ready = append(ready, n)
				}
			}
			nodes.Items = ready
		}
	}
	framework.ExpectNoError(err)
	for i := range nodes.Items {
		n := &nodes.Items[i]
		gateOff := n.Labels[cluster.GateOffLabel] == cluster.GateOffLabelValue
		if ourKubelet(n) && gateOff != enabled && env().selects(n) {
			return n.Name
		}
	}
	e := env()
	if enabled {
		missingNode(e.Workers, "WORKERS", "a worker with every gate of ours on",
			fmt.Sprintf("every ready schedulable node is labelled %s=%s", cluster.GateOffLabel, cluster.GateOffLabelValue))
	} else {
		missingNode(e.GateOffWorkers, "GATE_OFF_WORKERS", "a worker whose kubelet has KeystoneContainers and ContainerRestartRuleTerminatePod off",
			fmt.Sprintf("no ready schedulable node is labelled %s=%s", cluster.GateOffLabel, cluster.GateOffLabelValue))
	}
	return ""
}

// missingNode ends a spec whose node the cluster lacks: a skip if make
// cluster was told option=0, a failure otherwise (a node that should be
// there is not, or the cluster's shape was not recorded).
func missingNode(recorded int, option, what, why string) {
	if recorded == 0 {
		e2eskipper.Skipf("the cluster was made with %s=0, so it has no %s (%s)", option, what, why)
	}
	framework.Failf("this spec needs %s, and the cluster has none: %s; make cluster %s=1 provides one", what, why, option)
}

// kubeletFeatureGates reads the gates node's kubelet runs with from its
// /configz, which shows the configuration after --feature-gates was
// applied over the config file.
func kubeletFeatureGates(ctx context.Context, f *framework.Framework, node string) map[string]bool {
	raw, err := f.ClientSet.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/configz").DoRaw(ctx)
	framework.ExpectNoError(err, "reading /configz of the kubelet on %s", node)
	var configz struct {
		KubeletConfig struct {
			FeatureGates map[string]bool `json:"featureGates"`
		} `json:"kubeletconfig"`
	}
	framework.ExpectNoError(json.Unmarshal(raw, &configz), "/configz of %s: %s", node, raw)
	return configz.KubeletConfig.FeatureGates
}

// restartKubeletAndWaitReady restarts the kubelet on node (kind names each
// node's container after the node) and waits until the new kubelet has
// reported the node Ready.
func restartKubeletAndWaitReady(ctx context.Context, f *framework.Framework, node string) {
	// Heartbeats are stored with one-second resolution.
	restartedAt := time.Now().Truncate(time.Second)
	nodeExec(ctx, node, "systemctl", "restart", "kubelet")
	waitNodeReady(ctx, f.ClientSet, node, restartedAt)
}

// waitNodeReady waits until node is Ready with a heartbeat at or after
// heartbeatAfter. Ready alone proves nothing right after a kubelet
// restart: the condition stays True until the node controller's grace
// period runs out, so the wait is for a heartbeat sent after the restart.
func waitNodeReady(ctx context.Context, cs clientset.Interface, node string, heartbeatAfter time.Time) {
	gomega.Eventually(ctx, func(ctx context.Context) error {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type != v1.NodeReady {
				continue
			}
			if c.Status != v1.ConditionTrue || c.LastHeartbeatTime.Time.Before(heartbeatAfter) {
				return fmt.Errorf("Ready=%s (%s), last heartbeat %s, want one at or after %s", c.Status, c.Message, c.LastHeartbeatTime.Format(time.RFC3339), heartbeatAfter.Format(time.RFC3339))
			}
			return nil
		}
		return fmt.Errorf("node %s has no Ready condition", node)
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(gomega.Succeed(), "node %s must be Ready", node)
}
