package nodeimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testOptions(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	images := filepath.Join(dir, "images")
	manifest := filepath.Join(dir, "netd.yaml")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.tar", "b.tar", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(images, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(manifest, []byte("image: __NETD_IMAGE__\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Options{Version: "v1.37.2+kubenext.abc", Tag: "kubenext/node:x", KindTree: "kind", Bin: "bin", Tools: "tools",
		WorkDir: "work", Images: images, CNIManifest: manifest, NetdImage: "docker.io/kubenext/netd:x"}
}

func TestOptionsBuilder(t *testing.T) {
	b, err := testOptions(t).Builder()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Archives) != 2 || !strings.HasSuffix(b.Archives[0], "a.tar") {
		t.Errorf("archives %q: want the .tar files only", b.Archives)
	}
	if string(b.CNIManifest) != "image: docker.io/kubenext/netd:x\n" {
		t.Errorf("manifest %q", b.CNIManifest)
	}
	for _, p := range []string{b.KindTree, b.Bin, b.Tools, b.WorkDir} {
		if !filepath.IsAbs(p) {
			t.Errorf("%s is not absolute", p)
		}
	}
	if b.PodSubnet != "10.244.0.0/16" || b.ServiceSubnet != "10.96.0.0/16" || b.Tag != "kubenext/node:x" {
		t.Errorf("builder %+v", b)
	}
}

func TestOptionsBuilderRefuses(t *testing.T) {
	for want, change := range map[string]func(*Options){
		"--version and --tag are required": func(o *Options) { o.Tag = "" },
		"run `make images` first":          func(o *Options) { o.Images = t.TempDir() },
		"no such file":                     func(o *Options) { o.CNIManifest = "/nonexistent.yaml" },
		"no __NETD_IMAGE__ placeholder": func(o *Options) {
			_ = os.WriteFile(o.CNIManifest, []byte("image: fixed\n"), 0o644)
		},
	} {
		o := testOptions(t)
		change(&o)
		if _, err := o.Builder(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
}
