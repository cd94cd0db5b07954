package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/test/e2e/framework"
	e2enode "k8s.io/kubernetes/test/e2e/framework/node"
	e2eskipper "k8s.io/kubernetes/test/e2e/framework/skipper"

	"github.com/kubenext/kubenext/internal/cluster"
)

// nodeWithKeystoneGate picks a ready, schedulable node whose kubelet runs
// with KeystoneContainers as enabled says: for false a node that make
// cluster labelled kubenext.io/keystone=off (GATE_OFF_WORKERS), for true
// any other. It skips the spec when the cluster has no such node. The
// first match by name is taken, so that reruns use the same node.
func nodeWithKeystoneGate(ctx context.Context, f *framework.Framework, enabled bool) string {
	nodes, err := e2enode.GetReadySchedulableNodes(ctx, f.ClientSet)
	framework.ExpectNoError(err)
	for _, n := range nodes.Items {
		gateOff := n.Labels[cluster.GateOffLabel] == cluster.GateOffLabelValue
		if gateOff != enabled {
			return n.Name
		}
	}
	if enabled {
		e2eskipper.Skipf("every ready schedulable node is labelled %s=%s", cluster.GateOffLabel, cluster.GateOffLabelValue)
	}
	e2eskipper.Skipf("no ready schedulable node is labelled %s=%s; make cluster GATE_OFF_WORKERS=1 adds one", cluster.GateOffLabel, cluster.GateOffLabelValue)
	return ""
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
// reported the node Ready. Ready alone proves nothing right after the
// restart: the condition stays True until the node controller's grace
// period runs out, so the wait is for a heartbeat sent after the restart.
func restartKubeletAndWaitReady(ctx context.Context, f *framework.Framework, node string) {
	// Heartbeats are stored with one-second resolution.
	restartedAt := time.Now().Truncate(time.Second)
	out, err := exec.CommandContext(ctx, "docker", "exec", node, "systemctl", "restart", "kubelet").CombinedOutput()
	framework.ExpectNoError(err, "restarting the kubelet on %s: %s", node, out)
	gomega.Eventually(ctx, func(ctx context.Context) error {
		n, err := f.ClientSet.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type != v1.NodeReady {
				continue
			}
			if c.Status != v1.ConditionTrue || c.LastHeartbeatTime.Time.Before(restartedAt) {
				return fmt.Errorf("Ready=%s, last heartbeat %s, kubelet restarted at %s", c.Status, c.LastHeartbeatTime.Format(time.RFC3339), restartedAt.Format(time.RFC3339))
			}
			return nil
		}
		return fmt.Errorf("node %s has no Ready condition", node)
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(gomega.Succeed(), "node %s must be Ready again after its kubelet restarted", node)
}
