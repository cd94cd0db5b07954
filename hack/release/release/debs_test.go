package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func testPackage(t *testing.T, o BuildOptions, pkg string) string {
	t.Helper()
	v, err := ParseVersion(o.Version, o.BuildDate)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := o.Packages(v)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range pkgs {
		if p.Name == pkg {
			path, err := writeDeb(p, DefaultMaintainer, filepath.Join(dir, "staging"), dir, o.BuildDate)
			if err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	t.Fatalf("no package %s", pkg)
	return ""
}

// field reads one control field from dpkg-deb --field.
func field(t *testing.T, deb, name string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "dpkg-deb", "--field", deb, name))
}

// contents lists the paths and modes of dpkg-deb --contents.
func contents(t *testing.T, deb string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "--contents", deb)), "\n") {
		f := strings.Fields(line)
		out[strings.TrimPrefix(f[len(f)-1], ".")] = f[0] + " " + f[1]
	}
	return out
}

func TestKubeletPackage(t *testing.T) {
	need(t, "dpkg-deb")
	o := fakeTree(t, testVersion)
	deb := testPackage(t, o, "kubelet")
	if got, want := filepath.Base(deb), "kubelet_1.37.2-1.1+kubenext.20261201130000.2425128c8d_amd64.deb"; got != want {
		t.Errorf("file name %s, want %s", got, want)
	}
	info := run(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{
		"Package: kubelet", "Version: 1.37.2-1.1+kubenext.20261201130000.2425128c8d", "Architecture: amd64",
		"Maintainer: " + DefaultMaintainer,
		"Depends: libc6 (>= 2.34), kubernetes-cni (>= 1.2.0), iptables (>= 1.8.4), iproute2, mount, util-linux", "Recommends: libsystemd0",
		"postinst", "prerm", "postrm", "conffiles",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	c := contents(t, deb)
	for path, mode := range map[string]string{
		"/usr/bin/kubelet":                        "-rwxr-xr-x root/root",
		"/usr/lib/systemd/system/kubelet.service": "-rw-r--r-- root/root",
		"/etc/default/kubelet":                    "-rw-r--r-- root/root",
		"/var/lib/kubelet/":                       "drwxr-xr-x root/root",
		"/etc/kubernetes/manifests/":              "drwxr-xr-x root/root",
	} {
		if c[path] != mode {
			t.Errorf("%s: %q, want %q (contents %v)", path, c[path], mode, c)
		}
	}
	// The packaged binary is the one given, and the unit starts it.
	x := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, x)
	if b, _ := os.ReadFile(filepath.Join(x, "usr/bin/kubelet")); !strings.Contains(string(b), "echo kubelet") {
		t.Errorf("usr/bin/kubelet is %q", b)
	}
	if unit, _ := os.ReadFile(filepath.Join(x, "usr/lib/systemd/system/kubelet.service")); !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/kubelet$`).Match(unit) {
		t.Errorf("unit:\n%s", unit)
	}
	if cf := run(t, "dpkg-deb", "--info", deb, "conffiles"); strings.TrimSpace(cf) != "/etc/default/kubelet" {
		t.Errorf("conffiles: %q", cf)
	}
}

func TestKubeadmPackage(t *testing.T) {
	need(t, "dpkg-deb")
	deb := testPackage(t, fakeTree(t, testVersion), "kubeadm")
	if got := field(t, deb, "Depends"); !strings.HasPrefix(got, "kubelet (>= 1.34.0), kubectl, cri-tools (>= 1.30.0), kubernetes-cni (>= 1.2.0), conntrack, ethtool, socat") {
		t.Errorf("Depends: %s", got)
	}
	c := contents(t, deb)
	for _, p := range []string{"/usr/bin/kubeadm", "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"} {
		if c[p] == "" {
			t.Errorf("no %s in %v", p, c)
		}
	}
	x := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, x)
	dropin, _ := os.ReadFile(filepath.Join(x, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"))
	for _, want := range []string{
		"\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n",
		"EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\n",
		"--config=/var/lib/kubelet/config.yaml",
		"--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf",
	} {
		if !strings.Contains(string(dropin), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, dropin)
		}
	}
}

func TestOtherPackages(t *testing.T) {
	need(t, "dpkg-deb")
	o := fakeTree(t, testVersion)
	for pkg, want := range map[string]struct {
		version string
		files   []string
	}{
		"kubectl":        {"1.37.2-1.1+kubenext.20261201130000.2425128c8d", []string{"/usr/bin/kubectl", "/usr/bin/kubectl-node_logs", "/usr/bin/kubectl-whoami", "/usr/bin/kubectl-resize"}},
		"cri-tools":      {"1.36.0-1.1+kubenext.20261201130000.2425128c8d", []string{"/usr/bin/crictl"}},
		"kubernetes-cni": {"1.9.1-1.1+kubenext.20261201130000.2425128c8d", []string{"/opt/cni/bin/host-local", "/opt/cni/bin/loopback", "/opt/cni/bin/ptp", "/opt/cni/bin/portmap", "/etc/cni/net.d/"}},
		"kubenext-containerd": {"2.3.4-1.1+kubenext.20261201130000.2425128c8d", []string{
			"/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc",
			"/usr/lib/systemd/system/containerd.service", "/etc/containerd/config.toml", "/etc/crictl.yaml", "/etc/containerd/conf.d/"}},
	} {
		deb := testPackage(t, o, pkg)
		if got := field(t, deb, "Version"); got != want.version {
			t.Errorf("%s: Version %s, want %s", pkg, got, want.version)
		}
		c := contents(t, deb)
		for _, f := range want.files {
			if c[f] == "" {
				t.Errorf("%s: no %s in %v", pkg, f, c)
			}
		}
		if pkg != "kubenext-containerd" {
			continue
		}
		v := want.version
		for f, w := range map[string]string{
			"Provides":  "containerd (= " + v + "), containerd.io (= " + v + "), runc (= 1.4.3)",
			"Conflicts": "containerd, containerd.io, runc",
			"Replaces":  "containerd, containerd.io, runc",
		} {
			if got := field(t, deb, f); got != w {
				t.Errorf("%s: %s %q, want %q", pkg, f, got, w)
			}
		}
		if cf := strings.Fields(run(t, "dpkg-deb", "--info", deb, "conffiles")); strings.Join(cf, " ") != "/etc/containerd/config.toml /etc/crictl.yaml" {
			t.Errorf("conffiles: %v", cf)
		}
	}
}

// The maintainer scripts run with stub systemctl and deb-systemd-helper:
// a first install enables the unit, an upgrade leaves enablement to
// deb-systemd-helper's state, and nothing fails without systemd.
func TestMaintainerScripts(t *testing.T) {
	need(t, "dpkg-deb")
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: the scripts would act on the host's units")
	}
	o := fakeTree(t, testVersion)
	for _, pkg := range []string{"kubelet", "kubenext-containerd", "kubeadm"} {
		deb := testPackage(t, o, pkg)
		ctl := t.TempDir()
		run(t, "dpkg-deb", "--control", deb, ctl)
		stubs := t.TempDir()
		log := filepath.Join(stubs, "log")
		for _, s := range []string{"systemctl", "deb-systemd-helper"} {
			body := "#!/bin/sh\necho " + s + " \"$@\" >> " + log + "\n"
			if s == "deb-systemd-helper" {
				body += "[ \"$1\" = --quiet ] && [ \"$2\" = was-enabled ] && exit 0\n"
			}
			if err := os.WriteFile(filepath.Join(stubs, s), []byte(body+"exit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, call := range [][]string{{"postinst", "configure"}, {"postinst", "configure", "1.37.2-1.1"}, {"prerm", "remove"}, {"postrm", "remove"}, {"postrm", "purge"}} {
			script := filepath.Join(ctl, call[0])
			if _, err := os.Stat(script); err != nil {
				continue
			}
			run(t, "sh", "-n", script)
			cmd := exec.Command("sh", append([]string{script}, call[1:]...)...)
			cmd.Env = append(os.Environ(), "PATH="+stubs+":/usr/bin:/bin")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %v: %v\n%s", pkg, call, err, out)
			}
		}
		got, _ := os.ReadFile(log)
		switch pkg {
		case "kubeadm":
			if len(got) != 0 {
				t.Errorf("kubeadm's scripts called %s without systemd running", got)
			}
		default:
			unit := map[string]string{"kubelet": "kubelet.service", "kubenext-containerd": "containerd.service"}[pkg]
			want := "deb-systemd-helper unmask " + unit + "\ndeb-systemd-helper --quiet was-enabled " + unit + "\ndeb-systemd-helper enable " + unit + "\n"
			if !strings.HasPrefix(string(got), want) || !strings.Contains(string(got), "deb-systemd-helper purge "+unit) {
				t.Errorf("%s: calls\n%s", pkg, got)
			}
			if strings.Contains(string(got), "systemctl") {
				t.Errorf("%s called systemctl without systemd running:\n%s", pkg, got)
			}
		}
	}
}

// containerd itself reads the shipped config with a site drop-in and must
// keep both: the runc options of the main file and the drop-in's settings.
func TestContainerdConfigLoads(t *testing.T) {
	containerd := os.Getenv("KUBENEXT_CONTAINERD")
	if containerd == "" {
		containerd, _ = filepath.Abs("../../../_output/tools/containerd")
	}
	if _, err := os.Stat(containerd); err != nil {
		t.Skipf("no containerd binary (%s; make tools builds it)", containerd)
	}
	dir := t.TempDir()
	cfg := strings.Replace(string(asset("config.toml")), `"/etc/containerd/conf.d/*.toml"`, `"`+dir+`/conf.d/*.toml"`, 1)
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	dropin := "version = 4\n[plugins.\"io.containerd.cri.v1.runtime\"]\n  restrict_oom_score_adj = true\n" +
		"[plugins.\"io.containerd.cri.v1.images\".pinned_images]\n  sandbox = \"mirror.test/pause:3.10.2\"\n"
	if err := os.WriteFile(filepath.Join(dir, "conf.d", "50-site.toml"), []byte(dropin), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"), "config", "dump").Output()
	if err != nil {
		t.Fatalf("containerd config dump: %v", err)
	}
	for _, want := range []string{
		"SystemdCgroup = true", "config_path = '/etc/containerd/certs.d'", "enable_cdi = true",
		"restrict_oom_score_adj = true", "sandbox = 'mirror.test/pause:3.10.2'", "runtime_type = 'io.containerd.runc.v2'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("merged config lacks %q", want)
		}
	}
	// Without the drop-in, the default pause image.
	os.Remove(filepath.Join(dir, "conf.d", "50-site.toml"))
	cmd := exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"), "config", "dump")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "sandbox = 'registry.k8s.io/pause:3.10.2'") {
		t.Errorf("default sandbox image missing")
	}
	if strings.Contains(stderr.String(), "migrated") {
		t.Errorf("config needs migration: %s", stderr.String())
	}
}
