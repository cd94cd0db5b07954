// Package vm is make vm-worker: a Debian 12 virtual machine under qemu,
// booted from a disk this project builds with debootstrap, on a bridge of
// its own, installed from the release's packages and joined to a running
// cluster with kubeadm join. It is the project's cgroup v2 host: the
// machine runs systemd, its own kernel and upstream's default
// failCgroupV1: true.
package vm

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// Label marks the machine's node, so that specs can select it.
const Label = "kubenext.io/vm"

// LabelValue says what the machine is for.
const LabelValue = "cgroupv2"

// AccelLabel says how the machine's CPUs run (kvm or tcg), so that specs
// can scale their time bounds on an emulated node instead of failing on
// work that takes 10-100x longer there.
const AccelLabel = "kubenext.io/vm-accel"

// VM is one virtual machine worker and the tools that drive it.
type VM struct {
	Name         string // node name, and its directory under WorkDir
	Cluster      string // the cluster it joins
	ControlPlane string // that cluster's control-plane container
	Release      string // make release's directory (debs/)
	ReleaseTool  string
	Kubectl      string
	Kubeconfig   string
	WorkDir      string // root filesystem cache, and a directory per machine
	// Containerd and Ctr are this host's, for the preload: importing and
	// unpacking an image under emulation takes minutes.
	Containerd, Ctr string
	CPUs, MemoryMiB int
	DiskGiB         int
	Accel           string // auto, kvm or tcg
	Net             Network

	Cmd   exec.Cmder
	Steps *steps.Steps
	// set on the way up
	controlPlaneIP netip.Addr
	debianDepends  []string
	Provider       *nodes.Provider
	LookPath       func(string) (string, error)
}

func (v *VM) dir() string          { return filepath.Join(v.WorkDir, v.Name) }
func (v *VM) path(f string) string { return filepath.Join(v.dir(), f) }
func (v *VM) node() nodes.Node     { return v.Provider.Node(v.Name) }

type action struct {
	title string
	run   func(context.Context) error
}

