package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
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

// EnsureNetwork creates the cluster's docker network with a fixed subnet,
// or checks that an existing one has it. A known subnet lets the guard go
// in before kind starts any node.
func EnsureNetwork(ctx context.Context, host exec.Cmder, name string, subnet netip.Prefix) error {
	docker := &nodes.Provider{Host: host}
	have, err := docker.NetworkSubnets(ctx, name)
	var inspectFailed *exec.RunError
	switch {
	case errors.As(err, &inspectFailed):
		// No such network (or no answer): create it; a daemon that is
		// down fails the create with its own message.
		_, err = exec.CombinedOutput(host.Command(ctx, "docker", "network", "create", "--driver=bridge",
			"--subnet="+subnet.String(),
			"--opt=com.docker.network.bridge.enable_ip_masquerade=true",
			"--opt=com.docker.network.bridge.name="+BridgeName(name),
			"--label=io.kubenext.cluster-network=true",
			name))
		return err
	case err != nil:
		return fmt.Errorf("docker network %s: %w", name, err)
	}
	if len(have) != 1 || have[0] != subnet {
		return fmt.Errorf("docker network %s exists with subnets %v, not %s: remove it (`docker network rm %s`) or choose another NETWORK_SUBNET", name, have, subnet, name)
	}
	bridge, err := docker.NetworkBridge(ctx, name)
	if err != nil || bridge != BridgeName(name) {
		return fmt.Errorf("docker network %s exists but was not made by kubenext (bridge %q, want %s): remove it (`docker network rm %s`)", name, bridge, BridgeName(name), name)
	}
	return nil
}

// DockerDown says whether the Docker daemon cannot be reached. On a
// fresh machine, before make docker has started it, no container of ours
// can be running, so a removal only has host rules left to undo.
func DockerDown(ctx context.Context, host exec.Cmder) bool {
	return host.Command(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run() != nil
}

// RemoveNetwork removes the cluster's network unless something else still
// sits on it.
func RemoveNetwork(ctx context.Context, host exec.Cmder, progress *steps.Steps, name string) error {
	out, err := exec.Output(host.Command(ctx, "docker", "network", "inspect", name, "--format", "{{len .Containers}}"))
	if err != nil {
		return nil // already gone
	}
	if n := strings.TrimSpace(string(out)); n != "0" {
		progress.Note("kept: %s containers still use it", n)
		return nil
	}
	_, err = exec.CombinedOutput(host.Command(ctx, "docker", "network", "rm", name))
	return err
}
