package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Accel is how qemu runs the guest's instructions.
type Accel string

const (
	KVM Accel = "kvm"
	// TCG is software emulation: 10-100x slower, but it boots any kernel.
	TCG Accel = "tcg"
)

// Qemu is one machine's qemu invocation.
type Qemu struct {
	Name            string
	Accel           Accel
	CPUs, MemoryMiB int
	Kernel, Initrd  string
	Disk            string
	Tap, MAC        string
	Console, PID    string // serial log and pid file
}

// KernelCommandLine boots the disk's root with cgroup v2 and the serial
// console; eth0 is the one NIC's stable name.
const KernelCommandLine = "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.unified_cgroup_hierarchy=1 panic=-1"

// Args is the command line. -nodefaults keeps qemu from adding devices of
// its own, a user-mode network among them: the only NIC is the tap on the
// project's bridge.
func (q Qemu) Args() []string {
	cpu := "max"
	if q.Accel == KVM {
		cpu = "host"
	}
	return []string{
		"-name", q.Name, "-nodefaults", "-no-user-config", "-no-reboot",
		"-machine", "q35", "-accel", string(q.Accel), "-cpu", cpu,
		"-smp", strconv.Itoa(q.CPUs), "-m", strconv.Itoa(q.MemoryMiB),
		"-kernel", q.Kernel, "-initrd", q.Initrd, "-append", KernelCommandLine,
		"-drive", "file=" + q.Disk + ",format=raw,if=virtio,cache=unsafe",
		"-netdev", "tap,id=net0,ifname=" + q.Tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + q.MAC,
		"-device", "virtio-rng-pci",
		"-display", "none", "-vga", "none", "-monitor", "none",
		"-serial", "file:" + q.Console,
		"-pidfile", q.PID, "-daemonize",
	}
}

// ProbeArgs boot kernel alone under KVM, without a root, to see whether
// this host's KVM runs a stock kernel at all (a PVM host's does not: it
// stops before the kernel prints anything). The kernel prints its banner
// on the serial line, panics for want of a root, and qemu exits.
func ProbeArgs(kernel string) []string {
	return []string{"-nodefaults", "-no-user-config", "-no-reboot", "-machine", "q35", "-accel", "kvm", "-cpu", "host",
		"-m", "256", "-kernel", kernel, "-append", "console=ttyS0 panic=-1",
		"-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio"}
}

// KernelBanner is what a kernel that started prints first.
const KernelBanner = "Linux version"

// CheckArgs refuses a command line that could give the guest a way out:
// a user-mode network (it forwards to any address through host sockets)
// unless restricted.
func CheckArgs(args []string) error {
	for i, a := range args {
		if (a == "-netdev" || a == "-nic" || a == "-net") && i+1 < len(args) {
			v := args[i+1]
			if strings.HasPrefix(v, "user") && !strings.Contains(v, "restrict=on") {
				return fmt.Errorf("qemu %s %s: a user-mode network without restrict=on forwards guest traffic anywhere", a, v)
			}
		}
	}
	return nil
}
