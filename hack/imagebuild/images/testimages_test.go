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
)

// fakeTestSources lays out what the Makefile passes testimages: a Debian
// root (as tarball and directory), the binaries, and the module files.
func fakeTestSources(t *testing.T) TestSources {
	base := fakeSources(t)
	base.Applets = append(base.Applets, "sysctl")
	dir := t.TempDir()
	write := func(rel, content string, mode os.FileMode) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin", 0o644)
	write("rootfs/etc/group", "root:x:0:\n", 0o644)
	k8s := filepath.Join(dir, "kubernetes")
	for _, f := range []string{"test/images/agnhost/porter/localhost.crt", "test/images/agnhost/porter/localhost.key",
		"test/images/kitten/html/kitten.jpg", "test/images/kitten/html/data.json",
		"test/images/nautilus/html/nautilus.jpg", "test/images/nautilus/html/data.json"} {
		write(filepath.Join("kubernetes", f), f, 0o644)
	}
	return TestSources{
		DebianRootfs:    base.DebianRootfs,
		DebianRootfsDir: filepath.Join(dir, "rootfs"),
		Busybox:         base,
		Agnhost:         write("bin/agnhost", "agnhost", 0o755),
		SampleAPIServer: write("bin/sample-apiserver", "sample-apiserver", 0o755),
		NoNewPrivs:      write("bin/nnp", "nnp", 0o755),
		KubernetesDir:   k8s,
	}
}

func buildTestImages(t *testing.T) map[string]TestImage {
	t.Helper()
	recipes, err := TestImages(fakeTestSources(t))
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]TestImage{}
	for _, recipe := range recipes {
		img, err := recipe()
		if err != nil {
			t.Fatal(err)
		}
		byRef[img.Ref] = img
	}
	if len(byRef) != len(E2EImageNames)+len(MissingImageNames) {
		t.Fatalf("built %d images, want %d", len(byRef), len(E2EImageNames)+len(MissingImageNames))
	}
	return byRef
}

func testConfig(t *testing.T, img TestImage) v1.Config {
	t.Helper()
	built, err := BuildTestImage(img)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := built.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("%s: platform %s/%s", img.Ref, cf.OS, cf.Architecture)
	}
	return cf.Config
}

func fileContent(t *testing.T, s Spec, name string) string {
	t.Helper()
	for i := len(s.Layers) - 1; i >= 0; i-- { // upper layers win
		rc, err := s.Layers[i].Uncompressed()
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
			if h.Name == name {
				data, _ := io.ReadAll(tr)
				rc.Close()
				return string(data)
			}
		}
		rc.Close()
	}
	t.Fatalf("%s: no %s", s.Ref, name)
	return ""
}

// Upstream's names exactly: the suite asks the kubelet for these, and a
// preloaded image under any other name would be pulled.
func TestTestImagesUseUpstreamNames(t *testing.T) {
	for ref := range buildTestImages(t) {
		if !strings.HasPrefix(ref, "registry.k8s.io/e2e-test-images/") && !slices.Contains(MissingImageNames, ref) {
			t.Errorf("%s is not under upstream's e2e registry", ref)
		}
	}
}

