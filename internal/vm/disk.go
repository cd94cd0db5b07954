package vm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/machines"
	"github.com/kubenext/kubenext/internal/nodeimage"
)

// basePackages make the disk a machine: a kernel and its initramfs,
// systemd with its network daemon, udev, and ssh, the one way in. Our
// packages' Debian dependencies are added to them.
var basePackages = []string{
	"linux-image-amd64", "initramfs-tools", "systemd", "systemd-sysv", "dbus", "udev", "kmod",
	"iproute2", "procps", "openssh-server", "ca-certificates", "e2fsprogs", "util-linux", "mount",
}

// rootfsVersion changes when the steps after debootstrap change.
const rootfsVersion = "kubenext-vm/1"

// Rootfs is the machine's Debian root, our packages' Depends included, so
// that apt in the machine installs only our packages from its local
// repository and reaches nothing.
func Rootfs(debianDepends []string) nodeimage.Rootfs {
	pkgs := append(append([]string{}, basePackages...), debianDepends...)
	sort.Strings(pkgs)
	return nodeimage.Rootfs{Version: rootfsVersion, Packages: pkgs, Boots: true}
}

func (v *VM) rootfsDir() string {
	return filepath.Join(v.WorkDir, "rootfs-"+Rootfs(v.debianDepends).ID())
}

// writeAptRepo writes the release's packages as the repository the
// machine installs from, and learns their Debian dependencies.
func (v *VM) writeAptRepo(ctx context.Context) error {
	apt := v.path("apt")
	if err := os.MkdirAll(v.dir(), 0o755); err != nil {
		return err
	}
	if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, v.ReleaseTool, "apt-repo", "--debs", filepath.Join(v.Release, "debs"), "--out", apt)); err != nil {
		return err
	}
	index, err := os.ReadFile(filepath.Join(apt, "Packages"))
	if err != nil {
		return err
	}
	if v.debianDepends, err = machines.ExternalDepends(string(index)); err != nil {
		return err
	}
	v.Steps.Note("Debian packages ours depend on, installed by debootstrap: %s", strings.Join(v.debianDepends, " "))
	return nil
}

func (v *VM) buildRootfs(ctx context.Context) error {
	return Rootfs(v.debianDepends).Build(ctx, v.Cmd, v.rootfsDir())
}

// writeDisk copies the root, adds what makes it this machine (address,
// hosts, key, repository, blackholes, preloaded images), and makes an ext4
// image of it with mkfs's -d, which needs no loop device or mount.
func (v *VM) writeDisk(ctx context.Context) error {
	stage := v.path("stage")
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "cp", "-a", v.rootfsDir(), stage)); err != nil {
		return err
	}
	pub, err := v.writeKey()
	if err != nil {
		return err
	}
	files := MachineFiles(v.Name, v.Net, v.ControlPlane, v.controlPlaneIP, pub)
	for rel, content := range files {
		dst := filepath.Join(stage, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "root/.ssh/") {
			mode = 0o600
		}
		if err := os.WriteFile(dst, []byte(content), mode); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(stage, "root/.ssh"), 0o700); err != nil {
		return err
	}
	for link, target := range EnabledUnits {
		dst := filepath.Join(stage, link)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		_ = os.Remove(dst)
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	}
	if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "cp", "-a", v.path("apt"), filepath.Join(stage, "opt/kubenext-apt"))); err != nil {
		return err
	}
	archive, err := v.exportClusterImages(ctx)
	if err != nil {
		return err
	}
	if err := nodeimage.PreloadUnpacked(ctx, v.Cmd, v.Containerd, v.Ctr, filepath.Join(stage, "var/lib/containerd"), []string{archive}); err != nil {
		return err
	}
	for _, f := range []string{"vmlinuz", "initrd.img"} {
		found, _ := filepath.Glob(filepath.Join(stage, "boot", f+"-*"))
		if len(found) != 1 {
			return fmt.Errorf("the root's /boot has %d %s-* files, want 1 (linux-image-amd64 and initramfs-tools installed?)", len(found), f)
		}
		if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "cp", found[0], v.path(f))); err != nil {
			return err
		}
	}
	disk := v.path("disk.img")
	_ = os.Remove(disk)
	_, err = exec.CombinedOutput(v.Cmd.Command(ctx, "mkfs.ext4", "-q", "-F", "-L", "kubenext-vm", "-d", stage, disk, fmt.Sprintf("%dG", v.DiskGiB)))
	return err
}

