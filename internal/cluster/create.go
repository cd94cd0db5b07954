package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// Cluster is one kubenext kind cluster and the tools that drive it.
type Cluster struct {
	Spec
	Network    string       // docker network the nodes join
	Subnet     netip.Prefix // its subnet, guarded before any node starts
	Kind       string       // kind binary
	Kubectl    string       // kubectl binary
	Kubeconfig string       // where kind writes the cluster's kubeconfig
	StateDir   string       // kind config and other files for this cluster
	// Cmd runs kind, kubectl, docker and iptables on this machine; the
	// nodes are reached through a nodes.Provider on it.
	Cmd exec.Cmder
	// LookPath tells which of iptables and ip6tables exist; exec.LookPath
	// when nil.
	LookPath func(file string) (string, error)
	Steps    *steps.Steps
}

func (c *Cluster) docker() *nodes.Provider { return &nodes.Provider{Host: c.Cmd} }

func (c *Cluster) guard(bridge string) guard.IPTables {
	return guard.IPTables{Cmd: c.Cmd, LookPath: c.LookPath, Bridge: bridge}
}

type action struct {
	title string
	run   func(ctx context.Context) error
}

func (c *Cluster) runActions(ctx context.Context, actions []action) error {
	for _, a := range actions {
		if err := c.Steps.Run(a.title, func() error { return a.run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// Create brings the cluster up. The order is the safety argument: the
// network exists and is guarded before kind starts a node, and the node
// image blackholes the pod and service ranges before its kubelet starts.
func (c *Cluster) Create(ctx context.Context) error {
	config, err := KindConfig(c.Spec)
	if err != nil {
		return err
	}
	configPath := filepath.Join(c.StateDir, "kind.yaml")
	return c.runActions(ctx, []action{
		{fmt.Sprintf("Preparing docker network %s (%s)", c.Network, c.Subnet), func(ctx context.Context) error {
			return EnsureNetwork(ctx, c.Cmd, c.Network, c.Subnet)
		}},
		{"Dropping cluster traffic bound off this machine", func(ctx context.Context) error {
			g := c.guard(BridgeName(c.Network))
			if err := g.Add(ctx, c.Name, []netip.Prefix{c.Subnet}); err != nil {
				return err
			}
			if err := g.Verify(ctx, c.Name, c.Subnet); err != nil {
				return fmt.Errorf("%w; refusing to start nodes whose traffic could leave this machine", err)
			}
			return nil
		}},
		{"Writing kind config " + configPath, func(context.Context) error {
			if err := os.MkdirAll(c.StateDir, 0o755); err != nil {
				return err
			}
			c.Steps.Note("feature gates: %s", FormatGates(c.Gates))
			c.Steps.Note("cgroup v1 host: %t; restrict_oom_score_adj: %t", c.Host.CgroupV1, c.Host.CannotLowerOOMScore)
			return os.WriteFile(configPath, config, 0o644)
		}},
		{fmt.Sprintf("Creating cluster %s (1 control-plane, %d workers, %d gate-off workers, %d upstream workers) with kind", c.Name, c.Workers, c.GateOffWorkers, c.UpstreamWorkers), func(ctx context.Context) error {
			// Each node's image is in the config (see Spec.NodeImage).
			return c.kind(ctx, "create", "cluster", "--name", c.Name,
				"--config", configPath, "--kubeconfig", c.Kubeconfig, "--wait", "0s")
		}},
		{"Checking blackhole routes on every node", c.checkBlackholes},
		{"Keeping cluster DNS inside the cluster", c.confineDNS},
		{"Waiting for nodes and system pods to be Ready", c.waitReady},
	})
}

// Delete removes the cluster, then its guard and network. With Docker not
// running there are no nodes to delete, and the guard still goes.
func (c *Cluster) Delete(ctx context.Context) error {
	var actions []action
	if DockerDown(ctx, c.Cmd) {
		c.Steps.Note("Docker is not running: no node of cluster %s can be, so only its host rules are removed", c.Name)
	} else {
		actions = append(actions,
			action{"Thawing cgroups that runc left frozen in the nodes", c.thawNodes},
			action{"Deleting cluster " + c.Name, func(ctx context.Context) error {
				return c.kind(ctx, "delete", "cluster", "--name", c.Name, "--kubeconfig", c.Kubeconfig)
			}},
			action{"Removing docker network " + c.Network, func(ctx context.Context) error {
				return RemoveNetwork(ctx, c.Cmd, c.Steps, c.Network)
			}},
		)
	}
	return c.runActions(ctx, append(actions, action{"Removing the traffic guard", func(ctx context.Context) error {
		n, err := c.guard("").Remove(ctx, c.Name)
		c.Steps.Note("%d rules removed", n)
		return err
	}}))
}

// thawNodes lets every process of the node containers die: Docker cannot
// kill a node whose processes sit in a frozen cgroup (see ThawFrozenCgroups).
func (c *Cluster) thawNodes(ctx context.Context) error {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil // no cluster, nothing frozen
	}
	return ThawContainers(ctx, c.Cmd, c.Steps, nodes)
}

// ThawContainers thaws the frozen cgroups of the given node containers,
// so that Docker can remove them.
func ThawContainers(ctx context.Context, host exec.Cmder, progress *steps.Steps, containers []nodes.Node) error {
	if len(containers) == 0 {
		return nil
	}
	args := []string{"inspect", "--format", "{{.Id}}"}
	for _, n := range containers {
		args = append(args, n.Name)
	}
	out, err := exec.Output(host.Command(ctx, "docker", args...))
	if err != nil {
		return nil // the removal reports what is wrong with the containers
	}
	n, err := ThawFrozenCgroups("/sys/fs/cgroup", strings.Fields(string(out)))
	if n > 0 {
		progress.Note("%d frozen cgroups thawed", n)
	}
	return err
}

// kind runs kind with its own progress output on ours, on the guarded network.
func (c *Cluster) kind(ctx context.Context, args ...string) error {
	return c.Cmd.Command(ctx, c.Kind, args...).
		SetEnv("KIND_EXPERIMENTAL_DOCKER_NETWORK=" + c.Network).
		SetStdout(c.Steps.Out).SetStderr(c.Steps.Out).Run()
}

func (c *Cluster) kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return exec.Output(c.Cmd.Command(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...))
}

// Nodes lists the cluster's running node containers.
func (c *Cluster) Nodes(ctx context.Context) ([]nodes.Node, error) {
	return c.docker().List(ctx, c.Name)
}

func (c *Cluster) checkBlackholes(ctx context.Context) error {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		return fmt.Errorf("kind started no node containers for cluster %s", c.Name)
	}
	for _, node := range nodes {
		if err := CheckBlackholesOn(ctx, node); err != nil {
			return fmt.Errorf("node %s: %w", node, err)
		}
	}
	return nil
}

// Where the node image blackholes the service range (see the node image's
// kubenext-blackhole unit): a policy table that only non-local traffic to
// the service range consults.
const (
	ServiceBlackholeTable = 4096
	ServiceRulePref       = 4000
)

// CheckBlackholesOn is CheckNodeBlackholes with node's commands.
func CheckBlackholesOn(ctx context.Context, node exec.Cmder) error {
	return CheckNodeBlackholes(func(args ...string) (string, error) {
		out, err := exec.Output(node.Command(ctx, args[0], args[1:]...))
		return string(out), err
	})
}

// CheckNodeBlackholes verifies, through run (a command on the node), that
// the pod range is blackholed in the main table and the service range in
// its policy table, behind the rule that sends forwarded traffic there.
func CheckNodeBlackholes(run func(args ...string) (string, error)) error {
	main, err := run("ip", "-4", "route", "show", "type", "blackhole")
	if err != nil {
		return err
	}
	table, err := run("ip", "-4", "route", "show", "table", strconv.Itoa(ServiceBlackholeTable), "type", "blackhole")
	if err != nil {
		return err
	}
	rules, err := run("ip", "-4", "rule", "show")
	if err != nil {
		return err
	}
	var missing []string
	if !hasBlackhole(main, PodSubnet) {
		missing = append(missing, "blackhole "+PodSubnet+" in the main table")
	}
	if !hasBlackhole(table, ServiceSubnet) {
		missing = append(missing, fmt.Sprintf("blackhole %s in table %d", ServiceSubnet, ServiceBlackholeTable))
	}
	wantRule := fmt.Sprintf("%d:\tfrom all to %s lookup %d", ServiceRulePref+1, ServiceSubnet, ServiceBlackholeTable)
	if !strings.Contains(rules, wantRule) {
		missing = append(missing, fmt.Sprintf("rule %q", wantRule))
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; pod traffic could follow the default route off this machine", strings.Join(missing, ", "))
	}
	return nil
}

func hasBlackhole(routes, dst string) bool {
	for _, line := range strings.Split(routes, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "blackhole" && f[1] == dst {
			return true
		}
	}
	return false
}

func (c *Cluster) confineDNS(ctx context.Context) error {
	return ConfineDNS(func(args ...string) ([]byte, error) { return c.kubectl(ctx, args...) })
}

// ConfineDNS takes the forward block out of CoreDNS's Corefile, through
// kubectl, and restarts CoreDNS when that changed it.
func ConfineDNS(kubectl func(args ...string) ([]byte, error)) error {
	out, err := kubectl("-n", "kube-system", "get", "configmap", "coredns", "-o", "jsonpath={.data.Corefile}")
	if err != nil {
		return err
	}
	corefile, changed := WithoutForward(string(out))
	if !changed {
		return nil
	}
	patch := fmt.Sprintf(`{"data":{"Corefile":%q}}`, corefile)
	if _, err := kubectl("-n", "kube-system", "patch", "configmap", "coredns", "--type=merge", "-p", patch); err != nil {
		return err
	}
	_, err = kubectl("-n", "kube-system", "rollout", "restart", "deployment", "coredns")
	return err
}

// WithoutForward removes CoreDNS's forward block, so that names outside
// cluster.local get NXDOMAIN from the cluster instead of being sent to the
// host's resolvers, off this machine.
func WithoutForward(corefile string) (string, bool) {
	var out []string
	skipping, changed := false, false
	for _, line := range strings.Split(corefile, "\n") {
		trimmed := strings.TrimSpace(line)
		if !skipping && strings.HasPrefix(trimmed, "forward ") {
			changed = true
			skipping = strings.HasSuffix(trimmed, "{")
			continue
		}
		if skipping {
			if trimmed == "}" {
				skipping = false
			}
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), changed
}

func (c *Cluster) waitReady(ctx context.Context) error {
	return WaitSystemReady(ctx, func(args ...string) ([]byte, error) { return c.kubectl(ctx, args...) }, 4*time.Minute)
}

// WaitSystemReady waits, through kubectl, for every node to be Ready,
// every kube-system Deployment and DaemonSet to finish its rollout, and
// the control plane's static pods to be Ready. It waits on workloads, not
// on a list of pods: a pod that a rollout (DNS confinement restarts
// CoreDNS) replaces while kubectl waits on it would hold the wait until
// its timeout.
func WaitSystemReady(ctx context.Context, kubectl func(args ...string) ([]byte, error), timeout time.Duration) error {
	deadline := "--timeout=" + timeout.String()
	if _, err := kubectl("wait", "--for=condition=Ready", "nodes", "--all", deadline); err != nil {
		return err
	}
	out, err := kubectl("-n", "kube-system", "get", "deployments,daemonsets", "-o", "name")
	if err != nil {
		return err
	}
	for _, workload := range strings.Fields(string(out)) {
		if _, err := kubectl("-n", "kube-system", "rollout", "status", workload, deadline); err != nil {
			return err
		}
	}
	_, err = kubectl("-n", "kube-system", "wait", "--for=condition=Ready", "pods", "-l", "tier=control-plane", deadline)
	return err
}
