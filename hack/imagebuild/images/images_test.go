package images

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func layerFiles(t *testing.T, s Spec) map[string]*tar.Header {
	t.Helper()
	files := map[string]*tar.Header{}
	for _, l := range s.Layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = h
		}
		rc.Close()
	}
	return files
}

func fakeSources(t *testing.T) Sources {
	dir := t.TempDir()
	for _, f := range []string{"bin/kube-apiserver", "bin/kube-proxy", "tools/etcd", "tools/coredns", "tools/pause", "busybox/bin/busybox"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("#!binary "+f), 0o755)
	}
	rootfs := filepath.Join(dir, "rootfs.tar")
	layer, err := FileLayer([]Entry{{Path: "/etc/debian_version", Mode: 0o644, Content: []byte("12\n")}})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := layer.Uncompressed()
	data, _ := io.ReadAll(rc)
	os.WriteFile(rootfs, data, 0o644)
	return Sources{Bin: filepath.Join(dir, "bin"), Tools: filepath.Join(dir, "tools"), DebianRootfs: rootfs, BusyboxDir: filepath.Join(dir, "busybox"), Applets: []string{"sh", "id", "busybox"}}
}

func TestComponentImage(t *testing.T) {
	src := fakeSources(t)
	spec, err := ForKubeadmImage("registry.k8s.io/kube-apiserver:v1.37.2_kubenext.abc", src)
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, spec)
	if h := files["usr/local/bin/kube-apiserver"]; h == nil || h.Mode != 0o755 || h.Uid != 0 {
		t.Fatalf("binary entry = %+v", h)
	}
	if files["usr/local/bin/"] == nil {
		t.Error("parent directories must be in the layer")
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform = %s/%s, want linux/amd64 (containerd skips images without it)", cf.OS, cf.Architecture)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/kube-apiserver"}) || !strings.Contains(strings.Join(cf.Config.Env, " "), "/usr/local/bin") {
		t.Errorf("config = %+v", cf.Config)
	}
}

func TestPauseRunsAsNobody(t *testing.T) {
	spec, err := ForKubeadmImage("registry.k8s.io/pause:3.10.2", fakeSources(t))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Build(spec)
	cf, _ := img.ConfigFile()
	if cf.Config.User != "65535:65535" || cf.Config.Entrypoint[0] != "/pause" {
		t.Errorf("pause config = %+v", cf.Config)
	}
}

func TestUnknownImageIsRefused(t *testing.T) {
	_, err := ForKubeadmImage("registry.k8s.io/something-new:v1", fakeSources(t))
	if err == nil || !strings.Contains(err.Error(), "does not know how to build") {
		t.Fatalf("got %v", err)
	}
}

func TestBusyboxApplets(t *testing.T) {
	spec, err := Busybox("docker.io/kubenext/busybox:x", fakeSources(t))
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, spec)
	if h := files["usr/local/bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("usr/local/bin/sh = %+v", h)
	}
	if _, ok := files["usr/local/bin/busybox"]; !ok {
		t.Error("no busybox binary")
	}
	if _, ok := files["etc/debian_version"]; !ok {
		t.Error("the Debian root layer is missing")
	}
}

func TestArchiveKeepsTheExactTag(t *testing.T) {
	spec, _ := ForKubeadmImage("registry.k8s.io/etcd:3.7.0-0", fakeSources(t))
	img, _ := Build(spec)
	path := filepath.Join(t.TempDir(), "etcd.tar")
	if err := WriteArchive(path, spec.Ref, img); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"registry.k8s.io/etcd:3.7.0-0"}) {
		t.Errorf("manifest = %+v", m)
	}
	if err := WriteArchive(path, "not a ref", img); err == nil {
		t.Error("a bad reference must be refused")
	}
}

func TestParseImageList(t *testing.T) {
	refs, err := ParseImageList("registry.k8s.io/pause:3.10.2\nregistry.k8s.io/etcd:3.7.0-0\n\n")
	if err != nil || !slices.Equal(refs, []string{"registry.k8s.io/etcd:3.7.0-0", "registry.k8s.io/pause:3.10.2"}) {
		t.Errorf("got %v, %v", refs, err)
	}
	if _, err := ParseImageList("W1126 some warning\n"); err == nil {
		t.Error("a warning line must not pass for an image")
	}
	if _, err := ParseImageList(""); err == nil {
		t.Error("an empty list must fail")
	}
}
