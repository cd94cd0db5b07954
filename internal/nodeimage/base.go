// Package nodeimage builds kubenext's kind node image without a registry:
// a Debian bookworm root filesystem from debootstrap (imported once as a
// base image), and on top of it kind's own base files taken from the pinned
// (and patched) kind module, our binaries, the container runtime built from
// pinned modules, and every image a node needs, preloaded into containerd.
package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
)

// Suite and Mirror pick the Debian release. bookworm's systemd 252 boots on
// cgroup v1 and v2 hosts alike; trixie's refuses v1 by default.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// BasePackages is kind's base package list without the rootless and network
// storage pieces (fuse-overlayfs, nfs-common, open-iscsi) that we do not
// ship, plus systemd-sysv and dbus for a complete systemd.
var BasePackages = []string{
	"systemd", "systemd-sysv", "dbus",
	"conntrack", "iptables", "nftables", "iproute2", "ethtool",
	"util-linux", "mount", "kmod", "libseccomp2", "pigz", "e2fsprogs",
	"bash", "ca-certificates", "curl", "jq", "procps",
}

// baseVersion changes when the post-debootstrap steps below change.
const baseVersion = "kubenext-node-base/1"

// Rootfs is a Debian root filesystem for a container that boots systemd:
// its packages and a version that changes with the steps after
// debootstrap.
type Rootfs struct {
	Version  string
	Packages []string
	// Boots is set for a root filesystem that boots its own kernel (a
	// virtual machine's disk): it keeps the units a container drops.
	Boots bool
}

// NodeRootfs is the kind node's base.
var NodeRootfs = Rootfs{Version: baseVersion, Packages: BasePackages}

// ID names a root filesystem by its inputs.
func (r Rootfs) ID() string {
	inputs := []string{r.Version, Suite, Mirror}
	if r.Boots { // only when set, so that the container roots keep their IDs
		inputs = append(inputs, "boots")
	}
	h := sha256.Sum256([]byte(strings.Join(append(inputs, r.Packages...), "\n")))
	return hex.EncodeToString(h[:])[:12]
}

// BaseID names the node's base root filesystem by its inputs.
func BaseID() string { return NodeRootfs.ID() }

// BuildBaseRootfs builds the node's base root filesystem into dir.
func BuildBaseRootfs(ctx context.Context, host exec.Cmder, dir string) error {
	return NodeRootfs.Build(ctx, host, dir)
}

// Build runs debootstrap into dir and trims the result the way kind's base
// image does. It is skipped when dir holds a finished build of the same
// inputs.
func (r Rootfs) Build(ctx context.Context, host exec.Cmder, dir string) error {
	stamp := filepath.Join(dir, ".kubenext-base")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == r.ID() {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if _, err := exec.CombinedOutput(host.Command(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(r.Packages, ","), Suite, dir, Mirror)); err != nil {
		return fmt.Errorf("debootstrap %s: %w", Suite, err)
	}
	if !r.Boots {
		if err := trimForContainer(dir); err != nil {
			return err
		}
	}
	return os.WriteFile(stamp, []byte(r.ID()), 0o644)
}

// trimForContainer repeats kind's base image steps: no units that only make
// sense on a real machine, no kernel log reading, and /sbin/init as systemd.
func trimForContainer(root string) error {
	globs := []string{
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*",
		"lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*",
		"lib/systemd/system/basic.target.wants/*",
		"var/cache/apt/archives/*.deb",
		"var/lib/apt/lists/*",
	}
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	journald := filepath.Join(root, "etc/systemd/journald.conf")
	f, err := os.OpenFile(journald, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("ReadKMsg=no\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	initPath := filepath.Join(root, "sbin/init")
	_ = os.Remove(initPath)
	return os.Symlink("/usr/lib/systemd/systemd", initPath)
}