// The entrypoint specs run agnhost with no args (expecting "pause"), with
// args only, and with /agnhost-2 as command.
func TestAgnhostEntrypointAndAccounts(t *testing.T) {
	img := buildTestImages(t)[E2ERegistry+"/agnhost:2.66.1"]
	cfg := testConfig(t, img)
	if !slices.Equal(cfg.Entrypoint, []string{"/agnhost"}) || !slices.Equal(cfg.Cmd, []string{"pause"}) {
		t.Errorf("agnhost entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	files := layerFiles(t, img.Spec)
	if h := files["agnhost-2"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "agnhost" {
		t.Errorf("agnhost-2 = %+v", h)
	}
	for _, want := range []string{"agnhost", "uploads/", "localhost.crt", "localhost.key"} {
		if files[want] == nil {
			t.Errorf("agnhost lacks /%s", want)
		}
	}
	passwd := fileContent(t, img.Spec, "etc/passwd")
	if !strings.Contains(passwd, "www-data:x:33") || !strings.Contains(passwd, "\nuser-defined-in-image:x:1000:1000:") {
		t.Errorf("passwd must keep Debian's accounts and add uid 1000:\n%s", passwd)
	}
	if group := fileContent(t, img.Spec, "etc/group"); !strings.Contains(group, "group-defined-in-image:x:50000:user-defined-in-image") {
		t.Errorf("group:\n%s", group)
	}
}

func TestTestImageDefaults(t *testing.T) {
	images := buildTestImages(t)
	busybox := testConfig(t, images[E2ERegistry+"/busybox:1.37.0-2"])
	if busybox.Entrypoint != nil || !slices.Equal(busybox.Cmd, []string{"sh"}) {
		t.Errorf("busybox: entrypoint %q cmd %q, want none and [sh] like upstream's", busybox.Entrypoint, busybox.Cmd)
	}
	files := layerFiles(t, images[E2ERegistry+"/busybox:1.37.0-2"].Spec)
	if h := files["usr/bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "bash" {
		t.Errorf("busybox: /usr/bin/sh (so /bin/sh) must be bash, which passes on every variable, got %+v", h)
	}
	if h := files["usr/local/bin/sh"]; h == nil || h.Linkname != "/usr/bin/bash" {
		t.Errorf("busybox: sh on PATH must be bash too, got %+v", h)
	}
	if h := files["usr/bin/sysctl"]; h == nil || h.Linkname != "/usr/local/bin/busybox" {
		t.Errorf("busybox: /bin/sysctl must be busybox's, got %+v", h)
	}
	nginx := images[E2ERegistry+"/nginx:1.27.0-2"]
	if cfg := testConfig(t, nginx); !slices.Equal(cfg.Cmd, []string{"nginx", "-g", "daemon off;"}) {
		t.Errorf("nginx cmd %q", cfg.Cmd)
	}
	if site := fileContent(t, nginx.Spec, "etc/nginx/sites-enabled/default"); !strings.Contains(site, "listen 80") || !strings.Contains(site, "root /usr/share/nginx/html;") {
		t.Errorf("nginx site:\n%s", site)
	}
	kitten := images[E2ERegistry+"/kitten:1.8"]
	if cfg := testConfig(t, kitten); !slices.Equal(cfg.Entrypoint, []string{"/agnhost"}) || !slices.Equal(cfg.Cmd, []string{"test-webserver"}) {
		t.Errorf("kitten: entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if got := fileContent(t, kitten.Spec, "kitten.jpg"); got != "test/images/kitten/html/kitten.jpg" {
		t.Errorf("kitten.jpg from %q", got)
	}
	if cfg := testConfig(t, images[E2ERegistry+"/nonroot:1.5"]); cfg.User != "1234" {
		t.Errorf("nonroot user %q", cfg.User)
	}
	nnp := layerFiles(t, images[E2ERegistry+"/nonewprivs:1.4"].Spec)["usr/local/bin/nnp"]
	if nnp == nil || nnp.Mode&0o4000 == 0 || nnp.Uid != 0 {
		t.Errorf("nnp must be setuid root: %+v", nnp)
	}
	if cfg := testConfig(t, images[E2ERegistry+"/sample-apiserver:1.29.2"]); !slices.Equal(cfg.Entrypoint, []string{"/sample-apiserver"}) {
		t.Errorf("sample-apiserver entrypoint %q", cfg.Entrypoint)
	}
}

func TestMissingImagesCannotStart(t *testing.T) {
	images := buildTestImages(t)
	for _, ref := range MissingImageNames {
		cfg := testConfig(t, images[ref])
		if !slices.Equal(cfg.Entrypoint, []string{"/no-such-entrypoint"}) {
			t.Errorf("%s: entrypoint %q", ref, cfg.Entrypoint)
		}
		if files := layerFiles(t, images[ref].Spec); files["no-such-entrypoint"] != nil {
			t.Errorf("%s must not have its entrypoint", ref)
		}
	}
}
