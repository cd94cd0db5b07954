package machines

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/steps"
)

// Options are the machines tool's flags.
type Options struct {
	Name, Network, Subnet, Gates, Version, PauseTag string
	Release, ReleaseTool, RegistryBin, Kubectl      string
	CNIManifest, StateDir, WorkDir                  string
	TestImages                                      []string
	Workers                                         int
	// FromVersion and FromRelease, for upgrade: the release the machines
	// are installed from before they move to Version and Release.
	FromVersion, FromRelease, Probe string
	// MixedE2E, for upgrade: the e2e command run mid-roll (Upgrade.MixedE2E).
	MixedE2E string
}

// Up is `machines up`.
func Up(ctx context.Context, o Options, out io.Writer) error {
	if o.Version == "" || o.PauseTag == "" || o.Release == "" {
		return fmt.Errorf("--version, --pause-tag and --release are required (the Makefile passes them)")
	}
	m, err := o.onHost(out)
	if err != nil {
		return err
	}
	if err := m.Up(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nMachines %s are ready. Use them with:\n  export KUBECONFIG=%s\n  %s get nodes\n  make e2e CLUSTER=%s NETWORK=%s\nRemove them with: make machines-down\n",
		m.Name, m.kubeconfig(), m.Kubectl, m.Name, m.Network)
	return nil
}

// RunUpgrade is `machines upgrade`.
func RunUpgrade(ctx context.Context, o Options, out io.Writer) error {
	if o.Version == "" || o.Release == "" || o.FromVersion == "" || o.FromRelease == "" || o.PauseTag == "" || o.Probe == "" {
		return fmt.Errorf("--version, --release, --from-version, --from-release, --pause-tag and --probe are required (the Makefile passes them)")
	}
	m, err := o.onHost(out)
	if err != nil {
		return err
	}
	u := &Upgrade{
		Machines: m,
		To:       Target{Version: o.Version, Release: abs(o.Release)},
		From:     Target{Version: o.FromVersion, Release: abs(o.FromRelease)},
		Probe:    abs(o.Probe),
		Gates:    m.Gates,
		MixedE2E: o.MixedE2E,
	}
	// The machines start as a plain upstream cluster: no gate of ours
	// (an upstream kubelet refuses one it does not know), upstream's
	// release installed, ours next to it in the repository and registry.
	m.Gates = map[string]bool{}
	m.Version, m.Release, m.ExtraReleases = u.From.Version, u.From.Release, []string{u.To.Release}
	m.TestImageTag = ImageTag(u.To.Version)
	return u.Run(ctx)
}

// Down is `machines down`.
func Down(ctx context.Context, o Options, out io.Writer) error {
	m, err := o.onHost(out)
	if err != nil {
		return err
	}
	return m.Down(ctx)
}

func (o Options) onHost(out io.Writer) (*Machines, error) {
	facts, err := cluster.DetectHost("/sys/fs/cgroup", os.DirFS("/"))
	if err != nil {
		return nil, err
	}
	m, err := o.Machines(facts)
	if err != nil {
		return nil, err
	}
	m.Cmd, m.Steps = exec.Host, &steps.Steps{Out: out}
	return m, nil
}

// Machines checks every option before anything runs.
func (o Options) Machines(facts cluster.HostFacts) (*Machines, error) {
	if err := guard.ValidateCluster(o.Name); err != nil {
		return nil, err
	}
	gates, err := cluster.ResolveGates(o.Gates)
	if err != nil {
		return nil, err
	}
	if o.Workers < 0 || o.Workers > 20 {
		return nil, fmt.Errorf("--workers=%d: want 0 to 20", o.Workers)
	}
	subnet, err := cluster.ParseHostSubnet(o.Subnet, 26)
	if err != nil {
		return nil, err
	}
	return &Machines{
		Name: o.Name, Workers: o.Workers, Network: o.Network, Subnet: subnet,
		Version: o.Version, PauseTag: o.PauseTag, Gates: gates, Host: facts,
		Release: abs(o.Release), TestImages: absAll(o.TestImages), ReleaseTool: abs(o.ReleaseTool),
		RegistryBin: abs(o.RegistryBin), Kubectl: abs(o.Kubectl), CNIManifestPath: abs(o.CNIManifest),
		StateDir: abs(filepath.Join(o.StateDir, o.Name)), WorkDir: abs(o.WorkDir),
	}, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func absAll(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, abs(p))
	}
	return out
}
