package benchkube

import (
	"context"
	"fmt"
	"io"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubenext/kubenext/internal/cluster"
)

// Auto is the -upstream-node value that asks ResolveUpstreamNode to find
// the node.
const Auto = "auto"

// ResolveUpstreamNode turns a benchmark's -upstream-node into a node
// name: Auto takes the first node by name labelled as running upstream's
// kubelet (make cluster UPSTREAM_WORKERS=1), and "" when there is none,
// saying so on log; any other value is returned as given.
func ResolveUpstreamNode(ctx context.Context, client kubernetes.Interface, flag string, log io.Writer) (string, error) {
	if flag != Auto {
		return flag, nil
	}
	selector := cluster.KubeletLabel + "=" + cluster.KubeletLabelUpstream
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", fmt.Errorf("finding a node labelled %s: %w", selector, err)
	}
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	if len(names) == 0 {
		fmt.Fprintf(log, " • no node is labelled %s (make cluster UPSTREAM_WORKERS=1 adds one): timing our kubelet alone\n", selector)
		return "", nil
	}
	sort.Strings(names)
	return names[0], nil
}
