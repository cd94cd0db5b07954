// Command testimages writes the e2e test images that upstream's
// [Conformance] specs run, under upstream's exact names, as docker
// archives built from local binaries and a Debian root. Nothing is pulled:
// `make conformance-images` loads the archives into the kind nodes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubenext/kubenext/hack/imagebuild/images"
)

func main() {
	var (
		src     images.TestSources
		busybox string
		out     string
	)
	flag.StringVar(&src.DebianRootfs, "debian-rootfs", "_output/rootfs/e2e-debian.tar", "layer tarball of the Debian root with the test tools")
	flag.StringVar(&src.DebianRootfsDir, "debian-rootfs-dir", "_output/rootfs/e2e-debian", "the same root, unpacked")
	flag.StringVar(&src.Busybox.DebianRootfs, "busybox-rootfs", "_output/rootfs/kube-proxy.tar", "Debian root of the test busybox image")
	flag.StringVar(&busybox, "busybox", "_output/rootfs/busybox/bin/busybox", "Debian's static busybox binary")
	flag.StringVar(&src.Agnhost, "agnhost", "_output/testimages/bin/agnhost", "agnhost, built from the pinned k8s.io/kubernetes")
	flag.StringVar(&src.SampleAPIServer, "sample-apiserver", "_output/testimages/bin/sample-apiserver", "k8s.io/sample-apiserver, built from the pinned module")
	flag.StringVar(&src.NoNewPrivs, "nnp", "_output/testimages/bin/nnp", "test/images/nonewprivs, built from the pinned k8s.io/kubernetes")
	flag.StringVar(&src.KubernetesDir, "kubernetes-dir", "", "the pinned k8s.io/kubernetes module directory (read only)")
	flag.StringVar(&out, "out", "_output/testimages/images", "output directory; emptied first")
	flag.Parse()
	if err := run(src, busybox, out); err != nil {
		fmt.Fprintln(os.Stderr, "testimages:", err)
		os.Exit(1)
	}
}

func run(src images.TestSources, busybox, out string) error {
	if src.KubernetesDir == "" {
		return fmt.Errorf("--kubernetes-dir is required (the Makefile passes the module directory)")
	}
	// os/exec: hack/imagebuild is its own module (GOWORK=off) and cannot import internal/exec.
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	src.Busybox.BusyboxDir = filepath.Dir(filepath.Dir(busybox))
	src.Busybox.Applets = images.ParseApplets(string(applets))

	recipes, err := images.TestImages(src)
	if err != nil {
		return err
	}
	built := make([]images.Recipe, len(recipes))
	for i, recipe := range recipes {
		built[i] = func() (string, v1.Image, error) {
			image, err := recipe()
			if err != nil {
				return "", nil, err
			}
			img, err := images.BuildTestImage(image)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", image.Ref, err)
			}
			return image.Ref, img, nil
		}
	}
	return images.WriteAll(context.Background(), out, images.E2ERegistry, built, os.Stdout)
}
