package nodeimage

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubenext/kubenext/internal/cluster"
)

// Inputs are the pieces the node image is assembled from.
type Inputs struct {
	Version  string // e.g. v1.37.2+kubenext.<commit>; written to /kind/version
	KindTree string // patched sigs.k8s.io/kind module tree
	Bin      string // our Kubernetes binaries (kubeadm, kubelet, kubectl)
	Tools    string // containerd, ctr, containerd-shim-runc-v2, runc, crictl, cni/
	// CNIManifest is applied by kind's "Installing CNI" step.
	CNIManifest []byte
	// CRIBaseSpec is `ctr oci spec` output; kind's hook is added to it.
	CRIBaseSpec []byte
	// PodSubnet and ServiceSubnet are blackholed at boot.
	PodSubnet, ServiceSubnet string
}

// file is one entry of the overlay: a regular file (Content or From), a
// symlink (Link) or a directory (Dir).
type file struct {
	Path    string // absolute path in the image
	Mode    fs.FileMode
	Content []byte
	From    string
	Link    string
	Dir     bool
}

// kindFileMode gives kind's base files the modes kind's Dockerfile gives
// them: scripts executable, everything else 0644.
func kindFileMode(rel string) fs.FileMode {
	if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
		return 0o755
	}
	return 0o644
}

// skipKindFile leaves out what we do not ship: the fuse-overlayfs
// snapshotter's unit (no binary) and license notes for binaries we build
// ourselves.
func skipKindFile(rel string) bool {
	return rel == "etc/systemd/system/containerd-fuse-overlayfs.service" || strings.HasPrefix(rel, "LICENSES/")
}

// BlackholeUnit keeps pod and service traffic on the node until real
// routes exist. It runs before containerd and the kubelet, so no pod can
// send a packet that would follow the default route off the machine.
//
// The pod range is blackholed in the main table: per-node and per-pod
// routes are more specific and win. The service range cannot be: a
// host-network process connecting to a ClusterIP needs the first routing
// lookup to succeed before kube-proxy's DNAT picks the real destination. So
// local traffic keeps the main table, and everything else to the service
// range (forwarded pod traffic that no DNAT rule claimed) meets a blackhole
// in a table of its own.
func BlackholeUnit(pod, service string) string {
	table := strconv.Itoa(cluster.ServiceBlackholeTable)
	local, forwarded := strconv.Itoa(cluster.ServiceRulePref), strconv.Itoa(cluster.ServiceRulePref+1)
	return `[Unit]
Description=kubenext: blackhole the cluster's pod and service ranges
DefaultDependencies=no
Before=containerd.service kubelet.service
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=ip route replace blackhole ` + pod + `
ExecStart=ip route replace blackhole ` + service + ` table ` + table + `
ExecStart=-ip rule del pref ` + local + `
ExecStart=-ip rule del pref ` + forwarded + `
ExecStart=ip rule add pref ` + local + ` to ` + service + ` iif lo lookup main
ExecStart=ip rule add pref ` + forwarded + ` to ` + service + ` lookup ` + table + `

[Install]
WantedBy=multi-user.target
`
}

// enabledUnits are linked into multi-user.target.wants, which is what
// `systemctl enable` would do in a chroot.
var enabledUnits = []string{"kubenext-blackhole.service", "containerd.service", "kubelet.service", "undo-mount-hacks.service"}

// Files lists everything the overlay layer holds.
func (in Inputs) Files() ([]file, error) {
	var files []file
	kindFiles := filepath.Join(in.KindTree, "images", "base", "files")
	err := filepath.WalkDir(kindFiles, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(kindFiles, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skipKindFile(rel) {
			return nil
		}
		files = append(files, file{Path: "/" + rel, Mode: kindFileMode(rel), From: path})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kind base files: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no kind base files under %s", kindFiles)
	}

	criBase, err := withKindHook(in.CRIBaseSpec)
	if err != nil {
		return nil, err
	}
	files = append(files,
		file{Path: "/etc/containerd/cri-base.json", Mode: 0o644, Content: criBase},
		file{Path: "/kind/version", Mode: 0o644, Content: []byte(in.Version)},
		file{Path: "/kind/manifests/default-cni.yaml", Mode: 0o644, Content: in.CNIManifest},
		file{Path: "/etc/kubernetes/manifests", Dir: true},
		file{Path: "/etc/systemd/system/kubenext-blackhole.service", Mode: 0o644, Content: []byte(BlackholeUnit(in.PodSubnet, in.ServiceSubnet))},
		file{Path: "/etc/systemd/system/systemd-binfmt.service", Link: "/dev/null"}, // masked, as kind does
	)
	for _, unit := range enabledUnits {
		files = append(files, file{Path: "/etc/systemd/system/multi-user.target.wants/" + unit, Link: "/etc/systemd/system/" + unit})
	}
	for _, b := range []string{"kubeadm", "kubelet", "kubectl"} {
		files = append(files, file{Path: "/usr/bin/" + b, Mode: 0o755, From: filepath.Join(in.Bin, b)})
	}
	for _, t := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "crictl"} {
		files = append(files, file{Path: "/usr/local/bin/" + t, Mode: 0o755, From: filepath.Join(in.Tools, t)})
	}
	files = append(files, file{Path: "/usr/local/sbin/runc", Mode: 0o755, From: filepath.Join(in.Tools, "runc")})
	for _, p := range []string{"host-local", "loopback", "ptp", "portmap"} {
		files = append(files, file{Path: "/opt/cni/bin/" + p, Mode: 0o755, From: filepath.Join(in.Tools, "cni", p)})
	}
	return files, nil
}

// withKindHook adds kind's product-files hook to the runtime spec and drops
// rlimits, as kind's base image does, so that pods inherit the node's.
func withKindHook(spec []byte) ([]byte, error) {
	var s map[string]any
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, fmt.Errorf("ctr oci spec output: %w", err)
	}
	hooks, _ := s["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
		s["hooks"] = hooks
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	if proc, ok := s["process"].(map[string]any); ok {
		delete(proc, "rlimits")
	}
	return json.MarshalIndent(s, "", "    ")
}

// WriteOverlay materializes files under dir, which becomes the image's
// top layer. dir is emptied first.
func WriteOverlay(dir string, files []file) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case f.Dir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case f.Link != "":
			if err := os.Symlink(f.Link, dst); err != nil {
				return err
			}
		default:
			content := f.Content
			if f.From != "" {
				var err error
				if content, err = os.ReadFile(f.From); err != nil {
					return fmt.Errorf("%s: %w (was it built?)", f.Path, err)
				}
			}
			if err := os.WriteFile(dst, content, f.Mode); err != nil {
				return err
			}
			if err := os.Chmod(dst, f.Mode); err != nil { // umask-proof
				return err
			}
		}
	}
	return nil
}
