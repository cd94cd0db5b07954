package release

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

//go:embed files
var assets embed.FS

func asset(name string) []byte {
	b, err := assets.ReadFile("files/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

// debFile is one file or directory of a package: a file on disk (Src) or
// literal content (Data), or an empty directory (Dir) that dpkg would not
// create otherwise.
type debFile struct {
	Dst    string
	Src    string
	Data   []byte
	Mode   os.FileMode
	Config bool
	Dir    bool
}

// unitScripts names the systemd unit a package installs; its maintainer
// scripts enable it and (re)start it.
type unitScripts struct {
	Unit string
	// OnInstall is what postinst does on a first install with systemd
	// running: "start", or "" to leave it stopped.
	OnInstall string
}

type debPackage struct {
	Name        string
	Version     string // full Debian version, upstream-revision
	Section     string
	Description string
	Depends     []string
	Recommends  []string
	Provides    []string
	Conflicts   []string
	Replaces    []string
	Files       []debFile
	Unit        *unitScripts
	// Reload gives the package postinst/postrm scripts that only reload
	// systemd (for a drop-in).
	Reload bool
}

const homepage = "https://github.com/kubenext/kubenext"

// Packages are the Debian packages of a release, under upstream's names so
// that apt upgrades a node of upstream's packages to ours.
func (o BuildOptions) Packages(v Version) ([]debPackage, error) {
	kube, err := v.Deb("")
	if err != nil {
		return nil, err
	}
	versions := map[string]*string{"--cri-tools-version": &o.CriToolsVersion, "--cni-version": &o.CNIVersion, "--containerd-version": &o.ContainerdVersion, "--runc-version": &o.RuncVersion}
	debVersions := map[string]string{}
	for flag, p := range versions {
		if *p == "" {
			return nil, fmt.Errorf("%s is required (the Makefile reads it from hack/tools/go.mod)", flag)
		}
		if debVersions[flag], err = v.Deb(*p); err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
	}
	bin := func(name string) string { return filepath.Join(o.Bin, name) }
	tool := func(name string) string { return filepath.Join(o.Tools, name) }
	exe := func(dst, src string) debFile { return debFile{Dst: dst, Src: src, Mode: 0o755} }
	conf := func(dst, asset_ string) debFile {
		return debFile{Dst: dst, Data: asset(asset_), Mode: 0o644, Config: true}
	}
	plain := func(dst, asset_ string) debFile { return debFile{Dst: dst, Data: asset(asset_), Mode: 0o644} }
	dir := func(dst string) debFile { return debFile{Dst: dst, Mode: 0o755, Dir: true} }
	containerd := debVersions["--containerd-version"]
	runc := strings.TrimPrefix(o.RuncVersion, "v")

	return []debPackage{{
		Name: "kubelet", Version: kube, Section: "net",
		Description: "Kubernetes node agent (kubenext " + v.Git + ")\n" +
			"The kubelet of kubenext, a feature-gate fork of Kubernetes, built from\n" +
			"upstream's sources and kubenext's patches.",
		// kubernetes-cni as upstream's kubelet >= 1.28 asks; mount (mount,
		// losetup) and util-linux for the volume code and kubeadm's
		// preflight; iptables and iproute2 for the host's networking. Our
		// kubelet links glibc (cgo, for the in-process journal reader) and
		// reads the journal with libsystemd0, without which it falls back
		// to journalctl and says so (docs/node-logs.md).
		Depends:    []string{"libc6 (>= 2.34)", "kubernetes-cni (>= 1.2.0)", "iptables (>= 1.8.4)", "iproute2", "mount", "util-linux"},
		Recommends: []string{"libsystemd0"},
		Files: []debFile{
			exe("/usr/bin/kubelet", bin("kubelet")),
			plain("/usr/lib/systemd/system/kubelet.service", "kubelet.service"),
			conf("/etc/default/kubelet", "kubelet.default"),
			dir("/var/lib/kubelet"),
			dir("/etc/kubernetes/manifests"),
		},
		Unit: &unitScripts{Unit: "kubelet.service"},
	}, {
		Name: "kubeadm", Version: kube, Section: "admin",
		Description: "Kubernetes cluster bootstrapping tool (kubenext " + v.Git + ")\n" +
			"kubeadm of kubenext and the kubelet drop-in that runs the kubelet with\n" +
			"the configuration kubeadm init and join write.",
		// Upstream's kubeadm >= 1.32 depends on nothing; ours pulls in a whole
		// node so that one `apt-get install kubeadm` from our repository
		// gives the kubelet, kubectl, crictl and CNI plugins of this build.
		// conntrack, ethtool and socat are the host tools kubeadm's
		// preflight asked for before 1.32 and that troubleshooting guides
		// still use; mount and util-linux hold what 1.37's preflight checks
		// (losetup, mount; cp is in coreutils). 1.34 is kubeadm's
		// MinimumKubeletVersion (three minors back).
		Depends: []string{"kubelet (>= 1.34.0)", "kubectl", "cri-tools (>= 1.30.0)", "kubernetes-cni (>= 1.2.0)",
			"conntrack", "ethtool", "socat", "mount", "util-linux"},
		Files: []debFile{
			exe("/usr/bin/kubeadm", bin("kubeadm")),
			plain("/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", "10-kubeadm.conf"),
		},
		Reload: true,
	}, {
		Name: "kubectl", Version: kube, Section: "admin",
		Description: "Kubernetes command-line client (kubenext " + v.Git + ")\n" +
			"kubectl of kubenext with its node-logs, whoami and resize commands, and\n" +
			"the same commands as kubectl plugins for any kubectl.",
		Files: []debFile{
			exe("/usr/bin/kubectl", bin("kubectl")),
			exe("/usr/bin/kubectl-node_logs", bin("kubectl-node_logs")),
			exe("/usr/bin/kubectl-whoami", bin("kubectl-whoami")),
			exe("/usr/bin/kubectl-resize", bin("kubectl-resize")),
		},
	}, {
		Name: "cri-tools", Version: debVersions["--cri-tools-version"], Section: "admin",
		Description: "Command-line client for CRI runtimes (kubenext build)\n" +
			"crictl " + o.CriToolsVersion + ", built by kubenext " + v.Git + ".",
		Files: []debFile{exe("/usr/bin/crictl", tool("crictl"))},
	}, {
		Name: "kubernetes-cni", Version: debVersions["--cni-version"], Section: "net",
		Description: "CNI plugins for Kubernetes pod networking (kubenext build)\n" +
			"host-local, loopback, ptp and portmap of the CNI plugins " + o.CNIVersion + ",\n" +
			"the ones kubenext's network daemon uses, built by kubenext " + v.Git + ".",
		Files: []debFile{
			exe("/opt/cni/bin/host-local", tool("cni/host-local")),
			exe("/opt/cni/bin/loopback", tool("cni/loopback")),
			exe("/opt/cni/bin/ptp", tool("cni/ptp")),
			exe("/opt/cni/bin/portmap", tool("cni/portmap")),
			dir("/etc/cni/net.d"),
		},
	}, {
		Name: "kubenext-containerd", Version: containerd, Section: "admin",
		Description: "containerd and runc for kubenext nodes\n" +
			"containerd " + o.ContainerdVersion + " and runc " + o.RuncVersion + ", built by kubenext " + v.Git + ",\n" +
			"configured for the kubelet: systemd cgroups, registry hosts in\n" +
			"/etc/containerd/certs.d, drop-ins in /etc/containerd/conf.d. Replaces\n" +
			"Debian's containerd and runc (too old for strict supplemental groups)\n" +
			"and Docker's containerd.io.",
		// Versioned Provides satisfy the versioned Depends of docker.io
		// (containerd, runc) and docker-ce (containerd.io).
		Provides:  []string{"containerd (= " + containerd + ")", "containerd.io (= " + containerd + ")", "runc (= " + runc + ")"},
		Conflicts: []string{"containerd", "containerd.io", "runc"},
		Replaces:  []string{"containerd", "containerd.io", "runc"},
		Files: []debFile{
			exe("/usr/bin/containerd", tool("containerd")),
			exe("/usr/bin/ctr", tool("ctr")),
			exe("/usr/bin/containerd-shim-runc-v2", tool("containerd-shim-runc-v2")),
			exe("/usr/sbin/runc", tool("runc")),
			plain("/usr/lib/systemd/system/containerd.service", "containerd.service"),
			conf("/etc/containerd/config.toml", "config.toml"),
			// Here rather than in cri-tools: the endpoint is this runtime's
			// socket, and cri-tools works with any runtime.
			conf("/etc/crictl.yaml", "crictl.yaml"),
			dir("/etc/containerd/conf.d"),
			dir("/etc/containerd/certs.d"),
		},
		Unit: &unitScripts{Unit: "containerd.service", OnInstall: "start"},
	}}, nil
}

// writeDeb builds p into outDir with nfpm, staging literal files and
// maintainer scripts in staging. It returns the .deb's path.
func writeDeb(p debPackage, maintainer, staging, outDir string, mtime time.Time) (string, error) {
	stage := filepath.Join(staging, p.Name)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", err
	}
	upstream, revision, ok := strings.Cut(p.Version, "-")
	if !ok {
		return "", fmt.Errorf("%s: version %q has no revision", p.Name, p.Version)
	}
	info := &nfpm.Info{
		Name: p.Name, Arch: "amd64", Platform: "linux",
		Version: upstream, Release: revision, VersionSchema: "none",
		Section: p.Section, Priority: "optional",
		Maintainer: maintainer, Vendor: "kubenext", Homepage: homepage, License: "Apache-2.0",
		Description: p.Description,
		MTime:       mtime,
		Overridables: nfpm.Overridables{
			Depends: p.Depends, Recommends: p.Recommends, Provides: p.Provides,
			Conflicts: p.Conflicts, Replaces: p.Replaces,
		},
	}
	for i, f := range p.Files {
		c := &files.Content{Destination: f.Dst, FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: f.Mode, MTime: mtime}}
		switch {
		case f.Dir:
			c.Type = files.TypeDir
		case f.Src != "":
			if st, err := os.Stat(f.Src); err != nil {
				return "", fmt.Errorf("%s: %w", p.Name, err)
			} else if !st.Mode().IsRegular() {
				return "", fmt.Errorf("%s: %s is not a regular file", p.Name, f.Src)
			}
			c.Source = f.Src
		default:
			c.Source = filepath.Join(stage, fmt.Sprintf("%02d-%s", i, filepath.Base(f.Dst)))
			if err := os.WriteFile(c.Source, f.Data, 0o644); err != nil {
				return "", err
			}
		}
		if f.Config {
			c.Type = files.TypeConfig
		}
		info.Contents = append(info.Contents, c)
	}
	script := func(asset_ string) (string, error) {
		t, err := template.New(asset_).Parse(string(asset(asset_)))
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		data := map[string]string{"Package": p.Name}
		if p.Unit != nil {
			data["Unit"], data["OnInstall"] = p.Unit.Unit, p.Unit.OnInstall
		}
		if err := t.Execute(&b, data); err != nil {
			return "", err
		}
		path := filepath.Join(stage, asset_)
		return path, os.WriteFile(path, b.Bytes(), 0o755)
	}
	var err error
	s := &info.Scripts
	switch {
	case p.Unit != nil:
		if s.PostInstall, err = script("unit.postinst"); err != nil {
			return "", err
		}
		if s.PreRemove, err = script("unit.prerm"); err != nil {
			return "", err
		}
		if s.PostRemove, err = script("unit.postrm"); err != nil {
			return "", err
		}
	case p.Reload:
		if s.PostInstall, err = script("reload.sh"); err != nil {
			return "", err
		}
		s.PostRemove = s.PostInstall
	}

	info = nfpm.WithDefaults(info)
	out := filepath.Join(outDir, deb.Default.ConventionalFileName(info))
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("%s: %w", p.Name, err)
	}
	return out, f.Close()
}
