package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/kubenext/kubenext/internal/hostprep"
)

// The pod and service ranges are fixed: the node image blackholes exactly
// these at boot (see hack/nodeimage), before containerd or the kubelet
// start, and a cluster with other ranges would run without that guard.
const (
	PodSubnet     = "10.244.0.0/16"
	ServiceSubnet = "10.96.0.0/16"
)

// BridgeName is the bridge device we give a cluster network, so that the
// guard can name it before any node exists. Linux allows 15 characters.
func BridgeName(network string) string {
	name := "br-" + network
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// ensureNetwork creates the cluster's docker network with a fixed subnet,
// or checks that an existing one has it. A known subnet lets the guard go
// in before kind starts any node.
func ensureNetwork(ctx context.Context, run hostprep.Runner, name string, subnet netip.Prefix) error {
	out, err := run.Output(ctx, "docker", "network", "inspect", name, "--format", "{{range .IPAM.Config}}{{println .Subnet}}{{end}}")
	if err == nil {
		have, err := hostprep.ParseNetworkSubnets(string(out))
		if err != nil {
			return fmt.Errorf("docker network %s: %w", name, err)
		}
		if len(have) != 1 || have[0] != subnet {
			return fmt.Errorf("docker network %s exists with subnets %v, not %s: remove it (`docker network rm %s`) or choose another NETWORK_SUBNET", name, have, subnet, name)
		}
		bridge, err := run.Output(ctx, "docker", "network", "inspect", name, "--format", `{{index .Options "com.docker.network.bridge.name"}}`)
		if err != nil || strings.TrimSpace(string(bridge)) != BridgeName(name) {
			return fmt.Errorf("docker network %s exists but was not made by kubenext (bridge %q, want %s): remove it (`docker network rm %s`)", name, strings.TrimSpace(string(bridge)), BridgeName(name), name)
		}
		return nil
	}
	_, err = run.Output(ctx, "docker", "network", "create", "--driver=bridge",
		"--subnet="+subnet.String(),
		"--opt=com.docker.network.bridge.enable_ip_masquerade=true",
		"--opt=com.docker.network.bridge.name="+BridgeName(name),
		"--label=io.kubenext.cluster-network=true",
		name)
	return err
}

// checkGuard confirms that the DROP rule for the cluster is present.
func checkGuard(ctx context.Context, run hostprep.Runner, cluster string) error {
	listing, err := run.Output(ctx, "iptables", "-w", "-S")
	if err != nil {
		return err
	}
	for _, rule := range hostprep.OwnedRules(string(listing), cluster) {
		if strings.Contains(strings.Join(rule, " "), "-j DROP") {
			return nil
		}
	}
	return fmt.Errorf("the DOCKER-USER drop rule for cluster %s is missing; refusing to start nodes whose traffic could leave this machine", cluster)
}
