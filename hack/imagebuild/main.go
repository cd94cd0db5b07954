// Command imagebuild writes every container image a kubenext node needs as
// docker-archive tarballs, from local binaries and Debian packages. Nothing
// is pulled: the component list comes from our own kubeadm.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/hack/imagebuild/images"
)

func main() {
	var (
		src                     images.Sources
		kubeadm, version, out   string
		extraTag, netd, busybox string
	)
	cmd := &cobra.Command{
		Use:          "imagebuild",
		Short:        "Write the node's container images as docker archives, offline",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version == "" || extraTag == "" {
				return fmt.Errorf("--version and --tag are required (the Makefile passes them)")
			}
			// os/exec: hack/imagebuild is its own module (GOWORK=off) and cannot import internal/exec.
			list, err := exec.CommandContext(cmd.Context(), kubeadm, "config", "images", "list", "--kubernetes-version", version).Output()
			if err != nil {
				return fmt.Errorf("%s config images list: %w", kubeadm, err)
			}
			refs, err := images.ParseImageList(string(list))
			if err != nil {
				return err
			}
			// os/exec: hack/imagebuild is its own module (GOWORK=off) and cannot import internal/exec.
			applets, err := exec.CommandContext(cmd.Context(), busybox, "--list").Output()
			if err != nil {
				return fmt.Errorf("%s --list: %w", busybox, err)
			}
			src.BusyboxDir = filepath.Dir(filepath.Dir(busybox))
			src.Applets = images.ParseApplets(string(applets))

			var specs []func() (images.Spec, error)
			for _, ref := range refs {
				specs = append(specs, func() (images.Spec, error) { return images.ForKubeadmImage(ref, src) })
			}
			specs = append(specs,
				func() (images.Spec, error) { return images.Busybox("docker.io/kubenext/busybox:"+extraTag, src) },
				func() (images.Spec, error) {
					return images.SupplementalGroups("docker.io/kubenext/supplementalgroups:"+extraTag, src)
				},
				func() (images.Spec, error) {
					return images.ForBinary("docker.io/kubenext/netd:"+extraTag, netd, "/usr/local/bin/kubenext-netd")
				},
			)
			recipes := make([]images.Recipe, len(specs))
			for i, spec := range specs {
				recipes[i] = func() (string, v1.Image, error) {
					s, err := spec()
					if err != nil {
						return "", nil, err
					}
					img, err := images.Build(s)
					if err != nil {
						return "", nil, fmt.Errorf("%s: %w", s.Ref, err)
					}
					return s.Ref, img, nil
				}
			}
			return images.WriteAll(cmd.Context(), out, "registry.k8s.io", recipes, os.Stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeadm, "kubeadm", "_output/bin/kubeadm", "our kubeadm, which names the images a node needs")
	f.StringVar(&version, "version", "", "Kubernetes version, e.g. v1.37.2+kubenext.<commit>")
	f.StringVar(&extraTag, "tag", "", "tag for our own images (kubenext/busybox, kubenext/netd)")
	f.StringVar(&src.Bin, "bin", "_output/bin", "directory of our Kubernetes binaries")
	f.StringVar(&src.Tools, "tools", "_output/tools", "directory of etcd, coredns and pause")
	f.StringVar(&src.DebianRootfs, "debian-rootfs", "_output/rootfs/kube-proxy.tar", "layer tarball of the minimal Debian root (kube-proxy's and the test image's base)")
	f.StringVar(&busybox, "busybox", "_output/rootfs/busybox/bin/busybox", "Debian's static busybox binary")
	f.StringVar(&netd, "netd", "_output/bin/kubenext-netd", "kubenext-netd binary")
	f.StringVar(&out, "out", "_output/images", "output directory; emptied first, so it holds only this build's images")
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}
