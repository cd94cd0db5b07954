package images

import (
	"bufio"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Sources are the local inputs images are made from.
type Sources struct {
	Bin   string // our Kubernetes binaries
	Tools string // etcd, coredns, pause, ...
	// DebianRootfs is a layer tarball of a minimal Debian bookworm root
	// with the iptables, nftables and conntrack tools kube-proxy runs. The
	// test image reuses it (same layer, stored once) for glibc's NSS
	// modules, without which static busybox crashes on its first lookup.
	DebianRootfs string
	// BusyboxDir holds bin/busybox from Debian's busybox-static package,
	// and Applets lists the names it should answer to.
	BusyboxDir string
	Applets    []string
}

// repository returns ref without its tag.
func repository(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// ForBinary is an image of one static binary, run as its entrypoint.
func ForBinary(ref, binary, dest string) (Spec, error) {
	layer, err := FileLayer([]Entry{{Path: dest, Mode: 0o755, Source: binary}})
	if err != nil {
		return Spec{}, err
	}
	return Spec{Ref: ref, Layers: []v1.Layer{layer}, Entrypoint: []string{dest}}, nil
}

// ForKubeadmImage returns how to build one of the images `kubeadm config
// images list` asks for. An image we do not know is an error: a node that
// pulled it would break the no-registry rule.
func ForKubeadmImage(ref string, src Sources) (Spec, error) {
	switch repo := repository(ref); repo {
	case "registry.k8s.io/kube-apiserver", "registry.k8s.io/kube-controller-manager", "registry.k8s.io/kube-scheduler":
		component := strings.TrimPrefix(repo, "registry.k8s.io/")
		return ForBinary(ref, filepath.Join(src.Bin, component), "/usr/local/bin/"+component)
	case "registry.k8s.io/kube-proxy":
		root, err := tarball.LayerFromFile(src.DebianRootfs)
		if err != nil {
			return Spec{}, err
		}
		bin, err := FileLayer([]Entry{{Path: "/usr/local/bin/kube-proxy", Mode: 0o755, Source: filepath.Join(src.Bin, "kube-proxy")}})
		if err != nil {
			return Spec{}, err
		}
		return Spec{Ref: ref, Layers: []v1.Layer{root, bin}, Entrypoint: []string{"/usr/local/bin/kube-proxy"}}, nil
	case "registry.k8s.io/etcd":
		return ForBinary(ref, filepath.Join(src.Tools, "etcd"), "/usr/local/bin/etcd")
	case "registry.k8s.io/coredns/coredns":
		// No USER: as root, CoreDNS binds port 53 without file capabilities.
		return ForBinary(ref, filepath.Join(src.Tools, "coredns"), "/coredns")
	case "registry.k8s.io/pause":
		s, err := ForBinary(ref, filepath.Join(src.Tools, "pause"), "/pause")
		s.User = "65535:65535"
		return s, err
	default:
		return Spec{}, fmt.Errorf("kubeadm asks for %s, which kubenext does not know how to build; add a recipe in hack/imagebuild/images/recipes.go", ref)
	}
}

// Busybox is the test image: Debian's root (shared with kube-proxy's
// image) with static busybox and its applets, as symlinks, in
// /usr/local/bin, ahead of Debian's tools on PATH.
func Busybox(ref string, src Sources) (Spec, error) {
	root, err := tarball.LayerFromFile(src.DebianRootfs)
	if err != nil {
		return Spec{}, err
	}
	entries := []Entry{{Path: "/usr/local/bin/busybox", Mode: 0o755, Source: filepath.Join(src.BusyboxDir, "bin", "busybox")}}
	for _, applet := range src.Applets {
		if applet == "busybox" || strings.ContainsAny(applet, "/ ") {
			continue
		}
		entries = append(entries, Entry{Path: "/usr/local/bin/" + applet, Link: "busybox"})
	}
	layer, err := FileLayer(entries)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Ref: ref, Layers: []v1.Layer{root, layer}, Entrypoint: []string{"/bin/sh"}}, nil
}

// ParseImageList reads `kubeadm config images list` output: one reference
// per line; anything else kubeadm prints (warnings) goes to stderr.
func ParseImageList(out string) ([]string, error) {
	var refs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") || !strings.Contains(line, ":") {
			return nil, fmt.Errorf("unexpected line in kubeadm's image list: %q", line)
		}
		refs = append(refs, line)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("kubeadm listed no images")
	}
	sort.Strings(refs)
	return refs, nil
}

// ParseApplets reads `busybox --list`.
func ParseApplets(out string) []string {
	return strings.Fields(out)
}
