package netd

import (
	"encoding/json"
	"net/netip"
)

// CNIConfigFileName is the conflist the daemon owns in the CNI config
// directory. The runtime loads the lexically first config there, and "10-"
// is the slot kindnetd uses.
const CNIConfigFileName = "10-kubenext.conflist"

// The conflist mirrors the shape verified by hand on kind nodes: ptp gives
// each pod a veth and a /32 host route, host-local hands out this node's
// podCIDR, portmap serves hostPort.
type cniConfList struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type ptpPlugin struct {
	Type   string        `json:"type"`
	IPMasq bool          `json:"ipMasq"`
	IPAM   hostLocalIPAM `json:"ipam"`
}

type hostLocalIPAM struct {
	Type string `json:"type"`
	// DataDir is on tmpfs so that a restarted node container does not keep
	// address leases for pods that died with it.
	DataDir string           `json:"dataDir"`
	Ranges  [][]ipamRange    `json:"ranges"`
	Routes  []ipamRouteEntry `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRouteEntry struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

func renderCNIConfig(podCIDR netip.Prefix) ([]byte, error) {
	defaultRoute := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if podCIDR.Addr().Is6() {
		defaultRoute = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	conf := cniConfList{
		CNIVersion: "0.3.1",
		Name:       "kubenext",
		Plugins: []any{
			ptpPlugin{
				Type:   "ptp",
				IPMasq: true,
				IPAM: hostLocalIPAM{
					Type:    "host-local",
					DataDir: "/run/cni-ipam-state",
					Ranges:  [][]ipamRange{{{Subnet: podCIDR.String()}}},
					Routes:  []ipamRouteEntry{{Dst: defaultRoute.String()}},
				},
			},
			portmapPlugin{
				Type:         "portmap",
				Capabilities: map[string]bool{"portMappings": true},
			},
		},
	}
	out, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