func (v *VM) runActions(ctx context.Context, actions []action) error {
	for _, a := range actions {
		if err := v.Steps.Run(a.title, func() error { return a.run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// Up builds, boots, installs and joins the machine. The order is the
// containment argument: the bridge has no uplink and the host guard is in
// place before qemu starts, and the disk's own blackhole unit runs before
// containerd and the kubelet.
func (v *VM) Up(ctx context.Context) error {
	var accel Accel
	var joined time.Time
	return v.runActions(ctx, []action{
		{"Installing qemu from Debian's packages", v.ensureQemu},
		{"Reading cluster " + v.Cluster + "'s network", v.readClusterNetwork},
		{"Writing the apt repository of " + filepath.Base(v.Release), v.writeAptRepo},
		{"Building the VM's root filesystem (debootstrap bookworm, linux-image-amd64, systemd)", v.buildRootfs},
		{fmt.Sprintf("Writing the VM's disk (%d GiB ext4, the cluster's images preloaded)", v.DiskGiB), v.writeDisk},
		{fmt.Sprintf("Creating bridge %s (%s, no uplink) and tap %s", v.Net.Bridge, v.Net.Subnet, v.Net.Tap), v.createLink},
		{"Dropping the VM's traffic bound anywhere but the cluster", v.guardLink},
		{"Choosing the accelerator (KVM only if a KVM guest boots)", func(ctx context.Context) error {
			var err error
			accel, err = v.chooseAccel(ctx)
			return err
		}},
		{fmt.Sprintf("Booting the VM (%d vCPUs, %d MiB)", v.CPUs, v.MemoryMiB), func(ctx context.Context) error { return v.boot(ctx, accel) }},
		{"Checking cgroup v2, routes and bridge inside the VM", v.checkInside},
		{"Installing kubenext's packages with apt in the VM", v.installPackages},
		{"Joining cluster " + v.Cluster + " with kubeadm join", func(ctx context.Context) error {
			joined = time.Now()
			return v.join(ctx, accel)
		}},
		{"Waiting for node " + v.Name + " to be Ready", func(ctx context.Context) error { return v.waitReady(ctx, joined) }},
	})
}

// Down removes the machine, its node, its disk, its link and its guard.
// Each step works on whatever is left, so it also cleans up after an Up
// that stopped halfway.
func (v *VM) Down(ctx context.Context) error {
	return v.runActions(ctx, []action{
		{"Stopping the VM", v.stop},
		{"Deleting node " + v.Name, func(ctx context.Context) error {
			if _, err := os.Stat(v.Kubeconfig); err != nil {
				return nil // no cluster, no node
			}
			if _, err := v.kubectl(ctx, "delete", "node", v.Name, "--ignore-not-found", "--timeout=30s"); err != nil {
				v.Steps.Note("left in place: %v", err)
			}
			return nil
		}},
		{"Removing tap " + v.Net.Tap + " and bridge " + v.Net.Bridge, func(ctx context.Context) error {
			for _, dev := range []string{v.Net.Tap, v.Net.Bridge} {
				if _, err := exec.Output(v.Cmd.Command(ctx, "ip", "link", "show", dev)); err != nil {
					continue
				}
				if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "ip", "link", "del", dev)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Removing the VM's traffic guard", func(ctx context.Context) error {
			n, err := v.guard().Remove(ctx, v.Name)
			v.Steps.Note("%d rules removed", n)
			return err
		}},
		{"Removing " + v.dir(), func(context.Context) error { return os.RemoveAll(v.dir()) }},
	})
}

func (v *VM) guard() guard.IPTables { return guard.IPTables{Cmd: v.Cmd, LookPath: v.LookPath} }

func (v *VM) kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return exec.Output(v.Cmd.Command(ctx, v.Kubectl, append([]string{"--kubeconfig", v.Kubeconfig}, args...)...))
}

func (v *VM) ensureQemu(ctx context.Context) error {
	if _, err := v.LookPath("qemu-system-x86_64"); err == nil {
		return nil
	}
	if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "apt-get", "update", "-qq")); err != nil {
		return err
	}
	_, err := exec.CombinedOutput(v.Cmd.Command(ctx, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "qemu-system-x86").
		SetEnv("DEBIAN_FRONTEND=noninteractive"))
	return err
}

// readClusterNetwork learns the cluster's subnet and bridge, and the
// control plane's address, which the machine's /etc/hosts maps its name to
// (kubeadm's cluster-info names the endpoint by it).
func (v *VM) readClusterNetwork(ctx context.Context) error {
	network, err := exec.Output(v.Cmd.Command(ctx, "docker", "inspect", v.ControlPlane, "--format",
		"{{range $k, $_ := .NetworkSettings.Networks}}{{$k}} {{end}}"))
	if err != nil {
		return fmt.Errorf("cluster %s is not running (no container %s): run make cluster first", v.Cluster, v.ControlPlane)
	}
	names := strings.Fields(string(network))
	if len(names) != 1 {
		return fmt.Errorf("%s is on networks %v; want exactly one", v.ControlPlane, names)
	}
	subnets, err := v.Provider.NetworkSubnets(ctx, names[0])
	if err != nil {
		return err
	}
	var v4 []netip.Prefix
	for _, s := range subnets {
		if s.Addr().Is4() {
			v4 = append(v4, s)
		}
	}
	if len(v4) != 1 {
		return fmt.Errorf("network %s has IPv4 subnets %v; want exactly one", names[0], v4)
	}
	v.Net.ClusterSubnet = v4[0]
	if v.Net.ClusterBridge, err = v.Provider.NetworkBridge(ctx, names[0]); err != nil {
		return err
	}
	ip, err := exec.Output(v.Cmd.Command(ctx, "docker", "inspect", v.ControlPlane, "--format",
		"{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"))
	if err != nil {
		return err
	}
	if v.controlPlaneIP, err = netip.ParseAddr(strings.TrimSpace(string(ip))); err != nil {
		return fmt.Errorf("address of %s: %w", v.ControlPlane, err)
	}
	v.Steps.Note("network %s (%s, bridge %s); control plane %s", names[0], v.Net.ClusterSubnet, v.Net.ClusterBridge, v.controlPlaneIP)
	return v.Net.Validate()
}
