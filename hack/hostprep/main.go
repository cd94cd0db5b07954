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
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/hostprep"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tool := hostprep.OnHost(os.Stdout)
	root := &cobra.Command{Use: "hostprep", Short: "Prepare this host for kubenext clusters", SilenceUsage: true, SilenceErrors: true}

	var wrapper string
	docker := &cobra.Command{Use: "docker", Short: "Install Docker and start a daemon that can run privileged containers", Args: cobra.NoArgs,
		Long: `Installs docker.io, debootstrap and iptables with apt when missing, and makes
sure a Docker daemon answers. When none runs, it starts dockerd in the
background (pid in ` + hostprep.PidFile + `, log in ` + hostprep.DockerdLog + `),
through the kubenext-runc wrapper when this host's capability bounding set is
short. A daemon it did not start is never changed: if privileged containers
fail there, it explains the fix and exits non-zero.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return tool.Docker(cmd.Context(), wrapper) }}
	docker.Flags().StringVar(&wrapper, "runc-wrapper", "",
		"runc wrapper binary (default: kubenext-runc-wrapper next to hostprep, else _output/tools/kubenext-runc-wrapper)")

	guard := &cobra.Command{Use: "guard", Short: "Keep a cluster's container traffic on this machine",
		Long: `Adds or removes DOCKER-USER iptables rules that drop everything a cluster's
docker network forwards to addresses outside this machine, while containers on
the network still reach each other and the host. Rules carry the comment
kubenext:<cluster>; add them before any node starts, remove them with the cluster.`}
	var add hostprep.GuardAddOptions
	addCmd := &cobra.Command{Use: "add --cluster NAME (--subnet CIDR... [--bridge DEV] | --network NAME)", Short: "Install the guard rules for a cluster", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return tool.GuardAdd(cmd.Context(), add) }}
	af := addCmd.Flags()
	af.StringVar(&add.Cluster, "cluster", "", "cluster name (required)")
	af.StringSliceVar(&add.Subnets, "subnet", nil, "subnet of the cluster's docker network, IPv4 or IPv6 (repeatable)")
	af.StringVar(&add.Network, "network", "", "docker network whose subnets (and bridge) to guard")
	af.StringVar(&add.Bridge, "bridge", "", "bridge device of the network; traffic staying on it is let through")
	_ = addCmd.MarkFlagRequired("cluster")
	addCmd.MarkFlagsOneRequired("subnet", "network")
	addCmd.MarkFlagsMutuallyExclusive("subnet", "network")

	var cluster string
	removeCmd := &cobra.Command{Use: "remove --cluster NAME", Short: "Remove every guard rule of a cluster (both address families)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return tool.GuardRemove(cmd.Context(), cluster) }}
	removeCmd.Flags().StringVar(&cluster, "cluster", "", "cluster name (required)")
	_ = removeCmd.MarkFlagRequired("cluster")
	guard.AddCommand(addCmd, removeCmd)

	probe := &cobra.Command{Use: hostprep.ProbeArg, Hidden: true, Args: cobra.ArbitraryArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	root.AddCommand(docker, guard, probe)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hostprep:", err)
		stop()
		os.Exit(1)
	}
}
