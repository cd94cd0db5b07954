package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/test/e2e/framework"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodecri"
	"github.com/kubenext/kubenext/internal/nodes"
)

// The suite reaches nodes only through the node provider.
var provider = nodes.Docker()

func nodeRuntime(node string) nodecri.Runtime { return nodecri.Runtime{Node: provider.Node(node)} }

// nodeExec runs a command in node and fails the spec if it fails.
func nodeExec(ctx context.Context, node string, args ...string) string {
	out, err := exec.CombinedOutput(provider.Node(node).Command(ctx, args[0], args[1:]...))
	framework.ExpectNoError(err)
	return string(out)
}

// nodeOutput is the stdout of a command in node.
func nodeOutput(ctx context.Context, node string, args ...string) ([]byte, error) {
	return exec.Output(provider.Node(node).Command(ctx, args[0], args[1:]...))
}

// Bounds of the cleanup: the kubelet's container GC, which removes the
// sandboxes of deleted pods, runs once a minute.
const (
	namespaceGoneTimeout = 5 * time.Minute
	runtimeEmptyTimeout  = 4 * time.Minute
)

// leaveNodesClean makes a spec that creates many pods or restarts a node
// component clean up before it returns, so that the next spec starts on a
// quiet node: the namespace is deleted and gone, none of its sandboxes or
// containers is left in the runtime of nodes, and each node's runtime and
// kubelet are healthy. Call it first thing in the spec: cleanups run in
// reverse order, so it then runs after the spec's own and before the
// framework's (which would not wait).
func leaveNodesClean(f *framework.Framework, nodeNames ...string) {
	ns, cs := f.Namespace.Name, f.ClientSet
	ginkgo.DeferCleanup(func(ctx context.Context) {
		start := time.Now()
		ginkgo.By(fmt.Sprintf("deleting namespace %s and waiting until %v hold nothing of it", ns, nodeNames))
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			framework.Failf("deleting namespace %s: %v", ns, err)
		}
		framework.ExpectNoError(framework.WaitForNamespacesDeleted(ctx, cs, []string{ns}, namespaceGoneTimeout),
			"namespace %s must be gone within %v", ns, namespaceGoneTimeout)
		for _, node := range nodeNames {
			rt := nodeRuntime(node)
			gomega.Eventually(ctx, func(ctx context.Context) error {
				if err := rt.Healthy(ctx); err != nil {
					return fmt.Errorf("the runtime on %s is not healthy: %w", node, err)
				}
				return runtimeHoldsNothingOf(ctx, rt, ns)
			}).WithTimeout(runtimeEmptyTimeout).WithPolling(2*time.Second).Should(gomega.Succeed(),
				"the runtime on %s must drop every sandbox and container of namespace %s", node, ns)
			waitNodeReady(ctx, cs, node, time.Time{})
		}
		framework.Logf("namespace %s gone from the API and from %v after %v", ns, nodeNames, time.Since(start).Round(time.Second))
	})
}

func runtimeHoldsNothingOf(ctx context.Context, rt nodecri.Runtime, ns string) error {
	sandboxes, err := rt.Sandboxes(ctx, nodecri.Namespace(ns))
	if err != nil {
		return err
	}
	containers, err := rt.Containers(ctx, nodecri.Namespace(ns))
	if err != nil {
		return err
	}
	if len(sandboxes)+len(containers) == 0 {
		return nil
	}
	var left []string
	for _, s := range sandboxes {
		left = append(left, fmt.Sprintf("sandbox %s/%s %s", s.Metadata.Name, s.ID[:12], s.State))
	}
	for _, c := range containers {
		left = append(left, fmt.Sprintf("container %s of %s %s", c.Metadata.Name, c.Labels[nodecri.PodNameLabel], c.State))
	}
	if len(left) > 10 {
		left = append(left[:10], fmt.Sprintf("and %d more", len(left)-10))
	}
	return fmt.Errorf("%d sandboxes and %d containers of namespace %s are left: %s", len(sandboxes), len(containers), ns, strings.Join(left, "; "))
}
