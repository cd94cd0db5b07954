// Command hostprep prepares this host for kubenext clusters.
//
//	hostprep docker                                     install docker.io, debootstrap and iptables if missing;
//	                                                    start dockerd (with the runc wrapper when capabilities are missing)
//	hostprep guard add --cluster NAME --subnet CIDR     keep NAME's traffic on this machine (DOCKER-USER rules)
//	hostprep guard add --cluster NAME --network NET     the same, for the subnets of docker network NET
//	hostprep guard remove --cluster NAME                remove NAME's rules
//
// Build it with CGO_ENABLED=0: `hostprep docker` copies its own binary into a
// one-file image to check that privileged containers start, which needs a
// static executable.
package main

import (
	"context"
	"fmt"
	"github.com/kubenext/kubenext/internal/steps"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/hostprep"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hostprep:", err)
		stop()
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "hostprep",
		Short:         "Prepare this host for kubenext clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDockerCmd(), newGuardCmd(), newProbeCmd())
	return root
}

// probeArg is what the privileged check runs inside its container.
const probeArg = "probe"

func newDockerCmd() *cobra.Command {
	var wrapper string
	cmd := &cobra.Command{
		Use:   "docker",
		Short: "Install Docker and start a daemon that can run privileged containers",
		Long: `Installs docker.io, debootstrap and iptables with apt when missing, and makes
sure a Docker daemon answers. When none runs, it starts dockerd in the
background (pid in ` + hostprep.PidFile + `, log in ` + hostprep.DockerdLog + `),
through the kubenext-runc wrapper when this host's capability bounding set is
short. A daemon it did not start is never changed: if privileged containers
fail there, it explains the fix and exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if wrapper == "" {
				wrapper = defaultWrapper(self)
			}
			progress := &steps.Steps{Out: cmd.OutOrStdout()}
			run := hostprep.ExecRunner{}
			return hostprep.EnsureDocker(cmd.Context(), hostprep.DockerConfig{
				Run:         run,
				FS:          os.DirFS("/"),
				Start:       hostprep.DetachedStarter{},
				Steps:       progress,
				Apt:         &hostprep.Apt{Run: run, Steps: progress, PolicyRCD: "/usr/sbin/policy-rc.d"},
				Wrapper:     wrapper,
				ProbeBinary: self,
				ProbeArgs:   []string{probeArg},
			})
		},
	}
	cmd.Flags().StringVar(&wrapper, "runc-wrapper", "",
		"runc wrapper binary (default: kubenext-runc-wrapper next to hostprep, else _output/tools/kubenext-runc-wrapper)")
	return cmd
}

// defaultWrapper looks where the build puts the wrapper: beside hostprep
// (both in _output/tools), or under the repository root when hostprep runs
// through `go run`.
func defaultWrapper(self string) string {
	const name = "kubenext-runc-wrapper"
	if p := filepath.Join(filepath.Dir(self), name); fileExists(p) {
		return p
	}
	return filepath.Join("_output", "tools", name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func newGuardCmd() *cobra.Command {
	guard := &cobra.Command{
		Use:   "guard",
		Short: "Keep a cluster's container traffic on this machine",
		Long: `Adds or removes DOCKER-USER iptables rules that drop everything a cluster's
docker network forwards to addresses outside this machine, while containers on
the network still reach each other and the host. Rules carry the comment
kubenext:<cluster>; add them before any node starts, remove them with the cluster.`,
	}
	guard.AddCommand(newGuardAddCmd(), newGuardRemoveCmd())
	return guard
}

func newGuardAddCmd() *cobra.Command {
	var cluster, network, bridge string
	var subnets []string
	cmd := &cobra.Command{
		Use:   "add --cluster NAME (--subnet CIDR... [--bridge DEV] | --network NAME)",
		Short: "Install the guard rules for a cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			run := hostprep.ExecRunner{}
			if err := hostprep.ValidateCluster(cluster); err != nil {
				return err
			}
			prefixes, err := guardSubnets(ctx, run, subnets, network)
			if err != nil {
				return err
			}
			if network != "" {
				if bridge, err = networkBridge(ctx, run, network); err != nil {
					return err
				}
			}
			progress := &steps.Steps{Out: cmd.OutOrStdout()}
			return progress.Run(fmt.Sprintf("Guarding %s for cluster %s", joinPrefixes(prefixes), cluster), func() error {
				return hostprep.Guard{Run: run, Bridge: bridge}.Add(ctx, cluster, prefixes)
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster name (required)")
	cmd.Flags().StringSliceVar(&subnets, "subnet", nil, "subnet of the cluster's docker network, IPv4 or IPv6 (repeatable)")
	cmd.Flags().StringVar(&network, "network", "", "docker network whose subnets (and bridge) to guard")
	cmd.Flags().StringVar(&bridge, "bridge", "", "bridge device of the network; traffic staying on it is let through")
	_ = cmd.MarkFlagRequired("cluster")
	cmd.MarkFlagsOneRequired("subnet", "network")
	cmd.MarkFlagsMutuallyExclusive("subnet", "network")
	return cmd
}

func guardSubnets(ctx context.Context, run hostprep.Runner, subnets []string, network string) ([]netip.Prefix, error) {
	if network != "" {
		out, err := run.Output(ctx, "docker", "network", "inspect", network,
			"--format", "{{range .IPAM.Config}}{{println .Subnet}}{{end}}")
		if err != nil {
			return nil, err
		}
		return hostprep.ParseNetworkSubnets(string(out))
	}
	var prefixes []netip.Prefix
	for _, s := range subnets {
		p, err := hostprep.ParseSubnet(s)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

// networkBridge returns the bridge device docker made for network: the
// name set at creation, or br-<first 12 characters of its ID>.
func networkBridge(ctx context.Context, run hostprep.Runner, network string) (string, error) {
	out, err := run.Output(ctx, "docker", "network", "inspect", network,
		"--format", `{{index .Options "com.docker.network.bridge.name"}} {{.ID}}`)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(out))
	switch {
	case len(f) == 2:
		return f[0], nil
	case len(f) == 1 && len(f[0]) >= 12:
		return "br-" + f[0][:12], nil
	}
	return "", fmt.Errorf("cannot tell the bridge device of docker network %s from %q", network, out)
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func newGuardRemoveCmd() *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use:   "remove --cluster NAME",
		Short: "Remove every guard rule of a cluster (both address families)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			progress := &steps.Steps{Out: cmd.OutOrStdout()}
			return progress.Run("Removing guard for cluster "+cluster, func() error {
				n, err := hostprep.Guard{Run: hostprep.ExecRunner{}}.Remove(cmd.Context(), cluster)
				progress.Note("%d rule(s) removed", n)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster name (required)")
	_ = cmd.MarkFlagRequired("cluster")
	return cmd
}

// newProbeCmd is what runs inside the privileged-check container: starting
// at all is the test, so it only exits 0.
func newProbeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    probeArg,
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE:   func(*cobra.Command, []string) error { return nil },
	}
}
