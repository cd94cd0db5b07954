package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteNodeImagesRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	if err := WriteNodeImages(ctx, NodeOptions{Tag: "x"}, nil); err == nil || !strings.Contains(err.Error(), "--version and --tag") {
		t.Errorf("no version: %v", err)
	}
	o := NodeOptions{Version: "v1.37.2", Tag: "x", Kubeadm: script(t, "echo unknown flag >&2; exit 1")}
	if err := WriteNodeImages(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "config images list") {
		t.Errorf("failing kubeadm: %v", err)
	}
	o.Kubeadm = script(t, "echo 'not an image reference!'")
	if err := WriteNodeImages(ctx, o, nil); err == nil {
		t.Error("a kubeadm list that does not parse must be an error")
	}
	o.Kubeadm = script(t, "echo registry.k8s.io/pause:3.10.2")
	o.Busybox = filepath.Join(t.TempDir(), "absent")
	if err := WriteNodeImages(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "--list") {
		t.Errorf("missing busybox: %v", err)
	}
}

func TestNodeRecipesAreKubeadmsThenOurs(t *testing.T) {
	recipes := nodeRecipes([]string{"registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.7.0-0"}, Sources{}, "t", "netd")
	if len(recipes) != 5 {
		t.Fatalf("%d recipes, want kubeadm's 2 and our 3", len(recipes))
	}
	// Our busybox needs sources the test has none of: the recipe fails
	// with its image named, it does not panic.
	if _, _, err := recipes[2](); err == nil {
		t.Error("busybox without sources must fail")
	}
}
