// Command imagebuild writes every container image a kubenext node needs as
// docker-archive tarballs, from local binaries and Debian packages. Nothing
// is pulled: the component list comes from our own kubeadm.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/hack/imagebuild/images"
)

func main() {
	var o images.NodeOptions
	cmd := &cobra.Command{
		Use:          "imagebuild",
		Short:        "Write the node's container images as docker archives, offline",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return images.WriteNodeImages(cmd.Context(), o, os.Stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Kubeadm, "kubeadm", "_output/bin/kubeadm", "our kubeadm, which names the images a node needs")
	f.StringVar(&o.Version, "version", "", "Kubernetes version, e.g. v1.37.2+kubenext.<commit>")
	f.StringVar(&o.Tag, "tag", "", "tag for our own images (kubenext/busybox, kubenext/netd)")
	f.StringVar(&o.Bin, "bin", "_output/bin", "directory of our Kubernetes binaries")
	f.StringVar(&o.Tools, "tools", "_output/tools", "directory of etcd, coredns and pause")
	f.StringVar(&o.DebianRootfs, "debian-rootfs", "_output/rootfs/kube-proxy.tar", "layer tarball of the minimal Debian root (kube-proxy's and the test image's base)")
	f.StringVar(&o.Busybox, "busybox", "_output/rootfs/busybox/bin/busybox", "Debian's static busybox binary")
	f.StringVar(&o.Netd, "netd", "_output/bin/kubenext-netd", "kubenext-netd binary")
	f.StringVar(&o.Out, "out", "_output/images", "output directory; emptied first, so it holds only this build's images")
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}
