// Command nodeimage builds kubenext's kind node image, offline.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/nodeimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o nodeimage.Options
	cmd := &cobra.Command{
		Use:          "nodeimage --version V --tag T",
		Short:        "Build the kind node image from our binaries, pinned modules and Debian",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return nodeimage.Build(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Version, "version", "", "Kubernetes version string, e.g. v1.37.2+kubenext.<commit>")
	f.StringVar(&o.Tag, "tag", "", "image tag to build, e.g. kubenext/node:v1.37.2_kubenext.<commit>")
	f.StringVar(&o.KindTree, "kind-tree", "", "patched sigs.k8s.io/kind module tree (from patchtree)")
	f.StringVar(&o.Bin, "bin", "_output/bin", "directory of kubeadm, kubelet and kubectl")
	f.StringVar(&o.Tools, "tools", "_output/tools", "directory of containerd, ctr, the shim, runc, crictl and cni/")
	f.StringVar(&o.WorkDir, "work-dir", "_output/nodeimage", "scratch directory (the base root filesystem is cached here)")
	f.StringVar(&o.Images, "images", "_output/images", "directory of image archives to preload")
	f.StringVar(&o.CNIManifest, "cni-manifest", "manifests/netd/netd.yaml", "CNI DaemonSet manifest, with "+nodeimage.NetdPlaceholder)
	f.StringVar(&o.NetdImage, "netd-image", "", "image reference of kubenext-netd")
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "nodeimage:", err)
		stop()
		os.Exit(1)
	}
}
