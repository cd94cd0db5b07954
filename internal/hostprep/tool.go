package hostprep

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// ProbeArg is the hidden subcommand the privileged check runs inside its
// container: starting at all is the test, so it only exits 0.
const ProbeArg = "probe"

// PolicyRCD is where Debian's invoke-rc.d looks for a policy.
const PolicyRCD = "/usr/sbin/policy-rc.d"

// Tool is the hostprep command line's subcommands, acting on a host
// through Cmd and LookPath.
type Tool struct {
	Cmd      exec.Cmder
	LookPath func(file string) (string, error)
	Out      io.Writer
}

// OnHost is Tool on this machine.
func OnHost(out io.Writer) Tool { return Tool{Cmd: exec.Host, LookPath: exec.LookPath, Out: out} }

// Docker is `hostprep docker`. wrapper is --runc-wrapper, "" for
// DefaultWrapper. The running binary doubles as the probe, which is why
// hostprep is built static.
func (t Tool) Docker(ctx context.Context, wrapper string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if wrapper == "" {
		wrapper = DefaultWrapper(self)
	}
	progress := &steps.Steps{Out: t.Out}
	return EnsureDocker(ctx, DockerConfig{
		Cmd:      t.Cmd,
		LookPath: t.LookPath,
		FS:       os.DirFS("/"),
		Start:    DetachedStarter{},
		Steps:    progress,
		Apt:      &Apt{Cmd: t.Cmd, LookPath: t.LookPath, Steps: progress, PolicyRCD: PolicyRCD},
		Wrapper:  wrapper,
		// dockerd runs the installed copy, not this checkout's.
		WrapperInstallPath: InstalledWrapper,
		ProbeBinary:        self,
		ProbeArgs:          []string{ProbeArg},
	})
}

// DefaultWrapper looks where the build puts the wrapper: beside hostprep
// (both in _output/tools), or under the repository root when hostprep runs
// through `go run`.
func DefaultWrapper(self string) string {
	const name = "kubenext-runc-wrapper"
	if p := filepath.Join(filepath.Dir(self), name); fileExists(p) {
		return p
	}
	return filepath.Join("_output", "tools", name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// GuardAddOptions are the flags of `hostprep guard add`: Subnets (with an
// optional Bridge) or a Network whose subnets and bridge are read.
type GuardAddOptions struct {
	Cluster string
	Subnets []string
	Network string
	Bridge  string
}

// GuardAdd is `hostprep guard add`.
func (t Tool) GuardAdd(ctx context.Context, o GuardAddOptions) error {
	if err := guard.ValidateCluster(o.Cluster); err != nil {
		return err
	}
	prefixes, bridge, err := t.guardTarget(ctx, o)
	if err != nil {
		return err
	}
	progress := &steps.Steps{Out: t.Out}
	return progress.Run(fmt.Sprintf("Guarding %s for cluster %s", joinPrefixes(prefixes), o.Cluster), func() error {
		return t.iptables(bridge).Add(ctx, o.Cluster, prefixes)
	})
}

// guardTarget resolves what to guard. A network's own bridge wins over
// --bridge: it is the device the network's traffic really uses.
func (t Tool) guardTarget(ctx context.Context, o GuardAddOptions) ([]netip.Prefix, string, error) {
	if o.Network == "" {
		var prefixes []netip.Prefix
		for _, s := range o.Subnets {
			p, err := guard.ParseSubnet(s)
			if err != nil {
				return nil, "", err
			}
			prefixes = append(prefixes, p)
		}
		if len(prefixes) == 0 {
			return nil, "", fmt.Errorf("no subnet to guard: give --subnet or --network")
		}
		return prefixes, o.Bridge, nil
	}
	docker := &nodes.Provider{Host: t.Cmd}
	subnets, err := docker.NetworkSubnets(ctx, o.Network)
	if err != nil {
		return nil, "", fmt.Errorf("docker network %s: %w", o.Network, err)
	}
	for i, s := range subnets {
		if subnets[i], err = guard.CheckSubnet(s); err != nil {
			return nil, "", fmt.Errorf("docker network %s: %w", o.Network, err)
		}
	}
	bridge, err := docker.NetworkBridge(ctx, o.Network)
	if err != nil {
		return nil, "", err
	}
	return subnets, bridge, nil
}

// GuardRemove is `hostprep guard remove`.
func (t Tool) GuardRemove(ctx context.Context, cluster string) error {
	progress := &steps.Steps{Out: t.Out}
	return progress.Run("Removing guard for cluster "+cluster, func() error {
		n, err := t.iptables("").Remove(ctx, cluster)
		progress.Note("%d rule(s) removed", n)
		return err
	})
}

func (t Tool) iptables(bridge string) guard.IPTables {
	return guard.IPTables{Cmd: t.Cmd, LookPath: t.LookPath, Bridge: bridge}
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
