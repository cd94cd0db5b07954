package netd

import "net/netip"

var testConfig = Config{
	PodCIDR:     netip.MustParsePrefix("10.244.0.0/16"),
	ServiceCIDR: netip.MustParsePrefix("10.96.0.0/16"),
}

var testBlackholes = []Route{
	blackhole("10.244.0.0/16"),
}

func node(name, podCIDR, internalIP string) NodeInfo {
	n := NodeInfo{Name: name}
	if podCIDR != "" {
		n.PodCIDRs = []netip.Prefix{netip.MustParsePrefix(podCIDR)}
	}
	if internalIP != "" {
		n.InternalIPs = []netip.Addr{netip.MustParseAddr(internalIP)}
	}
	return n
}

func via(dst, gateway string) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gateway)}
}

func blackhole(dst string) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Blackhole: true}
}

// deviceRoute is what the ptp plugin adds on the host for each pod: no
// gateway, just the veth.
func deviceRoute(dst string) Route {
	return Route{Dst: netip.MustParsePrefix(dst)}
}