// writeKey makes the machine's ssh key: the private half stays in its
// directory, the public half goes into the disk.
func (v *VM) writeKey() (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, v.Name)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(v.path("id_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(ssh.MarshalAuthorizedKey(sshPub)), nil
}

// EnabledUnits are the symlinks `systemctl enable` would make.
var EnabledUnits = map[string]string{
	"etc/systemd/system/multi-user.target.wants/kubenext-blackhole.service": "/etc/systemd/system/kubenext-blackhole.service",
	"etc/systemd/system/multi-user.target.wants/systemd-networkd.service":   "/lib/systemd/system/systemd-networkd.service",
	"etc/systemd/system/sockets.target.wants/systemd-networkd.socket":       "/lib/systemd/system/systemd-networkd.socket",
}

// MachineFiles are the files that make the root this machine, by path
// relative to it. There is no DNS server and no default route: the
// machine reaches the cluster's subnet through the host, and nothing else.
func MachineFiles(name string, n Network, controlPlane string, controlPlaneIP netip.Addr, authorizedKey string) map[string]string {
	bits := n.Subnet.Bits()
	return map[string]string{
		"etc/hostname":   name + "\n",
		"etc/machine-id": "",
		"etc/hosts": fmt.Sprintf("127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost ip6-loopback\n%s %s\n",
			name, controlPlaneIP, controlPlane),
		"etc/resolv.conf": "# no DNS: the machine reaches only its cluster, by address\n",
		"etc/fstab":       "/dev/vda / ext4 rw,relatime 0 1\n",
		// The service range needs a route for the first lookup of a
		// host-network client (the pod network's daemon reaching the API
		// server's ClusterIP) before kube-proxy's DNAT rewrites it to the
		// cluster's subnet; what no DNAT claims goes to the host, whose
		// guard drops it.
		"etc/systemd/network/10-eth0.network": fmt.Sprintf("[Match]\nName=eth0\n\n[Network]\nAddress=%s/%d\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n[Route]\nDestination=%s\nGateway=%s\n\n[Route]\nDestination=%s\nGateway=%s\n",
			n.GuestAddr(), bits, n.ClusterSubnet.Masked(), n.HostAddr(), cluster.ServiceSubnet, n.HostAddr()),
		"etc/systemd/system/kubenext-blackhole.service": nodeimage.BlackholeUnit(cluster.PodSubnet, cluster.ServiceSubnet),
		// kubeadm's preflight wants forwarding; kube-proxy and containerd
		// want these modules, as on any machine a user prepares.
		"etc/sysctl.d/90-kubernetes.conf":      "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n",
		"etc/modules-load.d/kubernetes.conf":   "overlay\nbr_netfilter\n",
		"etc/apt/sources.list":                 "",
		"etc/apt/sources.list.d/kubenext.list": "deb [trusted=yes] file:/opt/kubenext-apt ./\n",
		"root/.ssh/authorized_keys":            authorizedKey,
	}
}

// ImageNames are the images a worker's pods use in the specs, by the last
// element of their repository: the pod network, kube-proxy, the sandbox
// and the test images.
var ImageNames = []string{"pause", "kube-proxy", "netd", "busybox", "supplementalgroups"}

// PickImages picks, from a node's image list, the references whose
// repository ends in one of names.
func PickImages(refs []string, names []string) []string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var picked []string
	for _, r := range refs {
		repo, _, ok := strings.Cut(r, "@")
		if ok {
			continue // digests only: the import records
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		if want[filepath.Base(repo)] {
			picked = append(picked, r)
		}
	}
	sort.Strings(picked)
	return picked
}

// exportClusterImages writes the images the cluster's nodes run (the
// control plane has every one) to an archive: the machine then runs what
// the cluster runs, whatever the tree has built since.
func (v *VM) exportClusterImages(ctx context.Context) (string, error) {
	cp := v.Provider.Node(v.ControlPlane)
	refs, err := exec.OutputLines(cp.Command(ctx, "ctr", "-n", "k8s.io", "images", "ls", "-q"))
	if err != nil {
		return "", err
	}
	picked := PickImages(refs, ImageNames)
	for _, name := range ImageNames {
		if len(PickImages(picked, []string{name})) == 0 {
			return "", fmt.Errorf("%s has no %s image among %v: is it a node of make cluster?", v.ControlPlane, name, picked)
		}
	}
	v.Steps.Note("from %s: %s", v.ControlPlane, strings.Join(picked, " "))
	// Not /tmp: a kind node mounts a tmpfs there, which docker cp cannot read.
	const inNode = "/var/tmp/kubenext-vm-images.tar"
	args := append([]string{"-n", "k8s.io", "images", "export", "--platform", "linux/amd64", inNode}, picked...)
	if _, err := exec.CombinedOutput(cp.Command(ctx, "ctr", args...)); err != nil {
		return "", err
	}
	local := v.path("images.tar")
	err = cp.CopyFrom(ctx, inNode, local)
	if _, rmErr := exec.CombinedOutput(cp.Command(ctx, "rm", "-f", inNode)); err == nil {
		err = rmErr
	}
	return local, err
}
