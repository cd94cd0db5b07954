package release

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const testVersion = "v1.37.2+kubenext.2425128c8d"

var testDate = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)

// fakeTree writes stand-ins for _output/bin, _output/tools and
// _output/images: each binary is a small file that names itself, each
// image a random one-layer image under its real ref.
func fakeTree(t *testing.T, version string) BuildOptions {
	t.Helper()
	dir := t.TempDir()
	o := BuildOptions{
		Version: version, BuildDate: testDate,
		Bin: filepath.Join(dir, "bin"), Tools: filepath.Join(dir, "tools"), Images: filepath.Join(dir, "images"),
		Out:             filepath.Join(dir, "out", version),
		CriToolsVersion: "v1.36.0", CNIVersion: "v1.9.1", ContainerdVersion: "v2.3.4", RuncVersion: "v1.4.3",
	}
	for _, b := range append(append([]string{}, serverBinaries...), "kubectl-node_logs", "kubectl-whoami", "kubectl-resize", "kubenext-netd") {
		writeExe(t, filepath.Join(o.Bin, b))
	}
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc", "crictl", "cni/host-local", "cni/loopback", "cni/ptp", "cni/portmap", "etcd"} {
		writeExe(t, filepath.Join(o.Tools, b))
	}
	tag := DockerTag(version)
	refs := []string{
		"registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/etcd:3.7.0-0",
		"registry.k8s.io/kube-apiserver:" + tag, "registry.k8s.io/kube-controller-manager:" + tag,
		"registry.k8s.io/kube-proxy:" + tag, "registry.k8s.io/kube-scheduler:" + tag,
		"registry.k8s.io/pause:3.10.2",
		"docker.io/kubenext/busybox:" + tag, "docker.io/kubenext/supplementalgroups:" + tag, "docker.io/kubenext/netd:" + tag,
	}
	if err := os.MkdirAll(o.Images, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		// Names unlike imagebuild's, so that only RepoTags can select them.
		writeArchive(t, filepath.Join(o.Images, "img"+string(rune('a'+i))+".tar"), r)
	}
	return o
}

func writeExe(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho "+filepath.Base(path)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeArchive(t *testing.T, path string, refs ...string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := map[name.Tag]v1.Image{}
	for _, r := range refs {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		m[tag] = img
	}
	if err := tarball.MultiWriteToFile(path, m); err != nil {
		t.Fatal(err)
	}
	return img
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// writeUntaggedArchive writes what `docker save <image id>` gives: a
// manifest.json with no RepoTags.
func writeUntaggedArchive(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	body := []byte(`[{"Config":"c.json","RepoTags":null,"Layers":[]}]`)
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
