package machines

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodeimage"
)

// MachineRootfs is a plain Debian machine: systemd, and iproute2 for the
// blackhole routes it sets at boot. Everything Kubernetes needs comes
// later, from the packages and their declared dependencies.
var MachineRootfs = nodeimage.Rootfs{
	Version:  "kubenext-machine/1",
	Packages: []string{"systemd", "systemd-sysv", "dbus", "iproute2", "procps", "kmod"},
}

// machineDockerfile adds what a root filesystem cannot say: systemd as
// PID 1 and the signal that shuts it down.
const machineDockerfile = `FROM %s
COPY rootfs/ /
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/sbin/init"]
`

// buildImage builds the machine image once per set of inputs: the Debian
// root, our blackhole unit, an empty machine-id (systemd makes one per
// machine at first boot).
func (m *Machines) buildImage(ctx context.Context) (string, error) {
	rootfs := filepath.Join(m.WorkDir, "rootfs")
	if err := MachineRootfs.Build(ctx, m.Cmd, rootfs); err != nil {
		return "", err
	}
	unit := nodeimage.BlackholeUnit(cluster.PodSubnet, cluster.ServiceSubnet)
	sum := sha256.Sum256([]byte(MachineRootfs.ID() + machineDockerfile + unit))
	tag := "kubenext/machine:" + hex.EncodeToString(sum[:])[:12]
	if _, err := exec.Output(m.Cmd.Command(ctx, "docker", "image", "inspect", tag)); err == nil {
		return tag, nil
	}
	base := "kubenext/machine-base:" + MachineRootfs.ID()
	if _, err := exec.Output(m.Cmd.Command(ctx, "docker", "image", "inspect", base)); err != nil {
		if err := nodeimage.DockerImport(ctx, m.Cmd, rootfs, base); err != nil {
			return "", err
		}
	}
	contextDir := filepath.Join(m.WorkDir, "image")
	overlay := filepath.Join(contextDir, "rootfs")
	if err := os.RemoveAll(contextDir); err != nil {
		return "", err
	}
	files := map[string]string{
		"etc/systemd/system/kubenext-blackhole.service": unit,
		"etc/machine-id": "",
	}
	for path, content := range files {
		dst := filepath.Join(overlay, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	wants := filepath.Join(overlay, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink("/etc/systemd/system/kubenext-blackhole.service", filepath.Join(wants, "kubenext-blackhole.service")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(contextDir, "Dockerfile"), fmt.Appendf(nil, machineDockerfile, base), 0o644); err != nil {
		return "", err
	}
	// The legacy builder: BuildKit may try to resolve FROM remotely.
	_, err := exec.CombinedOutput(m.Cmd.Command(ctx, "docker", "build", "--quiet", "-t", tag, contextDir).SetEnv("DOCKER_BUILDKIT=0"))
	return tag, err
}

// writeAptRepo writes the repository the machines install from: our
// packages, and the Debian packages their Depends pull in on a machine of
// MachineRootfs, which apt resolves in that root filesystem on this host
// (the machines themselves reach nothing outside their network).
func (m *Machines) writeAptRepo(ctx context.Context, apt string) error {
	var debs []string
	for _, r := range append([]string{m.Release}, m.ExtraReleases...) {
		debs = append(debs, "--debs", filepath.Join(r, "debs"))
	}
	if _, err := exec.CombinedOutput(m.Cmd.Command(ctx, m.ReleaseTool, append(append([]string{"apt-repo"}, debs...), "--out", apt)...)); err != nil {
		return err
	}
	index, err := os.ReadFile(filepath.Join(apt, "Packages"))
	if err != nil {
		return err
	}
	deps, err := ExternalDepends(string(index))
	if err != nil {
		return err
	}
	m.Steps.Note("Debian packages our packages depend on: %s", strings.Join(deps, " "))
	sum := sha256.Sum256([]byte(MachineRootfs.ID() + strings.Join(deps, ",")))
	depsDir := filepath.Join(m.WorkDir, "deps-"+hex.EncodeToString(sum[:])[:12])
	if _, err := os.Stat(filepath.Join(depsDir, ".done")); err != nil {
		if err := m.downloadDepends(ctx, filepath.Join(m.WorkDir, "rootfs"), depsDir, deps); err != nil {
			return err
		}
	}
	_, err = exec.CombinedOutput(m.Cmd.Command(ctx, m.ReleaseTool, append(append([]string{"apt-repo"}, debs...), "--debs", depsDir, "--out", apt)...))
	return err
}

// PinnedPackages are Packages as name=version from the debs of release,
// so that a machine installs exactly that release even when the
// repository holds another one.
func PinnedPackages(release string) ([]string, error) {
	versions, err := DebVersions(filepath.Join(release, "debs"))
	if err != nil {
		return nil, err
	}
	var pinned []string
	for _, p := range Packages {
		v, ok := versions[p]
		if !ok {
			return nil, fmt.Errorf("%s has no %s package: run `make release` again", release, p)
		}
		pinned = append(pinned, p+"="+v)
	}
	return pinned, nil
}

// DebVersions reads package versions from the file names nfpm gives debs:
// <name>_<version>_<arch>.deb.
func DebVersions(dir string) (map[string]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("no debs in %s: run `make release`", dir)
	}
	versions := map[string]string{}
	for _, f := range matches {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".deb"), "_")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s is not named <name>_<version>_<arch>.deb", f)
		}
		if old, dup := versions[parts[0]]; dup {
			return nil, fmt.Errorf("%s holds two %s packages (%s and %s)", dir, parts[0], old, parts[1])
		}
		versions[parts[0]] = parts[1]
	}
	return versions, nil
}

