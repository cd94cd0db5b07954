package images

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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

func configOf(t *testing.T, s Spec) *v1.ConfigFile {
	t.Helper()
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// Every image kubeadm asks for: platform, entrypoint, user and layout.
func TestKubeadmImageConfigs(t *testing.T) {
	src := fakeSources(t)
	for _, tc := range []struct {
		ref, entrypoint, user string
		layers                int
		file                  string
	}{
		{"registry.k8s.io/kube-controller-manager:v1.37.2_kubenext.abc", "/usr/local/bin/kube-controller-manager", "", 1, "usr/local/bin/kube-controller-manager"},
		{"registry.k8s.io/kube-proxy:v1.37.2_kubenext.abc", "/usr/local/bin/kube-proxy", "", 2, "usr/local/bin/kube-proxy"},
		{"registry.k8s.io/etcd:3.7.0-0", "/usr/local/bin/etcd", "", 1, "usr/local/bin/etcd"},
		{"registry.k8s.io/coredns/coredns:v1.14.6", "/coredns", "", 1, "coredns"},
		{"registry.k8s.io/pause:3.10.2", "/pause", "65535:65535", 1, "pause"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if tc.ref == "registry.k8s.io/kube-controller-manager:v1.37.2_kubenext.abc" {
				os.WriteFile(filepath.Join(src.Bin, "kube-controller-manager"), []byte("bin"), 0o755)
			}
			spec, err := ForKubeadmImage(tc.ref, src)
			if err != nil {
				t.Fatal(err)
			}
			if spec.Ref != tc.ref || len(spec.Layers) != tc.layers {
				t.Errorf("ref %q with %d layers, want %q with %d", spec.Ref, len(spec.Layers), tc.ref, tc.layers)
			}
			if h := layerFiles(t, spec)[tc.file]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s = %+v, want a root-owned 0755 file", tc.file, h)
			}
			cf := configOf(t, spec)
			if cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
			}
			if !slices.Equal(cf.Config.Entrypoint, []string{tc.entrypoint}) || cf.Config.User != tc.user {
				t.Errorf("entrypoint %v user %q, want [%s] %q", cf.Config.Entrypoint, cf.Config.User, tc.entrypoint, tc.user)
			}
			// kubeadm's static pods run `etcd`, `kube-apiserver`, ... by name.
			if !slices.Contains(cf.Config.Env, DefaultPath) {
				t.Errorf("env %v lacks %s", cf.Config.Env, DefaultPath)
			}
			if len(cf.RootFS.DiffIDs) != tc.layers {
				t.Errorf("config has %d diff IDs, want %d", len(cf.RootFS.DiffIDs), tc.layers)
			}
		})
	}
}

func TestKubeProxyLayersDebianFirst(t *testing.T) {
	spec, err := ForKubeadmImage("registry.k8s.io/kube-proxy:v1", fakeSources(t))
	if err != nil {
		t.Fatal(err)
	}
	base := layerFiles(t, Spec{Layers: spec.Layers[:1]})
	if _, ok := base["etc/debian_version"]; !ok || len(spec.Layers) != 2 {
		t.Errorf("first layer must be the Debian root, got %d layers, files %v", len(spec.Layers), base)
	}
}

func TestBusyboxConfig(t *testing.T) {
	spec, err := Busybox("docker.io/kubenext/busybox:x", fakeSources(t))
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, spec)
	if cf.OS != "linux" || cf.Architecture != "amd64" || !slices.Equal(cf.Config.Entrypoint, []string{"/bin/sh"}) || cf.Config.User != "" {
		t.Errorf("busybox config = %s/%s %+v", cf.OS, cf.Architecture, cf.Config)
	}
	files := layerFiles(t, Spec{Layers: spec.Layers[1:]})
	if h := files["usr/local/bin/id"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("usr/local/bin/id = %+v", h)
	}
	if h := files["usr/local/bin/busybox"]; h == nil || h.Mode != 0o755 {
		t.Errorf("busybox = %+v", h)
	}
	if _, ok := files["usr/local/bin/busybox"]; ok && files["usr/local/bin/busybox"].Typeflag == tar.TypeSymlink {
		t.Error("busybox itself must not be a symlink")
	}
}

// The same inputs give the same layer digest: no timestamps, fixed order.
func TestFileLayerIsReproducible(t *testing.T) {
	entries := []Entry{
		{Path: "/b/file", Mode: 0o644, Content: []byte("x")},
		{Path: "/a/link", Link: "../b/file"},
		{Path: "/c", Mode: 0o700},
	}
	l1, err := FileLayer(entries)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(entries)
	l2, err := FileLayer(entries)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := l1.DiffID()
	d2, _ := l2.DiffID()
	if d1 != d2 {
		t.Errorf("diff IDs differ: %s vs %s", d1, d2)
	}
	files := layerFiles(t, Spec{Layers: []v1.Layer{l1}})
	if h := files["c/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o700 {
		t.Errorf("c/ = %+v", h)
	}
	if h := files["a/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o755 {
		t.Errorf("implicit parent a/ = %+v", h)
	}
	for name, h := range files {
		if !h.ModTime.IsZero() && h.ModTime.Unix() != 0 {
			t.Errorf("%s has modification time %v", name, h.ModTime)
		}
	}
	if _, err := FileLayer([]Entry{{Path: "/", Mode: 0o755}}); err == nil {
		t.Error("the root itself is not an entry")
	}
}

func TestNetdImage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubenext-netd")
	os.WriteFile(bin, []byte("netd"), 0o755)
	spec, err := ForBinary("docker.io/kubenext/netd:x", bin, "/usr/local/bin/kubenext-netd")
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, spec)
	if cf.OS != "linux" || cf.Architecture != "amd64" || !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/kubenext-netd"}) {
		t.Errorf("netd config = %+v", cf.Config)
	}
	if _, err := ForBinary("docker.io/kubenext/netd:x", filepath.Join(t.TempDir(), "missing"), "/x"); err == nil {
		t.Error("a missing binary must fail")
	}
}

func TestParseImageListKubeadmOutput(t *testing.T) {
	// What kubeadm 1.37 prints for our version (stdout only; its warning
	// about the etcd version goes to stderr).
	out := `registry.k8s.io/kube-apiserver:v1.37.2_kubenext.8a9f2d44a5
registry.k8s.io/kube-controller-manager:v1.37.2_kubenext.8a9f2d44a5
registry.k8s.io/kube-scheduler:v1.37.2_kubenext.8a9f2d44a5
registry.k8s.io/kube-proxy:v1.37.2_kubenext.8a9f2d44a5
registry.k8s.io/coredns/coredns:v1.14.6
registry.k8s.io/pause:3.10.2
registry.k8s.io/etcd:3.7.0-0
`
	refs, err := ParseImageList(out)
	if err != nil || len(refs) != 7 {
		t.Fatalf("got %v, %v", refs, err)
	}
	src := fakeSources(t)
	for _, f := range []string{"kube-controller-manager", "kube-scheduler"} {
		os.WriteFile(filepath.Join(src.Bin, f), []byte("bin"), 0o755)
	}
	for _, ref := range refs {
		if _, err := ForKubeadmImage(ref, src); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if got := repository("registry.k8s.io/coredns/coredns:v1.14.6"); got != "registry.k8s.io/coredns/coredns" {
		t.Errorf("repository = %q", got)
	}
	if got := repository("localhost:5000/x"); got != "localhost:5000/x" {
		t.Errorf("repository of an untagged ref with a port = %q", got)
	}
}
