// Package machines brings up a kubenext cluster the way a user installs one
// on machines of their own: plain Debian 12 machines (containers that boot
// systemd and hold nothing of kind's), packages from a local apt
// repository, every image from a registry the project runs, `kubeadm
// init` on the first machine and `kubeadm join` on the others. It shares
// the kind cluster's containment: a guarded network, blackhole routes in
// every machine from boot, cluster DNS kept inside the cluster.
package machines

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// RegistryLabel marks the registry container of a machines cluster.
const RegistryLabel = "io.kubenext.machines-registry"

// RegistryPort is where the registry listens on the machines' network.
const RegistryPort = 5000

// Packages are what every machine installs, by upstream's package names
// plus our container runtime.
var Packages = []string{"kubenext-containerd", "cri-tools", "kubernetes-cni", "kubelet", "kubeadm", "kubectl"}

// Machines is one cluster of machines and the tools that drive it.
type Machines struct {
	Name    string // cluster name; machines are <name>-control-plane, <name>-worker, <name>-worker2, ...
	Workers int
	Network string
	Subnet  netip.Prefix
	Version string // kubernetesVersion, v1.37.2+kubenext.<commit>
	// PauseTag is the sandbox image's tag (kubeadm's PauseVersion).
	PauseTag string
	Gates    map[string]bool
	Host     cluster.HostFacts

	Release string // release directory installed on the machines: debs/ and images/
	// ExtraReleases go into the apt repository and the registry too, so
	// that the machines can move to them (make machines-upgrade).
	ExtraReleases []string
	TestImages    []string // archives of the e2e suite's images, pushed too
	// TestImageTag is their tag; ImageTag(Version) when empty.
	TestImageTag string
	ReleaseTool  string // our release binary: apt-repo and push
	RegistryBin  string // distribution's registry binary
	Kubectl      string
	// CNIManifestPath is manifests/netd/netd.yaml.
	CNIManifestPath string
	StateDir        string // _output/clusters/<name>: kubeconfig and what make e2e reads
	WorkDir         string // _output/machines: root filesystem, dependencies, apt repository

	Cmd      exec.Cmder
	LookPath func(string) (string, error)
	Steps    *steps.Steps
	// HTTP asks the registry whether it is up; http.DefaultClient when nil.
	HTTP *http.Client

	token string // the bootstrap token kubeadm init was given
}

// Machine is one machine: its node name and address.
type Machine struct {
	Name string
	IP   netip.Addr
}

// ControlPlane is the first machine.
func (m *Machines) ControlPlane() Machine {
	return Machine{Name: m.Name + "-control-plane", IP: m.addr(10)}
}

// WorkerMachines are the others, named as kind names its workers.
func (m *Machines) WorkerMachines() []Machine {
	var ws []Machine
	for i := range m.Workers {
		name := m.Name + "-worker"
		if i > 0 {
			name += fmt.Sprint(i + 1)
		}
		ws = append(ws, Machine{Name: name, IP: m.addr(11 + i)})
	}
	return ws
}

func (m *Machines) all() []Machine { return append([]Machine{m.ControlPlane()}, m.WorkerMachines()...) }

// addr is the subnet's nth address.
func (m *Machines) addr(n int) netip.Addr {
	a := m.Subnet.Masked().Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// Registry is host:port of the registry on the machines' network.
func (m *Machines) Registry() string {
	return netip.AddrPortFrom(m.addr(2), RegistryPort).String()
}

// ImageRepository is kubeadm's imageRepository: every image, ours and
// upstream's, comes from there.
func (m *Machines) ImageRepository() string { return m.Registry() + "/kubenext" }

func (m *Machines) registryContainer() string { return m.Name + "-registry" }

func (m *Machines) docker() *nodes.Provider { return &nodes.Provider{Host: m.Cmd} }

func (m *Machines) guard(bridge string) guard.IPTables {
	return guard.IPTables{Cmd: m.Cmd, LookPath: m.LookPath, Bridge: bridge}
}

func (m *Machines) kubeconfig() string { return filepath.Join(m.StateDir, "kubeconfig") }

func (m *Machines) kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return exec.Output(m.Cmd.Command(ctx, m.Kubectl, append([]string{"--kubeconfig", m.kubeconfig()}, args...)...))
}

