package vm

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

var testNet = Network{
	Bridge: "kn-vm0", Tap: "kn-vm0-tap",
	Subnet:        netip.MustParsePrefix("172.30.2.0/24"),
	ClusterSubnet: netip.MustParsePrefix("172.30.0.0/24"), ClusterBridge: "br-0123456789ab",
}

func TestAddresses(t *testing.T) {
	if got := testNet.HostAddr().String(); got != "172.30.2.1" {
		t.Errorf("host %s", got)
	}
	if got := testNet.GuestAddr().String(); got != "172.30.2.10" {
		t.Errorf("guest %s", got)
	}
}

func TestNetworkRefused(t *testing.T) {
	for name, n := range map[string]Network{
		"overlap":       {Bridge: "b", Tap: "t", Subnet: netip.MustParsePrefix("172.30.0.0/16"), ClusterSubnet: testNet.ClusterSubnet, ClusterBridge: "br"},
		"long device":   {Bridge: "a-very-long-bridge-name", Tap: "t", Subnet: testNet.Subnet, ClusterSubnet: testNet.ClusterSubnet, ClusterBridge: "br"},
		"no cluster br": {Bridge: "b", Tap: "t", Subnet: testNet.Subnet, ClusterSubnet: testNet.ClusterSubnet},
	} {
		if err := n.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := testNet.Validate(); err != nil {
		t.Error(err)
	}
}

func TestGuardRulesAcceptOnlyTheClusterThenDrop(t *testing.T) {
	rules, err := testNet.GuardRules("kubenext-vm")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, strings.Join(r, " "))
	}
	want := []string{
		"-s 172.30.2.0/24 -d 172.30.0.0/24 -i kn-vm0 -o br-0123456789ab -m comment --comment kubenext:kubenext-vm -j ACCEPT",
		"-s 172.30.0.0/24 -d 172.30.2.0/24 -i br-0123456789ab -o kn-vm0 -m comment --comment kubenext:kubenext-vm -j ACCEPT",
		"-i kn-vm0 -m comment --comment kubenext:kubenext-vm -j DROP",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckRoutes(t *testing.T) {
	good := `172.30.0.0/24 via 172.30.2.1 dev eth0 proto static
10.96.0.0/16 via 172.30.2.1 dev eth0 proto static
172.30.2.0/24 dev eth0 proto kernel scope link src 172.30.2.10
blackhole 10.244.0.0/16
10.244.3.0/24 dev cni0 proto kernel scope link src 10.244.3.1
blackhole 10.96.0.0/16 table 4096
local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 172.30.2.255 dev eth0 table local proto kernel scope link src 172.30.2.10`
	if err := testNet.CheckRoutes(good); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{
		"default via 172.30.2.1 dev eth0",
		"10.0.0.0/8 via 172.30.2.1 dev eth0",
		"172.30.0.0/24 via 172.30.2.5 dev eth0",
		"192.168.0.0/16 dev eth1 scope link",
	} {
		if err := testNet.CheckRoutes(good + "\n" + bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestQemuArgsHaveOnlyTheTap(t *testing.T) {
	args := Qemu{Name: "vm", Accel: TCG, CPUs: 2, MemoryMiB: 3072, Kernel: "k", Initrd: "i", Disk: "d",
		Tap: "kn-vm0-tap", MAC: MAC("vm"), Console: "c", PID: "p"}.Args()
	line := strings.Join(args, " ")
	for _, want := range []string{"-nodefaults", "-accel tcg", "-netdev tap,id=net0,ifname=kn-vm0-tap,script=no,downscript=no", "systemd.unified_cgroup_hierarchy=1"} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %q in %s", want, line)
		}
	}
	if strings.Contains(line, "-nic") || strings.Contains(line, "user,") || strings.Count(line, "-netdev") != 1 {
		t.Errorf("a network other than the tap in %s", line)
	}
	if err := CheckArgs(args); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{"-netdev", "user,id=n"}, {"-nic", "user"}} {
		if err := CheckArgs(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
	if err := CheckArgs([]string{"-netdev", "user,id=n,restrict=on"}); err != nil {
		t.Error(err)
	}
}

func TestMachineFiles(t *testing.T) {
	files := MachineFiles("kubenext-vm", testNet, "kubenext-control-plane", netip.MustParseAddr("172.30.0.2"), "ssh-ed25519 AAAA\n")
	for path, want := range map[string]string{
		"etc/hosts":                                     "172.30.0.2 kubenext-control-plane\n",
		"etc/systemd/network/10-eth0.network":           "Address=172.30.2.10/24",
		"etc/apt/sources.list.d/kubenext.list":          "file:/opt/kubenext-apt",
		"etc/systemd/system/kubenext-blackhole.service": "blackhole 10.244.0.0/16",
	} {
		if !strings.Contains(files[path], want) {
			t.Errorf("%s lacks %q:\n%s", path, want, files[path])
		}
	}
	network := files["etc/systemd/network/10-eth0.network"]
	if !strings.Contains(network, "Destination=172.30.0.0/24\nGateway=172.30.2.1") || !strings.Contains(network, "Destination=10.96.0.0/16\nGateway=172.30.2.1") ||
		strings.Contains(network, "0.0.0.0/0") || strings.Count(network, "[Route]") != 2 {
		t.Errorf("routes other than the cluster's:\n%s", network)
	}
	if files["etc/apt/sources.list"] != "" {
		t.Error("Debian's sources stay: apt in the machine would reach for a mirror")
	}
}

func TestJoinConfig(t *testing.T) {
	out, err := JoinConfig("kubenext-vm", testNet, TCG, "172.30.0.2", "abcdef.0123456789abcdef", "sha256:00")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"name: kubenext-vm", "value: 172.30.2.10", "value: kubenext.io/vm=cgroupv2,kubenext.io/vm-accel=tcg", "directory: /etc/kubenext/kubeadm-patches", "apiServerEndpoint: 172.30.0.2:6443", "effect: NoSchedule"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "ignorePreflightErrors") {
		t.Errorf("preflight checks ignored on a real kernel:\n%s", s)
	}
	if !strings.Contains(KubeletPatch, "failCgroupV1: true") || !strings.Contains(KubeletPatch, "cgroupDriver: systemd") || !strings.Contains(KubeletPatch, "cgroupRoot: /\n") || !strings.Contains(KubeletPatch, "runtimeRequestTimeout: 10m0s") {
		t.Error(KubeletPatch)
	}
}

func TestUpNeedsARelease(t *testing.T) {
	err := Up(context.Background(), Options{Name: "kubenext-vm", Cluster: "kubenext"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--release is required") {
		t.Errorf("got %v", err)
	}
}

func TestOptionsRefused(t *testing.T) {
	good := Options{Name: "kubenext-vm", Cluster: "kubenext", Release: "r", Subnet: "172.30.2.0/24", Accel: "auto", CPUs: 2, MemoryMiB: 3072, DiskGiB: 12, Bridge: "b", Tap: "t"}
	if _, err := good.VM(nil); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Options){
		"public range": func(o *Options) { o.Subnet = "8.8.8.0/24" },
		"pod range":    func(o *Options) { o.Subnet = "10.244.1.0/24" },
		"accel":        func(o *Options) { o.Accel = "hvf" },
		"memory":       func(o *Options) { o.MemoryMiB = 256 },
		"name":         func(o *Options) { o.Name = "Bad Name" },
	} {
		o := good
		mutate(&o)
		if _, err := o.VM(nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckNodeInfo(t *testing.T) {
	if err := CheckNodeInfo("v1.37.2+kubenext.abc containerd://2.2.1 6.1.0-41-amd64"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"v1.37.2 containerd://2.2.1 k", "v1.37.2+kubenext.abc containerd://1.7.24 k", ""} {
		if CheckNodeInfo(bad) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestPickImages(t *testing.T) {
	refs := []string{
		"docker.io/kubenext/busybox:v1.37.2_kubenext.abc", "docker.io/kubenext/netd:v1.37.2_kubenext.abc",
		"docker.io/kubenext/supplementalgroups:v1.37.2_kubenext.abc", "import-2026-12-01@sha256:6e32",
		"registry.k8s.io/etcd:3.7.0-0", "registry.k8s.io/kube-proxy:v1.37.2_kubenext.abc", "registry.k8s.io/pause:3.10.2",
		"localhost:5000/pause", "registry.k8s.io/kube-apiserver:v1.37.2_kubenext.abc",
	}
	got := strings.Join(PickImages(refs, ImageNames), " ")
	want := "docker.io/kubenext/busybox:v1.37.2_kubenext.abc docker.io/kubenext/netd:v1.37.2_kubenext.abc docker.io/kubenext/supplementalgroups:v1.37.2_kubenext.abc localhost:5000/pause registry.k8s.io/kube-proxy:v1.37.2_kubenext.abc registry.k8s.io/pause:3.10.2"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
