// Command vm runs a cgroup v2 worker as a virtual machine under qemu,
// installed from the release's packages and joined to a running cluster.
//
//	vm up   [flags]   disk, bridge, guard, boot, apt install, kubeadm join
//	vm down [flags]   stop it, delete its node, remove disk, bridge and guard
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/vm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o vm.Options
	root := &cobra.Command{Use: "vm", Short: "A cgroup v2 worker in a virtual machine, installed from our packages", SilenceUsage: true, SilenceErrors: true}
	pf := root.PersistentFlags()
	pf.StringVar(&o.Name, "name", "kubenext-vm", "node name of the machine")
	pf.StringVar(&o.Cluster, "cluster", "kubenext", "the running cluster it joins")
	pf.StringVar(&o.Release, "release", "", "release directory from make release (debs/)")
	pf.StringVar(&o.ReleaseTool, "release-tool", "_output/tools/release", "our release binary (apt-repo)")
	pf.StringVar(&o.Kubectl, "kubectl", "_output/bin/kubectl", "kubectl binary")
	pf.StringVar(&o.StateDir, "state-dir", "_output/clusters", "directory of the clusters' files (<cluster>/kubeconfig)")
	pf.StringVar(&o.WorkDir, "work-dir", "_output/vm", "root filesystem cache, and the machine's disk, key and logs")
	pf.StringVar(&o.Containerd, "containerd", "_output/tools/containerd", "containerd binary used for the preload")
	pf.StringVar(&o.Ctr, "ctr", "_output/tools/ctr", "ctr binary used for the preload")
	pf.StringVar(&o.Accel, "accel", "auto", "auto (KVM if a KVM guest boots, else emulation), kvm or tcg")
	pf.StringVar(&o.Bridge, "bridge", "kn-vm0", "bridge the project creates for the machine (no uplink)")
	pf.StringVar(&o.Tap, "tap", "kn-vm0-tap", "the machine's tap device on it")
	pf.StringVar(&o.Subnet, "subnet", "172.30.2.0/24", "the bridge's subnet; the host is .1, the machine .10")
	pf.IntVar(&o.CPUs, "cpus", 2, "virtual CPUs")
	pf.IntVar(&o.MemoryMiB, "memory", 3072, "memory in MiB")
	pf.IntVar(&o.DiskGiB, "disk", 12, "disk size in GiB (sparse)")

	root.AddCommand(
		&cobra.Command{Use: "up", Short: "Build, boot, install and join the machine", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return vm.Up(cmd.Context(), o, cmd.OutOrStdout()) }},
		&cobra.Command{Use: "down", Short: "Remove the machine, its node, disk, bridge and guard", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return vm.Down(cmd.Context(), o, cmd.OutOrStdout()) }},
	)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		stop()
		os.Exit(1)
	}
}