type action struct {
	title string
	run   func(ctx context.Context) error
}

func (m *Machines) runActions(ctx context.Context, actions []action) error {
	for _, a := range actions {
		if err := m.Steps.Run(a.title, func() error { return a.run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// Up brings the machines up. As for the kind cluster, the order is the
// safety argument: the network is guarded before the registry or any
// machine starts, and each machine blackholes the pod and service ranges
// at boot, before any package is installed.
func (m *Machines) Up(ctx context.Context) error {
	var image string
	apt := filepath.Join(m.WorkDir, "apt")
	cp := m.ControlPlane()
	return m.runActions(ctx, []action{
		{"Checking the release " + m.Release, func(ctx context.Context) error {
			if err := m.checkRelease(); err != nil {
				return err
			}
			if names, err := m.containers(ctx); err != nil || len(names) > 0 {
				return fmt.Errorf("cluster %s already has containers %v (%v): run `make machines-down` first", m.Name, names, err)
			}
			return nil
		}},
		{fmt.Sprintf("Preparing docker network %s (%s)", m.Network, m.Subnet), func(ctx context.Context) error {
			return cluster.EnsureNetwork(ctx, m.Cmd, m.Network, m.Subnet)
		}},
		{"Dropping cluster traffic bound off this machine", func(ctx context.Context) error {
			g := m.guard(cluster.BridgeName(m.Network))
			if err := g.Add(ctx, m.Name, []netip.Prefix{m.Subnet}); err != nil {
				return err
			}
			if err := g.Verify(ctx, m.Name, m.Subnet); err != nil {
				return fmt.Errorf("%w; refusing to start machines whose traffic could leave this machine", err)
			}
			return nil
		}},
		{"Building the machine image (plain Debian " + "bookworm" + " with systemd)", func(ctx context.Context) (err error) {
			image, err = m.buildImage(ctx)
			m.Steps.Note("image %s", image)
			return err
		}},
		{"Writing the apt repository (our packages and their Debian dependencies)", func(ctx context.Context) error {
			return m.writeAptRepo(ctx, apt)
		}},
		{"Starting the registry at " + m.Registry(), func(ctx context.Context) error { return m.startRegistry(ctx, image) }},
		{"Pushing the release's images to " + m.ImageRepository(), m.pushImages},
		{fmt.Sprintf("Starting %d machines", 1+m.Workers), func(ctx context.Context) error { return m.startMachines(ctx, image) }},
		{"Waiting for systemd and checking blackhole routes on every machine", m.waitBooted},
		{"Installing the packages on every machine (apt-get install from the local repository)", func(ctx context.Context) error {
			return m.eachMachine(ctx, m.all(), func(ctx context.Context, mc Machine) error { return m.install(ctx, mc, apt) })
		}},
		{"kubeadm init on " + cp.Name, m.kubeadmInit},
		{"Installing the CNI (kubenext-netd from the registry)", m.installCNI},
		{fmt.Sprintf("kubeadm join on %d workers", m.Workers), m.joinWorkers},
		{"Keeping cluster DNS inside the cluster", m.confineDNS},
		{"Waiting for machines and system pods to be Ready", m.waitReady},
		{"Checking that every image on the machines came from " + m.Registry(), m.checkImages},
		{"Recording the cluster for make e2e", func(context.Context) error { return m.record() }},
	})
}

// Down removes the machines, the registry, the network and the guard, in
// that order, and the recorded state.
func (m *Machines) Down(ctx context.Context) error {
	var actions []action
	if cluster.DockerDown(ctx, m.Cmd) {
		m.Steps.Note("Docker is not running: no machine of %s can be, so only its host rules and records are removed", m.Name)
	} else {
		actions = append(actions,
			action{"Thawing cgroups that runc left frozen in the machines", m.thaw},
			action{"Removing the machines and the registry", func(ctx context.Context) error {
				names, err := m.containers(ctx)
				if err != nil || len(names) == 0 {
					return err
				}
				m.Steps.Note("%s", strings.Join(names, ", "))
				_, err = exec.CombinedOutput(m.Cmd.Command(ctx, "docker", append([]string{"rm", "-f", "-v"}, names...)...))
				return err
			}},
			action{"Removing docker network " + m.Network, func(ctx context.Context) error {
				return cluster.RemoveNetwork(ctx, m.Cmd, m.Steps, m.Network)
			}},
		)
	}
	return m.runActions(ctx, append(actions,
		action{"Removing the traffic guard", func(ctx context.Context) error {
			n, err := m.guard("").Remove(ctx, m.Name)
			m.Steps.Note("%d rules removed", n)
			return err
		}},
		action{"Removing " + m.StateDir, func(context.Context) error { return os.RemoveAll(m.StateDir) }},
	))
}

// containers are every container of this cluster, machines and registry.
func (m *Machines) containers(ctx context.Context) ([]string, error) {
	var names []string
	for _, label := range []string{nodes.MachinesLabel, RegistryLabel} {
		lines, err := exec.OutputLines(m.Cmd.Command(ctx, "docker", "ps", "-a", "--filter", "label="+label+"="+m.Name, "--format", "{{.Names}}"))
		if err != nil {
			return nil, err
		}
		names = append(names, lines...)
	}
	return names, nil
}

func (m *Machines) thaw(ctx context.Context) error {
	machines, err := m.docker().List(ctx, m.Name)
	if err != nil {
		return nil
	}
	return cluster.ThawContainers(ctx, m.Cmd, m.Steps, machines)
}

func (m *Machines) checkRelease() error {
	for _, dir := range []string{"debs", "images"} {
		matches, _ := filepath.Glob(filepath.Join(m.Release, dir, "*"))
		if len(matches) == 0 {
			return fmt.Errorf("%s has no %s: run `make release` first", m.Release, dir)
		}
	}
	for _, f := range append([]string{m.ReleaseTool, m.RegistryBin, m.Kubectl}, m.TestImages...) {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w (the Makefile builds it)", err)
		}
	}
	return nil
}

// eachMachine runs fn on every machine at once and reports each one's
// time; the first error wins.
func (m *Machines) eachMachine(ctx context.Context, machines []Machine, fn func(context.Context, Machine) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(machines))
	for i, mc := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[i] = fn(ctx, mc)
			if errs[i] == nil {
				m.Steps.Note("%s done (%.1fs)", mc.Name, time.Since(start).Seconds())
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", machines[i].Name, err)
		}
	}
	return nil
}

func (m *Machines) node(mc Machine) nodes.Node { return m.docker().Node(mc.Name) }

// startMachines starts one container per machine: privileged, with its own
// cgroup namespace, systemd as PID 1, and /var on a volume so that
// containerd's overlay snapshots sit on a real filesystem.
func (m *Machines) startMachines(ctx context.Context, image string) error {
	for _, mc := range m.all() {
		role := "worker"
		if mc == m.ControlPlane() {
			role = "control-plane"
		}
		args := []string{"run", "-d", "--name", mc.Name, "--hostname", mc.Name,
			"--network", m.Network, "--ip", mc.IP.String(),
			"--label", nodes.MachinesLabel + "=" + m.Name, "--label", "io.kubenext.machines.role=" + role,
			"--privileged", "--cgroupns=private",
			"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
			"--tmpfs", "/tmp", "--tmpfs", "/run", "--volume", "/var",
			image}
		if _, err := exec.CombinedOutput(m.Cmd.Command(ctx, "docker", args...)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Machines) waitBooted(ctx context.Context) error {
	return m.eachMachine(ctx, m.all(), func(ctx context.Context, mc Machine) error {
		n := m.node(mc)
		state, err := bootState(ctx, n, 3*time.Minute)
		if err != nil {
			return err
		}
		switch state {
		case "running":
		case "degraded":
			failed, _ := exec.Output(n.Command(ctx, "systemctl", "--failed", "--no-legend", "--plain"))
			m.Steps.Note("%s: systemd degraded: %s", mc.Name, strings.TrimSpace(string(failed)))
		default:
			return fmt.Errorf("systemd is %s; see `docker logs %s`", state, mc.Name)
		}
		return cluster.CheckBlackholesOn(ctx, n)
	})
}

// bootState waits for systemd to finish booting and returns its state.
// Until PID 1 opens its socket systemctl fails at once, so that is retried.
func bootState(ctx context.Context, n nodes.Node, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		out, _ := exec.Output(n.Command(ctx, "systemctl", "is-system-running", "--wait"))
		switch state := strings.TrimSpace(string(out)); state {
		case "running", "degraded", "maintenance", "stopping":
			return state, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("systemd did not finish booting within %s; see `docker logs %s`", timeout, n.Name)
		case <-tick.C:
		}
	}
}

// install is what a user does on a fresh machine: point apt at the
// package repository, add the site's registry and runtime settings, and
// apt-get install the packages. The site files go in first, so that
// containerd starts with them when its package starts it.
func (m *Machines) install(ctx context.Context, mc Machine, apt string) error {
	pinned, err := PinnedPackages(m.Release)
	if err != nil {
		return err
	}
	n := m.node(mc)
	if _, err := exec.CombinedOutput(n.Command(ctx, "mkdir", "-p", "/srv", "/etc/containerd/conf.d", "/etc/containerd/certs.d/"+m.Registry())); err != nil {
		return err
	}
	if err := n.CopyTo(ctx, apt, "/srv/kubenext-apt"); err != nil {
		return err
	}
	files := map[string][]byte{
		"/etc/apt/sources.list":                                   []byte("deb [trusted=yes] file:/srv/kubenext-apt ./\n"),
		"/etc/containerd/conf.d/10-site.toml":                     ContainerdSiteConfig(m.ImageRepository(), m.PauseTag, m.Host),
		"/etc/containerd/certs.d/" + m.Registry() + "/hosts.toml": RegistryHosts(m.Registry()),
		"/etc/sysctl.d/90-kubernetes.conf":                        []byte("net.ipv4.ip_forward = 1\n"),
	}
	for path, content := range files {
		if err := n.WriteFile(ctx, path, strings.NewReader(string(content))); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	steps := [][]string{
		{"sysctl", "--quiet", "--system"},
		{"apt-get", "update", "-qq"},
		append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold"}, pinned...),
		{"systemctl", "is-active", "containerd"},
	}
	for _, s := range steps {
		if _, err := exec.CombinedOutput(n.Command(ctx, s[0], s[1:]...).SetEnv("DEBIAN_FRONTEND=noninteractive")); err != nil {
			return err
		}
	}
	return nil
}

func (m *Machines) kubeadmSpec() KubeadmSpec {
	cp := m.ControlPlane()
	return KubeadmSpec{
		Name: m.Name, Version: m.Version, ImageRepository: m.ImageRepository(),
		ControlPlane: cp.Name, ControlPlaneIP: cp.IP, Gates: m.Gates, Host: m.Host,
	}
}

// kubeadmLog keeps kubeadm's output; a failure shows its end.
func (m *Machines) runLogged(ctx context.Context, n nodes.Node, log string, argv ...string) error {
	if err := os.MkdirAll(m.StateDir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(m.StateDir, log))
	if err != nil {
		return err
	}
	defer f.Close()
	return exec.RunLogged(n.Command(ctx, argv[0], argv[1:]...), f)
}

func (m *Machines) kubeadmInit(ctx context.Context) error {
	token, err := NewToken()
	if err != nil {
		return err
	}
	m.token = token
	spec := m.kubeadmSpec()
	spec.Token = token
	config, err := InitConfig(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.StateDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(m.StateDir, "kubeadm-init.yaml"), config, 0o600); err != nil {
		return err
	}
	n := m.node(m.ControlPlane())
	if err := n.WriteFile(ctx, "/root/kubeadm-init.yaml", strings.NewReader(string(config))); err != nil {
		return err
	}
	m.Steps.Note("kubernetesVersion %s, imageRepository %s, gates %s", m.Version, m.ImageRepository(), cluster.FormatGates(m.Gates))
	if err := m.runLogged(ctx, n, "kubeadm-init.log", "kubeadm", "init", "--config", "/root/kubeadm-init.yaml", "--skip-token-print"); err != nil {
		return fmt.Errorf("%w (full log: %s)", err, filepath.Join(m.StateDir, "kubeadm-init.log"))
	}
	admin, err := exec.Output(n.Command(ctx, "cat", "/etc/kubernetes/admin.conf"))
	if err != nil {
		return err
	}
	return os.WriteFile(m.kubeconfig(), admin, 0o600)
}

func (m *Machines) joinWorkers(ctx context.Context) error {
	ca, err := exec.Output(m.node(m.ControlPlane()).Command(ctx, "cat", "/etc/kubernetes/pki/ca.crt"))
	if err != nil {
		return err
	}
	hash, err := CACertHash(ca)
	if err != nil {
		return err
	}
	spec := m.kubeadmSpec()
	spec.Token = m.token
	return m.eachMachine(ctx, m.WorkerMachines(), func(ctx context.Context, mc Machine) error {
		config, err := JoinConfig(spec, mc.Name, mc.IP, hash)
		if err != nil {
			return err
		}
		n := m.node(mc)
		if err := n.WriteFile(ctx, "/root/kubeadm-join.yaml", strings.NewReader(string(config))); err != nil {
			return err
		}
		log := "kubeadm-join-" + mc.Name + ".log"
		if err := m.runLogged(ctx, n, log, "kubeadm", "join", "--config", "/root/kubeadm-join.yaml"); err != nil {
			return fmt.Errorf("%w (full log: %s)", err, filepath.Join(m.StateDir, log))
		}
		return nil
	})
}

func (m *Machines) confineDNS(ctx context.Context) error {
	return cluster.ConfineDNS(func(args ...string) ([]byte, error) { return m.kubectl(ctx, args...) })
}

func (m *Machines) waitReady(ctx context.Context) error {
	return cluster.WaitSystemReady(ctx, func(args ...string) ([]byte, error) { return m.kubectl(ctx, args...) }, 5*time.Minute)
}

// checkImages holds the machines to the promise that nothing was
// preloaded: every image their runtime has is named from the registry.
func (m *Machines) checkImages(ctx context.Context) error {
	return m.eachMachine(ctx, m.all(), func(ctx context.Context, mc Machine) error {
		out, err := exec.Output(m.node(mc).Command(ctx, "crictl", "images", "-o", "json"))
		if err != nil {
			return err
		}
		foreign, n, err := ForeignImages(string(out), m.Registry()+"/")
		if err != nil {
			return err
		}
		if len(foreign) > 0 {
			return fmt.Errorf("images not from the registry: %s", strings.Join(foreign, ", "))
		}
		m.Steps.Note("%s: %d images, all from %s", mc.Name, n, m.Registry())
		return nil
	})
}

// ForeignImages reads `crictl images -o json` and returns the tags that do
// not start with prefix, and how many images there are.
func ForeignImages(crictlJSON, prefix string) ([]string, int, error) {
	var list struct {
		Images []struct {
			RepoTags []string `json:"repoTags"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(crictlJSON), &list); err != nil {
		return nil, 0, fmt.Errorf("crictl images -o json: %w", err)
	}
	var foreign []string
	for _, img := range list.Images {
		for _, tag := range img.RepoTags {
			if !strings.HasPrefix(tag, prefix) {
				foreign = append(foreign, tag)
			}
		}
	}
	return foreign, len(list.Images), nil
}

// record writes what make e2e reads for any cluster: the test image (from
// the registry), the shape, and how the suite's pods get their images.
func (m *Machines) record() error {
	files := map[string]string{
		"test-image":       m.testImage(),
		"workers":          fmt.Sprint(m.Workers),
		"gate-off-workers": "0",
		"pull-policy":      "IfNotPresent",
		"network":          m.Network,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(m.StateDir, name), []byte(content+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// testImage is the e2e suite's image in the registry.
func (m *Machines) testImage() string {
	tag := m.TestImageTag
	if tag == "" {
		tag = ImageTag(m.Version)
	}
	return m.ImageRepository() + "/busybox:" + tag
}

// ImageTag is kubeadm's tag rule: every character outside [-A-Za-z0-9_.]
// becomes '_' (v1.37.2+kubenext.abc -> v1.37.2_kubenext.abc).
func ImageTag(version string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, version)
}
