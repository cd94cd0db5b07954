package nodeimage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeKindTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{
		"images/base/files/usr/local/bin/entrypoint",
		"images/base/files/kind/bin/mount-product-files.sh",
		"images/base/files/etc/containerd/config.toml",
		"images/base/files/etc/systemd/system/containerd-fuse-overlayfs.service",
		"images/base/files/LICENSES/README.txt",
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func testInputs(t *testing.T) Inputs {
	return Inputs{
		Version:       "v1.37.2+kubenext.abc",
		KindTree:      fakeKindTree(t),
		Bin:           "/bin-dir",
		Tools:         "/tools-dir",
		CNIManifest:   []byte("kind: DaemonSet"),
		CRIBaseSpec:   []byte(`{"ociVersion":"1.2.0","process":{"rlimits":[{"type":"RLIMIT_NOFILE"}],"cwd":"/"},"hooks":{"createContainer":[{"path":"/other"}]}}`),
		PodSubnet:     "10.244.0.0/16",
		ServiceSubnet: "10.96.0.0/16",
	}
}

func TestFilesTakeKindsBaseFilesWithKindsModes(t *testing.T) {
	files, err := testInputs(t).Files()
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]file{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	for path, mode := range map[string]os.FileMode{
		"/usr/local/bin/entrypoint":                      0o755,
		"/kind/bin/mount-product-files.sh":               0o755,
		"/etc/containerd/config.toml":                    0o644,
		"/usr/bin/kubelet":                               0o755,
		"/usr/local/sbin/runc":                           0o755,
		"/opt/cni/bin/ptp":                               0o755,
		"/etc/containerd/cri-base.json":                  0o644,
		"/kind/manifests/default-cni.yaml":               0o644,
		"/etc/systemd/system/kubenext-blackhole.service": 0o644,
	} {
		if f, ok := byPath[path]; !ok || f.Mode != mode {
			t.Errorf("%s: got %+v, want mode %v", path, f, mode)
		}
	}
	for _, skipped := range []string{"/etc/systemd/system/containerd-fuse-overlayfs.service", "/LICENSES/README.txt"} {
		if _, ok := byPath[skipped]; ok {
			t.Errorf("%s must not be shipped", skipped)
		}
	}
	if l := byPath["/etc/systemd/system/multi-user.target.wants/kubenext-blackhole.service"].Link; l != "/etc/systemd/system/kubenext-blackhole.service" {
		t.Errorf("blackhole unit not enabled: %q", l)
	}
	if byPath["/etc/systemd/system/systemd-binfmt.service"].Link != "/dev/null" {
		t.Error("systemd-binfmt must be masked, as kind does")
	}
}

func TestBlackholeUnitRunsBeforeTheRuntime(t *testing.T) {
	unit := BlackholeUnit("10.244.0.0/16", "10.96.0.0/16")
	for _, want := range []string{
		"Before=containerd.service kubelet.service",
		"ExecStart=ip route replace blackhole 10.244.0.0/16\n",
		"ExecStart=ip route replace blackhole 10.96.0.0/16 table 4096\n",
		"ExecStart=ip rule add pref 4000 to 10.96.0.0/16 iif lo lookup main\n",
		"ExecStart=ip rule add pref 4001 to 10.96.0.0/16 lookup 4096\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

func TestWithKindHook(t *testing.T) {
	out, err := withKindHook(testInputs(t).CRIBaseSpec)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Process map[string]any
		Hooks   struct{ CreateContainer []struct{ Path string } }
	}
	if err := json.Unmarshal(out, &spec); err != nil {
		t.Fatal(err)
	}
	if _, ok := spec.Process["rlimits"]; ok || spec.Process["cwd"] != "/" {
		t.Errorf("process = %v: rlimits must go, the rest must stay", spec.Process)
	}
	hooks := spec.Hooks.CreateContainer
	if len(hooks) != 2 || hooks[0].Path != "/other" || hooks[1].Path != "/kind/bin/mount-product-files.sh" {
		t.Errorf("createContainer hooks = %+v", hooks)
	}
	if _, err := withKindHook([]byte("not json")); err == nil {
		t.Error("garbage from ctr must be an error")
	}
}

func TestWriteOverlay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rootfs")
	in := testInputs(t)
	files := []file{
		{Path: "/etc/a", Mode: 0o600, Content: []byte("a")},
		{Path: "/etc/b", Link: "/etc/a"},
		{Path: "/etc/kubernetes/manifests", Dir: true},
		{Path: "/usr/local/bin/entrypoint", Mode: 0o755, From: filepath.Join(in.KindTree, "images/base/files/usr/local/bin/entrypoint")},
	}
	if err := WriteOverlay(dir, files); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "usr/local/bin/entrypoint")); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("copied file: %v %v (its source is read-only 0444)", info, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "etc/b")); err != nil || l != "/etc/a" {
		t.Errorf("symlink: %q %v", l, err)
	}
	err := WriteOverlay(dir, []file{{Path: "/usr/bin/kubelet", Mode: 0o755, From: "/nonexistent/kubelet"}})
	if err == nil || !strings.Contains(err.Error(), "was it built?") {
		t.Errorf("a missing input must name itself: %v", err)
	}
}
