package netd

import (
	"fmt"
	"net/netip"

	v1 "k8s.io/api/core/v1"
)

// NodeInfoFromNode extracts what DesiredState needs from a Node. Malformed
// addresses are errors naming the node rather than silently dropped, because
// a dropped podCIDR would remove that node's route.
func NodeInfoFromNode(node *v1.Node) (NodeInfo, error) {
	info := NodeInfo{Name: node.Name}

	podCIDRs := node.Spec.PodCIDRs
	if len(podCIDRs) == 0 && node.Spec.PodCIDR != "" {
		// Nodes written by old clients may carry only the singular field.
		podCIDRs = []string{node.Spec.PodCIDR}
	}
	for _, s := range podCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return NodeInfo{}, fmt.Errorf("node %q: podCIDR %q: %w", node.Name, s, err)
		}
		info.PodCIDRs = append(info.PodCIDRs, p)
	}

	for _, a := range node.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		addr, err := netip.ParseAddr(a.Address)
		if err != nil {
			return NodeInfo{}, fmt.Errorf("node %q: InternalIP %q: %w", node.Name, a.Address, err)
		}
		info.InternalIPs = append(info.InternalIPs, addr)
	}
	return info, nil
}
