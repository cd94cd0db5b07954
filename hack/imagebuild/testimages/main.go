// Command testimages writes the e2e test images that upstream's
// [Conformance] specs run, under upstream's exact names, as docker
// archives built from local binaries and a Debian root. Nothing is pulled:
// `make conformance-images` loads the archives into the kind nodes.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var refs []string
	for _, recipe := range recipes {
		start := time.Now()
		image, err := recipe()
		if err != nil {
			return err
		}
		img, err := images.BuildTestImage(image)
		if err != nil {
			return fmt.Errorf("%s: %w", image.Ref, err)
		}
		file := filepath.Join(out, archiveName(image.Ref))
		if err := images.WriteArchive(file, image.Ref, img); err != nil {
			return fmt.Errorf("%s: %w", image.Ref, err)
		}
		info, err := os.Stat(file)
		if err != nil {
			return err
		}
		fmt.Printf(" ✓ %s (%.1f MB, %.1fs)\n", image.Ref, float64(info.Size())/1e6, time.Since(start).Seconds())
		refs = append(refs, image.Ref)
	}
	return os.WriteFile(filepath.Join(out, "images.txt"), []byte(strings.Join(refs, "\n")+"\n"), 0o644)
}

// archiveName turns registry.k8s.io/e2e-test-images/agnhost:2.66.1 into
// agnhost_2.66.1.tar.
func archiveName(ref string) string {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, images.E2ERegistry+"/"), "docker.io/")
	return strings.NewReplacer("/", "_", ":", "_").Replace(ref) + ".tar"
}