// downloadDepends has apt in the machine root filesystem (chrooted here,
// with this host's network) download deps and what they need beyond that
// root, then leaves the root as it was.
func (m *Machines) downloadDepends(ctx context.Context, rootfs, dir string, deps []string) error {
	archives := filepath.Join(rootfs, "var/cache/apt/archives")
	clean := func() {
		matches, _ := filepath.Glob(filepath.Join(archives, "*.deb"))
		for _, f := range matches {
			os.Remove(f)
		}
		lists, _ := filepath.Glob(filepath.Join(rootfs, "var/lib/apt/lists/*"))
		for _, f := range lists {
			os.RemoveAll(f)
		}
	}
	defer clean()
	chroot := func(args ...string) error {
		_, err := exec.CombinedOutput(m.Cmd.Command(ctx, "chroot", append([]string{rootfs}, args...)...).SetEnv("DEBIAN_FRONTEND=noninteractive"))
		return err
	}
	if err := chroot("apt-get", "update", "-qq"); err != nil {
		return err
	}
	if err := chroot(append([]string{"apt-get", "install", "--download-only", "-y", "-qq", "--no-install-recommends"}, deps...)...); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	matches, _ := filepath.Glob(filepath.Join(archives, "*.deb"))
	for _, f := range matches {
		if err := os.Rename(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			return err
		}
	}
	m.Steps.Note("%d Debian packages downloaded", len(matches))
	return os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644)
}

// ExternalDepends reads an apt Packages index and returns the packages its
// Depends and Pre-Depends name that the index does not hold itself, sorted.
// Of alternatives (a | b) the first is taken, as apt would.
func ExternalDepends(index string) ([]string, error) {
	have := map[string]bool{}
	var named []string
	sc := bufio.NewScanner(strings.NewReader(index))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.HasPrefix(key, " ") {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Package":
			have[value] = true
		case "Provides":
			for _, p := range strings.Split(value, ",") {
				have[depName(p)] = true
			}
		case "Depends", "Pre-Depends":
			for _, d := range strings.Split(value, ",") {
				first, _, _ := strings.Cut(d, "|")
				if name := depName(first); name != "" {
					named = append(named, name)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("the apt index lists no packages")
	}
	var out []string
	for _, n := range named {
		if !have[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// depName is the package of one dependency: "iptables (>= 1.4.21)" -> iptables.
func depName(dep string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(dep), " ")
	name, _, _ = strings.Cut(name, ":") // an architecture qualifier
	return strings.TrimSpace(name)
}
