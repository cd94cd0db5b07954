package release

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

type tarItem struct {
	name    string
	mode    int64
	content string
}

func readTarGz(t *testing.T, path string) []tarItem {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []tarItem
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(testDate) {
			t.Errorf("%s: %d:%d %s", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		b, _ := io.ReadAll(tr)
		c := string(b)
		if len(c) > 40 {
			c = c[:40]
		}
		out = append(out, tarItem{h.Name, h.Mode, c})
	}
}

func names(items []tarItem) []string {
	var n []string
	for _, i := range items {
		n = append(n, i.name)
	}
	return n
}

func TestBuildLayout(t *testing.T) {
	need(t, "dpkg-deb")
	o := fakeTree(t, testVersion)
	var log bytes.Buffer
	if err := Build(o, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), " ✓ Writing kubenext-server-linux-amd64.tar.gz (") {
		t.Errorf("no step lines:\n%s", log.String())
	}

	server := readTarGz(t, filepath.Join(o.Out, "kubenext-server-linux-amd64.tar.gz"))
	want := []string{"kubernetes/", "kubernetes/server/", "kubernetes/server/bin/",
		"kubernetes/server/bin/kube-apiserver", "kubernetes/server/bin/kube-apiserver.docker_tag", "kubernetes/server/bin/kube-apiserver.tar",
		"kubernetes/server/bin/kube-controller-manager", "kubernetes/server/bin/kube-controller-manager.docker_tag", "kubernetes/server/bin/kube-controller-manager.tar",
		"kubernetes/server/bin/kube-proxy", "kubernetes/server/bin/kube-proxy.docker_tag", "kubernetes/server/bin/kube-proxy.tar",
		"kubernetes/server/bin/kube-scheduler", "kubernetes/server/bin/kube-scheduler.docker_tag", "kubernetes/server/bin/kube-scheduler.tar",
		"kubernetes/server/bin/kubeadm", "kubernetes/server/bin/kubectl", "kubernetes/server/bin/kubelet",
		"kubernetes/version"}
	if got := names(server); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server tarball:\n%s", strings.Join(got, "\n"))
	}
	for _, i := range server {
		switch {
		case i.name == "kubernetes/server/bin/kube-proxy.docker_tag" && i.content != "v1.37.2_kubenext.2425128c8d\n",
			i.name == "kubernetes/version" && i.content != testVersion+"\n",
			i.name == "kubernetes/server/bin/kubelet" && (i.mode != 0o755 || !strings.Contains(i.content, "echo kubelet")),
			i.name == "kubernetes/server/bin/kube-apiserver.tar" && i.mode != 0o644:
			t.Errorf("%s: mode %o content %q", i.name, i.mode, i.content)
		}
	}
	// The .tar next to a binary is the archive of that image.
	x := t.TempDir()
	run(t, "tar", "-C", x, "-xzf", filepath.Join(o.Out, "kubenext-server-linux-amd64.tar.gz"))
	a, err := ReadArchive(filepath.Join(x, "kubernetes/server/bin/kube-scheduler.tar"))
	if err != nil || a.Tags[0].String() != "registry.k8s.io/kube-scheduler:v1.37.2_kubenext.2425128c8d" {
		t.Errorf("kube-scheduler.tar: %v %v", a.Tags, err)
	}

	node := names(readTarGz(t, filepath.Join(o.Out, "kubenext-node-linux-amd64.tar.gz")))
	if strings.Join(node, " ") != "kubernetes/ kubernetes/node/ kubernetes/node/bin/ kubernetes/node/bin/kube-proxy kubernetes/node/bin/kubeadm kubernetes/node/bin/kubectl kubernetes/node/bin/kubelet kubernetes/version" {
		t.Errorf("node tarball: %v", node)
	}
	client := names(readTarGz(t, filepath.Join(o.Out, "kubenext-client-linux-amd64.tar.gz")))
	if strings.Join(client, " ") != "kubernetes/ kubernetes/client/ kubernetes/client/bin/ kubernetes/client/bin/kubectl kubernetes/client/bin/kubectl-node_logs kubernetes/client/bin/kubectl-resize kubernetes/client/bin/kubectl-whoami kubernetes/version" {
		t.Errorf("client tarball: %v", client)
	}

	imgs, _ := filepath.Glob(filepath.Join(o.Out, "images", "*"))
	for i := range imgs {
		imgs[i] = filepath.Base(imgs[i])
	}
	if strings.Join(imgs, " ") != "coredns.tar etcd.tar kube-apiserver.tar kube-controller-manager.tar kube-proxy.tar kube-scheduler.tar netd.tar pause.tar" {
		t.Errorf("images: %v", imgs)
	}
	if a, err := ReadArchive(filepath.Join(o.Out, "images", "coredns.tar")); err != nil || a.Tags[0].String() != "registry.k8s.io/coredns/coredns:v1.14.6" {
		t.Errorf("coredns.tar: %v %v", a.Tags, err)
	}

	debs, _ := filepath.Glob(filepath.Join(o.Out, "debs", "*.deb"))
	var pkgs []string
	for _, d := range debs {
		pkgs = append(pkgs, strings.SplitN(filepath.Base(d), "_", 2)[0])
	}
	sort.Strings(pkgs)
	if strings.Join(pkgs, " ") != "cri-tools kubeadm kubectl kubelet kubenext-containerd kubernetes-cni" {
		t.Errorf("debs: %v", pkgs)
	}

	// SHA256SUMS covers every file and checks.
	sums, _ := os.ReadFile(filepath.Join(o.Out, "SHA256SUMS"))
	if n := strings.Count(string(sums), "\n"); n != 3+8+6 {
		t.Errorf("SHA256SUMS has %d lines:\n%s", n, sums)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--quiet", "-c", "SHA256SUMS")
		cmd.Dir = o.Out
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}

	// A second build of the same inputs replaces the first with the same
	// bytes; a directory that is not a release is never replaced.
	first := string(sums)
	if err := Build(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(o.Out, "SHA256SUMS")); string(again) != first {
		t.Errorf("second build differs:\n%s\n%s", first, again)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(o.Out), ".*"))
	if len(leftovers) != 0 {
		t.Errorf("left behind: %v", leftovers)
	}
	o.Out = t.TempDir()
	if err := os.WriteFile(filepath.Join(o.Out, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Build(o, io.Discard); err == nil || !strings.Contains(err.Error(), "not a release") {
		t.Errorf("replaced a non-release directory: %v", err)
	}
}

func TestBuildRefusesStaleImages(t *testing.T) {
	o := fakeTree(t, testVersion)
	o.Version = "v1.37.2+kubenext.ffffffffff"
	err := Build(o, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "registry.k8s.io/kube-apiserver:v1.37.2_kubenext.ffffffffff not found, only tags v1.37.2_kubenext.2425128c8d") {
		t.Errorf("got %v", err)
	}
	o = fakeTree(t, testVersion)
	o.CNIVersion = ""
	if err := Build(o, io.Discard); err == nil || !strings.Contains(err.Error(), "--cni-version is required") {
		t.Errorf("got %v", err)
	}
}
