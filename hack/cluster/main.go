// Command cluster creates and deletes kubenext kind clusters.
//
//	cluster config  [flags]   check the gates and print the kind config; starts nothing
//	cluster create  [flags]   guarded network, kind cluster, DNS confinement, wait for Ready
//	cluster delete  [flags]   remove the cluster, its network and its guard
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o cluster.Options
	root := &cobra.Command{Use: "cluster", Short: "Create and delete kubenext kind clusters", SilenceUsage: true, SilenceErrors: true}
	pf := root.PersistentFlags()
	pf.StringVar(&o.Name, "name", "kubenext", "cluster name")
	pf.StringVar(&o.Image, "image", "", "node image (required for create)")
	pf.IntVar(&o.Workers, "workers", 1, "number of worker nodes")
	pf.IntVar(&o.GateOffWorkers, "gate-off-workers", 1, "extra workers whose kubelet runs with KeystoneContainers=false and ContainerRestartRuleTerminatePod=false, labelled "+cluster.GateOffLabel+"="+cluster.GateOffLabelValue)
	pf.IntVar(&o.UpstreamWorkers, "upstream-workers", 0, "extra workers running pristine upstream's kubelet, labelled "+cluster.KubeletLabel+"="+cluster.KubeletLabelUpstream)
	pf.StringVar(&o.UpstreamImage, "upstream-image", "", "node image of the upstream workers (cluster upstream-image builds it)")
	pf.StringVar(&o.Gates, "gates", "", "feature gates on top of the defaults, e.g. EventedPLEG=false")
	pf.StringVar(&o.Network, "network", "kubenext", "docker network for the nodes")
	pf.StringVar(&o.Subnet, "subnet", "172.30.0.0/24", "subnet of that network; guarded before nodes start")
	pf.StringVar(&o.Kind, "kind", "_output/tools/kind", "kind binary")
	pf.StringVar(&o.Kubectl, "kubectl", "_output/bin/kubectl", "kubectl binary")
	pf.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig to write (default _output/clusters/<name>/kubeconfig)")
	pf.StringVar(&o.StateDir, "state-dir", "_output/clusters", "directory for per-cluster files")

	root.AddCommand(
		&cobra.Command{Use: "config", Short: "Check the gates and print the kind config", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return cluster.Config(o, cmd.OutOrStdout()) }},
		&cobra.Command{Use: "create", Short: "Create the cluster", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return cluster.Up(cmd.Context(), o, cmd.OutOrStdout()) }},
		&cobra.Command{Use: "delete", Short: "Delete the cluster, its network and its guard", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return cluster.Down(cmd.Context(), o, cmd.OutOrStdout()) }},
	)
	var up cluster.UpstreamImageOptions
	upstreamImage := &cobra.Command{Use: "upstream-image", Short: "Build the upstream workers' node image: --image with upstream's kubelet", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			up.Base = o.Image
			return cluster.UpstreamImage(cmd.Context(), up, cmd.OutOrStdout())
		}}
	upstreamImage.Flags().StringVar(&up.Kubelet, "kubelet", "_output/upstream/bin/kubelet", "upstream's kubelet (make upstream-build COMPONENTS=kubelet)")
	upstreamImage.Flags().StringVar(&up.Tag, "tag", "", "image to build (required)")
	upstreamImage.Flags().StringVar(&up.WorkDir, "work-dir", "_output/upstream/node-image", "build context directory")
	root.AddCommand(upstreamImage)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		stop()
		os.Exit(1)
	}
}
