package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
)

// createLink makes the bridge and the machine's tap on it. Nothing else
// is attached: the bridge has no uplink, and the host routes between it
// and the cluster's bridge only as far as the guard lets it.
func (v *VM) createLink(ctx context.Context) error {
	ip := func(args ...string) error {
		_, err := exec.CombinedOutput(v.Cmd.Command(ctx, "ip", args...))
		return err
	}
	if _, err := exec.Output(v.Cmd.Command(ctx, "ip", "link", "show", v.Net.Bridge)); err != nil {
		if err := ip("link", "add", v.Net.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("%s/%d", v.Net.HostAddr(), v.Net.Subnet.Bits())
	if err := ip("addr", "replace", addr, "dev", v.Net.Bridge); err != nil {
		return err
	}
	if _, err := exec.Output(v.Cmd.Command(ctx, "ip", "link", "show", v.Net.Tap)); err != nil {
		if err := ip("tuntap", "add", "dev", v.Net.Tap, "mode", "tap"); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"link", "set", v.Net.Tap, "master", v.Net.Bridge},
		{"link", "set", v.Net.Tap, "up"},
		{"link", "set", v.Net.Bridge, "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return v.checkNoUplink(ctx)
}

// checkNoUplink fails unless the tap is the bridge's only port.
func (v *VM) checkNoUplink(ctx context.Context) error {
	ports, err := exec.OutputLines(v.Cmd.Command(ctx, "ip", "-o", "link", "show", "master", v.Net.Bridge))
	if err != nil {
		return err
	}
	for _, p := range ports {
		f := strings.Fields(p)
		if len(f) < 2 || strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0] != v.Net.Tap {
			return fmt.Errorf("bridge %s has a port other than %s: %s", v.Net.Bridge, v.Net.Tap, p)
		}
	}
	return nil
}

// guardLink inserts the VM's rules above everything in DOCKER-USER (the
// cluster's own guard drops its nodes' traffic to any subnet but theirs),
// then reads them back, with the cluster's guard, before anything boots.
func (v *VM) guardLink(ctx context.Context) error {
	rules, err := v.Net.GuardRules(v.Name)
	if err != nil {
		return err
	}
	if _, err := v.guard().Remove(ctx, v.Name); err != nil {
		return err
	}
	if err := v.guard().Insert(ctx, guard.IPv4, rules); err != nil {
		return err
	}
	listing, err := exec.Output(v.Cmd.Command(ctx, "iptables", "-w", "-S"))
	if err != nil {
		return err
	}
	if err := guard.CheckDrop(string(listing), v.Cluster, v.Net.ClusterSubnet); err != nil {
		return fmt.Errorf("%w: the cluster's own guard must be in place first (make cluster)", err)
	}
	return guard.CheckAbove(string(listing), rules, v.Cluster)
}

// chooseAccel boots the machine's kernel alone under KVM for a few
// seconds when /dev/kvm is there, and takes KVM only if the kernel
// printed its banner: a PVM host's /dev/kvm hangs a stock kernel silently.
func (v *VM) chooseAccel(ctx context.Context) (Accel, error) {
	switch v.Accel {
	case "kvm":
		return KVM, nil
	case "tcg":
		v.Steps.Note("software emulation (VM_ACCEL=tcg)")
		return TCG, nil
	case "auto", "":
	default:
		return "", fmt.Errorf("VM_ACCEL=%s: want auto, kvm or tcg", v.Accel)
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		v.Steps.Note("no /dev/kvm: software emulation (tcg), 10-100x slower")
		return TCG, nil
	}
	probeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	runErr := v.Cmd.Command(probeCtx, "qemu-system-x86_64", ProbeArgs(v.path("vmlinuz"))...).SetStdout(&out).SetStderr(&out).Run()
	if strings.Contains(out.String(), KernelBanner) {
		v.Steps.Note("a KVM guest boots here: kvm")
		return KVM, nil
	}
	why := "a stock kernel printed nothing under it in 20s (a PVM host?)"
	if probeCtx.Err() == nil && runErr != nil {
		why = "qemu -accel kvm failed: " + lastLineOf(out.String())
	}
	v.Steps.Note("/dev/kvm is there, but %s: software emulation (tcg), 10-100x slower", why)
	return TCG, nil
}

// boot starts qemu in the background and waits until ssh answers,
// saying every 15 s what the serial console shows.
func (v *VM) boot(ctx context.Context, accel Accel) error {
	q := Qemu{Name: v.Name, Accel: accel, CPUs: v.CPUs, MemoryMiB: v.MemoryMiB,
		Kernel: v.path("vmlinuz"), Initrd: v.path("initrd.img"), Disk: v.path("disk.img"),
		Tap: v.Net.Tap, MAC: MAC(v.Name), Console: v.path("console.log"), PID: v.path("qemu.pid")}
	args := q.Args()
	if err := CheckArgs(args); err != nil {
		return err
	}
	v.Steps.Note("accel %s; console %s", accel, q.Console)
	if _, err := exec.CombinedOutput(v.Cmd.Command(ctx, "qemu-system-x86_64", args...)); err != nil {
		return err
	}
	rec := nodes.SSHRecord{User: "root", Address: v.Net.GuestAddr().String(), Port: 22, Key: v.path("id_ed25519")}
	if err := nodes.WriteSSHRecord(v.dir(), rec); err != nil {
		return err
	}
	return v.waitFor(ctx, 15*time.Minute, "ssh to answer", func() (bool, string) {
		if _, err := exec.Output(v.node().Command(ctx, "true")); err == nil {
			return true, ""
		}
		return false, "console: " + lastLine(q.Console)
	})
}

// waitFor polls done every 2 s until it says so, printing what it
// reports every 15 s, for at most timeout.
func (v *VM) waitFor(ctx context.Context, timeout time.Duration, what string, done func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start, lastNote := time.Now(), time.Now()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		ok, status := done()
		if ok {
			return nil
		}
		if time.Since(lastNote) >= 15*time.Second {
			v.Steps.Note("%s waiting for %s: %s", time.Since(start).Round(time.Second), what, status)
			lastNote = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %s within %s (last: %s)", what, timeout, status)
		case <-tick.C:
		}
	}
}

func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	return lastLineOf(string(b))
}

