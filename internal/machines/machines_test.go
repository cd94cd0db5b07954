package machines

import (
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/cluster"
)

func options() Options {
	return Options{Name: "machines", Network: "kubenext-machines", Subnet: "172.30.1.0/24", Version: "v1.37.2+kubenext.abc",
		PauseTag: "3.10.2", Workers: 2, StateDir: "/s", WorkDir: "/w"}
}

func TestMachinesLayout(t *testing.T) {
	m, err := options().Machines(cluster.HostFacts{})
	if err != nil {
		t.Fatal(err)
	}
	if cp := m.ControlPlane(); cp.Name != "machines-control-plane" || cp.IP.String() != "172.30.1.10" {
		t.Errorf("control plane %+v", cp)
	}
	ws := m.WorkerMachines()
	if len(ws) != 2 || ws[0].Name != "machines-worker" || ws[1].Name != "machines-worker2" || ws[1].IP.String() != "172.30.1.12" {
		t.Errorf("workers %+v", ws)
	}
	if m.Registry() != "172.30.1.2:5000" || m.ImageRepository() != "172.30.1.2:5000/kubenext" {
		t.Errorf("registry %s, repository %s", m.Registry(), m.ImageRepository())
	}
	if m.StateDir != "/s/machines" || !m.Gates["KeystoneContainers"] {
		t.Errorf("state dir %s, gates %v", m.StateDir, m.Gates)
	}
}

func TestOptionsRefused(t *testing.T) {
	for name, mutate := range map[string]func(*Options){
		"public subnet":       func(o *Options) { o.Subnet = "8.8.8.0/24" },
		"pod range":           func(o *Options) { o.Subnet = "10.244.0.0/24" },
		"too small":           func(o *Options) { o.Subnet = "172.30.1.0/28" },
		"unknown gate":        func(o *Options) { o.Gates = "NoSuchGate=true" },
		"negative workers":    func(o *Options) { o.Workers = -1 },
		"name with a space":   func(o *Options) { o.Name = "a b" },
		"not a subnet at all": func(o *Options) { o.Subnet = "machines" },
	} {
		o := options()
		mutate(&o)
		if _, err := o.Machines(cluster.HostFacts{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestImageTag(t *testing.T) {
	for in, want := range map[string]string{
		"v1.37.2+kubenext.abc": "v1.37.2_kubenext.abc",
		"v1.37.2":              "v1.37.2",
		"v1.37.2+a/b:c":        "v1.37.2_a_b_c",
	} {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCNIManifest(t *testing.T) {
	got, err := CNIManifest("image: __NETD_IMAGE__\nimagePullPolicy: Never\n", "r/netd:t")
	if err != nil || got != "image: r/netd:t\nimagePullPolicy: IfNotPresent\n" {
		t.Errorf("CNIManifest = %q, %v", got, err)
	}
	if _, err := CNIManifest("image: x\n", "r/netd:t"); err == nil || !strings.Contains(err.Error(), NetdPlaceholder) {
		t.Errorf("a manifest without the placeholder: %v", err)
	}
}

func TestExternalDepends(t *testing.T) {
	index := `Package: kubelet
Version: 1.37.2-1.1
Depends: kubernetes-cni (>= 1.2.0), iptables (>= 1.8.4), iproute2, mount, util-linux

Package: kubeadm
Depends: kubelet (>= 1.34.0), kubectl, cri-tools (>= 1.30.0), conntrack | conntrack-tools, socat:any
Pre-Depends: init-system-helpers

Package: kubenext-containerd
Provides: containerd (= 2.3.4), runc (= 1.4.3)

Package: kubernetes-cni

Package: kubectl

Package: cri-tools
Depends: runc
`
	got, err := ExternalDepends(index)
	want := "conntrack init-system-helpers iproute2 iptables mount socat util-linux"
	if err != nil || strings.Join(got, " ") != want {
		t.Errorf("ExternalDepends = %v, %v; want %s", got, err, want)
	}
	if _, err := ExternalDepends(""); err == nil {
		t.Error("an empty index must be an error, not no dependencies")
	}
}

func TestForeignImages(t *testing.T) {
	out := `{"images":[{"repoTags":["172.30.1.2:5000/kubenext/pause:3.10.2"]},{"repoTags":["registry.k8s.io/pause:3.10.2"]},{"repoTags":[]}]}`
	foreign, n, err := ForeignImages(out, "172.30.1.2:5000/")
	if err != nil || n != 3 || len(foreign) != 1 || foreign[0] != "registry.k8s.io/pause:3.10.2" {
		t.Errorf("ForeignImages = %v, %d, %v", foreign, n, err)
	}
	if _, _, err := ForeignImages("not json", "x/"); err == nil {
		t.Error("garbage accepted")
	}
}
