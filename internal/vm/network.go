package vm

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/guard"
)

// Network is the virtual machine's own link: a bridge this project
// creates, with no uplink, and one tap device on it for the machine. The
// host forwards between it and the cluster's Docker network, and nowhere
// else.
type Network struct {
	Bridge, Tap   string
	Subnet        netip.Prefix // the bridge's, e.g. 172.30.2.0/24
	ClusterSubnet netip.Prefix // the cluster's Docker network
	ClusterBridge string       // its bridge device
}

// HostAddr is the host's address on the bridge (the subnet's first).
func (n Network) HostAddr() netip.Addr { return n.Subnet.Masked().Addr().Next() }

// GuestAddr is the machine's address (the subnet's tenth).
func (n Network) GuestAddr() netip.Addr {
	a := n.Subnet.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	return a
}

// Validate refuses a network that could reach past this machine's own.
func (n Network) Validate() error {
	if _, err := guard.CheckSubnet(n.Subnet); err != nil {
		return fmt.Errorf("VM subnet: %w", err)
	}
	if n.Subnet.Overlaps(n.ClusterSubnet) {
		return fmt.Errorf("VM subnet %s overlaps the cluster's %s: pick another with VM_SUBNET", n.Subnet, n.ClusterSubnet)
	}
	for _, dev := range []string{n.Bridge, n.Tap} {
		if dev == "" || len(dev) > 15 || strings.ContainsAny(dev, " /") {
			return fmt.Errorf("device name %q: want 1-15 characters without spaces or slashes", dev)
		}
	}
	if n.ClusterBridge == "" {
		return fmt.Errorf("the cluster's bridge device is unknown: is the cluster running (make cluster)?")
	}
	return nil
}

// GuardRules are the DOCKER-USER rules, in chain order, that let the
// machine and the cluster's nodes reach each other and drop everything
// else the bridge sends, whatever its source address (the machine's pods
// have addresses of their own).
func (n Network) GuardRules(name string) ([]guard.Rule, error) {
	if err := guard.ValidateCluster(name); err != nil {
		return nil, err
	}
	rule := func(parts ...string) guard.Rule { return guard.Tagged(name, parts...) }
	vm, cl := n.Subnet.Masked().String(), n.ClusterSubnet.Masked().String()
	return []guard.Rule{
		rule("-s", vm, "-d", cl, "-i", n.Bridge, "-o", n.ClusterBridge, "-j", "ACCEPT"),
		rule("-s", cl, "-d", vm, "-i", n.ClusterBridge, "-o", n.Bridge, "-j", "ACCEPT"),
		rule("-i", n.Bridge, "-j", "DROP"),
	}, nil
}

// CheckRoutes reads `ip -4 route show table all` from inside the machine
// and refuses any way off its bridge: no default route, nothing through a
// gateway except the cluster's subnet and service range through the host
// (whose guard passes only the cluster's subnet), and every device
// the machine's own (its link, loopback, the pods' bridge and veths).
func (n Network) CheckRoutes(routes string) error {
	var problems []string
	for _, line := range strings.Split(strings.TrimSpace(routes), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "blackhole", "local", "broadcast", "unreachable", "prohibit":
			continue
		case "default", "0.0.0.0/0":
			problems = append(problems, "a default route: "+line)
			continue
		}
		if via := field(f, "via"); via != "" {
			if via != n.HostAddr().String() || (f[0] != n.ClusterSubnet.Masked().String() && f[0] != cluster.ServiceSubnet) {
				problems = append(problems, "a route through a gateway other than to the cluster's nodes or services via the host: "+line)
			}
		}
		switch dev := field(f, "dev"); {
		case dev == "eth0", dev == "lo", dev == "cni0", strings.HasPrefix(dev, "veth"), dev == "":
		default:
			problems = append(problems, "a route through device "+dev+": "+line)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the VM could reach past its bridge:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func field(f []string, key string) string {
	for i := 0; i+1 < len(f); i++ {
		if f[i] == key {
			return f[i+1]
		}
	}
	return ""
}