func lastLineOf(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 120 {
		l = l[:120]
	}
	return l
}

// MAC is a locally administered address derived from the name.
func MAC(name string) string {
	h := sha256.Sum256([]byte(name))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// checkInside reads, from inside the machine, what the issue asks of it:
// a cgroup v2 hierarchy, no route off its bridge.
func (v *VM) checkInside(ctx context.Context) error {
	n := v.node()
	fs, err := exec.Output(n.Command(ctx, "stat", "-fc", "%T", "/sys/fs/cgroup"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(fs)); got != "cgroup2fs" {
		return fmt.Errorf("/sys/fs/cgroup in the VM is %s, not cgroup2fs", got)
	}
	kernel, _ := exec.Output(n.Command(ctx, "uname", "-r"))
	v.Steps.Note("cgroup2fs, kernel %s", strings.TrimSpace(string(kernel)))
	routes, err := exec.Output(n.Command(ctx, "ip", "-4", "route", "show", "table", "all"))
	if err != nil {
		return err
	}
	if err := v.Net.CheckRoutes(string(routes)); err != nil {
		return err
	}
	return v.checkNoUplink(ctx)
}

// stop ends qemu: SIGTERM (an emulated machine is thrown away, not shut
// down), then SIGKILL after 10 s.
func (v *VM) stop(ctx context.Context) error {
	b, err := os.ReadFile(v.path("qemu.pid"))
	if err != nil {
		return nil // never started
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s holds %q, not a pid", v.path("qemu.pid"), b)
	}
	if !isQemu(pid) {
		return nil // gone, or the pid was reused
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for isQemu(pid) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if isQemu(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

func isQemu(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(comm)), "qemu-system")
}
