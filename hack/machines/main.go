// Command machines installs kubenext on machines that are not kind nodes:
// plain Debian containers with systemd, packages from a local apt
// repository, images from a registry, kubeadm init and join.
//
//	machines up   [flags]   guarded network, registry, machines, packages, kubeadm
//	machines upgrade [flags] upstream machines, rolled to kubenext under load and back
//	machines down [flags]   remove the machines, the registry, the network and the guard
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/machines"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o machines.Options
	root := &cobra.Command{Use: "machines", Short: "Install kubenext on machines with kubeadm, from its packages and a registry", SilenceUsage: true, SilenceErrors: true}
	pf := root.PersistentFlags()
	pf.StringVar(&o.Name, "name", "machines", "cluster name; machines are <name>-control-plane, <name>-worker, <name>-worker2, ...")
	pf.IntVar(&o.Workers, "workers", 2, "number of worker machines")
	pf.StringVar(&o.Gates, "gates", "", "feature gates on top of the defaults, e.g. EventedPLEG=false")
	pf.StringVar(&o.Network, "network", "kubenext-machines", "docker network for the machines and the registry")
	pf.StringVar(&o.Subnet, "subnet", "172.30.1.0/24", "subnet of that network; guarded before anything starts")
	pf.StringVar(&o.Version, "version", "", "Kubernetes version of the release, e.g. v1.37.2+kubenext.<commit>")
	pf.StringVar(&o.PauseTag, "pause-tag", "", "tag of the pause image (kubeadm's PauseVersion)")
	pf.StringVar(&o.Release, "release", "", "release directory from make release (debs/, images/)")
	pf.StringArrayVar(&o.TestImages, "test-image", nil, "image archive the e2e suite uses, pushed with the release (repeatable)")
	pf.StringVar(&o.ReleaseTool, "release-tool", "_output/tools/release", "our release binary (apt-repo, push)")
	pf.StringVar(&o.RegistryBin, "registry", "_output/tools/registry", "distribution's registry binary")
	pf.StringVar(&o.Kubectl, "kubectl", "_output/bin/kubectl", "kubectl binary")
	pf.StringVar(&o.CNIManifest, "cni-manifest", "manifests/netd/netd.yaml", "CNI DaemonSet manifest, with "+machines.NetdPlaceholder)
	pf.StringVar(&o.StateDir, "state-dir", "_output/clusters", "directory for per-cluster files (kubeconfig, kubeadm logs)")
	pf.StringVar(&o.WorkDir, "work-dir", "_output/machines", "root filesystem, dependencies and apt repository")
	pf.StringVar(&o.FromVersion, "from-version", "", "upgrade: the version the machines start on (pristine upstream, v1.37.2)")
	pf.StringVar(&o.FromRelease, "from-release", "", "upgrade: its release directory")
	pf.StringVar(&o.Probe, "probe", "_output/tools/kubenext-probe", "upgrade: the client binary run on the control plane")
	pf.StringVar(&o.MixedE2E, "mixed-e2e", "", "upgrade: shell command run after the first worker moved, with upstream and kubenext kubelets side by side (the Makefile passes make e2e with a label filter)")

	root.AddCommand(
		&cobra.Command{Use: "up", Short: "Create the machines and install kubenext with kubeadm", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return machines.Up(cmd.Context(), o, cmd.OutOrStdout()) }},
		&cobra.Command{Use: "upgrade", Short: "Install upstream, move every machine to kubenext under load, and back", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return machines.RunUpgrade(cmd.Context(), o, cmd.OutOrStdout())
			}},
		&cobra.Command{Use: "down", Short: "Remove the machines, the registry, the network and the guard", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return machines.Down(cmd.Context(), o, cmd.OutOrStdout()) }},
	)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "machines:", err)
		stop()
		os.Exit(1)
	}
}
