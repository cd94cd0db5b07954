// Command nodeimage builds kubenext's kind node image, offline.
package main

import (
	"context"
	"fmt"
	"github.com/kubenext/kubenext/internal/steps"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/nodeimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		b                      nodeimage.Builder
		imagesDir, cniManifest string
		netdImage              string
	)
	cmd := &cobra.Command{
		Use:          "nodeimage --version V --tag T",
		Short:        "Build the kind node image from our binaries, pinned modules and Debian",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if b.Version == "" || b.Tag == "" {
				return fmt.Errorf("--version and --tag are required (the Makefile passes them)")
			}
			archives, err := filepath.Glob(filepath.Join(imagesDir, "*.tar"))
			if err != nil || len(archives) == 0 {
				return fmt.Errorf("no image archives in %s: run `make images` first", imagesDir)
			}
			manifest, err := os.ReadFile(cniManifest)
			if err != nil {
				return err
			}
			if !strings.Contains(string(manifest), "__NETD_IMAGE__") {
				return fmt.Errorf("%s has no __NETD_IMAGE__ placeholder for the netd image", cniManifest)
			}
			b.CNIManifest = []byte(strings.ReplaceAll(string(manifest), "__NETD_IMAGE__", netdImage))
			b.Archives = archives
			b.PodSubnet, b.ServiceSubnet = cluster.PodSubnet, cluster.ServiceSubnet
			b.Run = nodeimage.ExecRunner{}
			b.Steps = &steps.Steps{Out: cmd.OutOrStdout()}
			for _, p := range []*string{&b.KindTree, &b.Bin, &b.Tools, &b.WorkDir} {
				if *p, err = filepath.Abs(*p); err != nil {
					return err
				}
			}
			return b.Build(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&b.Version, "version", "", "Kubernetes version string, e.g. v1.37.2+kubenext.<commit>")
	f.StringVar(&b.Tag, "tag", "", "image tag to build, e.g. kubenext/node:v1.37.2_kubenext.<commit>")
	f.StringVar(&b.KindTree, "kind-tree", "", "patched sigs.k8s.io/kind module tree (from patchtree)")
	f.StringVar(&b.Bin, "bin", "_output/bin", "directory of kubeadm, kubelet and kubectl")
	f.StringVar(&b.Tools, "tools", "_output/tools", "directory of containerd, ctr, the shim, runc, crictl and cni/")
	f.StringVar(&b.WorkDir, "work-dir", "_output/nodeimage", "scratch directory (the base root filesystem is cached here)")
	f.StringVar(&imagesDir, "images", "_output/images", "directory of image archives to preload")
	f.StringVar(&cniManifest, "cni-manifest", "manifests/netd/netd.yaml", "CNI DaemonSet manifest, with __NETD_IMAGE__")
	f.StringVar(&netdImage, "netd-image", "", "image reference of kubenext-netd")
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "nodeimage:", err)
		stop()
		os.Exit(1)
	}
}
