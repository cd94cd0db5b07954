package netd

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// NodeInfo is what the daemon needs to know about one node.
type NodeInfo struct {
	Name string
	// PodCIDRs mirrors spec.podCIDRs; at most one per address family.
	PodCIDRs []netip.Prefix
	// InternalIPs are the node's InternalIP addresses, in status order. A
	// dual-stack node has one per family, so the choice of next hop is made
	// here, next to the choice of podCIDR, rather than by the caller.
	InternalIPs []netip.Addr
}

// State is everything the daemon should have installed on its node.
type State struct {
	// CNIConfig is the conflist for this node, or nil while this node has no
	// podCIDR yet.
	CNIConfig []byte
	// NodeRoutes send each other node's podCIDR to that node, sorted.
	NodeRoutes []Route
	// Blackholes drop whatever in the cluster ranges has no more specific
	// route, sorted.
	Blackholes []Route
}

// BlackholeRoutes are the catch-all routes for the whole pod range. They
// depend on cfg alone so that they can be installed before anything is known
// about nodes.
//
// The service range is not blackholed in the main table: a host-network
// process (this daemon among them) connecting to a ClusterIP needs the
// routing lookup to succeed before kube-proxy's DNAT rewrites the
// destination. The node image blackholes the service range in a policy
// table that only forwarded (pod) traffic consults instead.
func BlackholeRoutes(cfg Config) []Route {
	return []Route{{Dst: cfg.PodCIDR, Blackhole: true}}
}

// DesiredState computes what node self should have installed, given every
// node in the cluster. A node without a podCIDR or without an InternalIP is
// skipped: it has no pods to route to yet. A podCIDR that is not strictly
// inside the pod range, or that overlaps another node's, is an error naming
// the node, because routing it would be either unprotected by the blackhole
// or ambiguous.
func DesiredState(self string, nodes []NodeInfo, cfg Config) (State, error) {
	if err := cfg.Validate(); err != nil {
		return State{}, err
	}
	family := cfg.PodCIDR.Addr().BitLen()

	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b NodeInfo) int { return cmp.Compare(a.Name, b.Name) })

	state := State{Blackholes: BlackholeRoutes(cfg)}
	var claimed []claim
	for _, node := range sorted {
		podCIDR, ok := firstPrefixOfFamily(node.PodCIDRs, family)
		if !ok {
			continue
		}
		if err := checkNodePodCIDR(node.Name, podCIDR, cfg.PodCIDR); err != nil {
			return State{}, err
		}
		if err := checkNoOverlap(node.Name, podCIDR, claimed); err != nil {
			return State{}, err
		}
		claimed = append(claimed, claim{node: node.Name, podCIDR: podCIDR})

		if node.Name == self {
			conf, err := renderCNIConfig(podCIDR)
			if err != nil {
				return State{}, err
			}
			state.CNIConfig = conf
			continue
		}
		gateway, ok := firstAddrOfFamily(node.InternalIPs, family)
		if !ok {
			continue
		}
		state.NodeRoutes = append(state.NodeRoutes, Route{Dst: podCIDR, Gateway: gateway})
	}
	state.NodeRoutes = sortRoutes(state.NodeRoutes)
	return state, nil
}

func checkNodePodCIDR(node string, podCIDR, podRange netip.Prefix) error {
	if podCIDR != podCIDR.Masked() {
		return fmt.Errorf("node %q: podCIDR %s has host bits set", node, podCIDR)
	}
	// Strictly inside: a node owning the whole range would get a route that
	// replaces the pod range's blackhole.
	if podCIDR.Bits() <= podRange.Bits() || !podRange.Contains(podCIDR.Addr()) {
		return fmt.Errorf("node %q: podCIDR %s is not inside the cluster pod range %s; "+
			"the daemon's --pod-cidr must match the controller-manager's --cluster-cidr", node, podCIDR, podRange)
	}
	return nil
}

// claim is a podCIDR already accepted for a node.
type claim struct {
	node    string
	podCIDR netip.Prefix
}

// checkNoOverlap expects claimed in name order, so that the error names the
// same pair of nodes every time.
func checkNoOverlap(node string, podCIDR netip.Prefix, claimed []claim) error {
	for _, c := range claimed {
		if podCIDR.Overlaps(c.podCIDR) {
			return fmt.Errorf("nodes %q and %q have overlapping podCIDRs %s and %s", c.node, node, c.podCIDR, podCIDR)
		}
	}
	return nil
}

func firstPrefixOfFamily(prefixes []netip.Prefix, bitLen int) (netip.Prefix, bool) {
	for _, p := range prefixes {
		if p.IsValid() && p.Addr().BitLen() == bitLen {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func firstAddrOfFamily(addrs []netip.Addr, bitLen int) (netip.Addr, bool) {
	for _, a := range addrs {
		if a.IsValid() && a.BitLen() == bitLen {
			return a, true
		}
	}
	return netip.Addr{}, false
}
