package cluster

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/runcwrapper"
	"github.com/kubenext/kubenext/internal/steps"
)

// Options are the cluster tool's flags.
type Options struct {
	Name, Image, Network, Subnet, Gates string
	Kind, Kubectl, Kubeconfig, StateDir string
	Workers, GateOffWorkers             int
	// UpstreamWorkers run UpstreamImage (see upstream.go).
	UpstreamWorkers int
	UpstreamImage   string
}

// Config is `cluster config`: it checks every option and prints the kind
// config, starting nothing.
func Config(o Options, out io.Writer) error {
	c, err := o.onHost(out)
	if err != nil {
		return err
	}
	config, err := KindConfig(c.Spec)
	if err == nil {
		_, err = out.Write(config)
	}
	return err
}

// Up is `cluster create`.
func Up(ctx context.Context, o Options, out io.Writer) error {
	if o.Image == "" {
		return fmt.Errorf("--image is required: build one with `make node-image`")
	}
	c, err := o.onHost(out)
	if err != nil {
		return err
	}
	if err := c.Create(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nCluster %s is ready. Use it with:\n  export KUBECONFIG=%s\n  %s get nodes\n  make e2e\nRemove it with: make cluster-down\n", c.Name, c.Kubeconfig, c.Kubectl)
	return nil
}

// Down is `cluster delete`.
func Down(ctx context.Context, o Options, out io.Writer) error {
	c, err := o.onHost(out)
	if err != nil {
		return err
	}
	return c.Delete(ctx)
}

func (o Options) onHost(out io.Writer) (*Cluster, error) {
	facts, err := DetectHost("/sys/fs/cgroup", os.DirFS("/"))
	if err != nil {
		return nil, err
	}
	c, err := o.Cluster(facts)
	if err != nil {
		return nil, err
	}
	c.Cmd, c.Steps = exec.Host, &steps.Steps{Out: out}
	return c, nil
}

// DetectHost reads the facts of HostFacts: the cgroup mount at cgroupRoot
// and the bounding set in root's /proc. CAP_SYS_RESOURCE is the one whose
// absence matters because the runc wrapper then drops it from every
// container.
func DetectHost(cgroupRoot string, root fs.FS) (HostFacts, error) {
	v1, err := IsCgroupV1(cgroupRoot)
	if err != nil {
		return HostFacts{}, fmt.Errorf("detecting the cgroup version: %w", err)
	}
	missing, err := runcwrapper.HostCaps(root)
	if err != nil {
		return HostFacts{}, err
	}
	return HostFacts{CgroupV1: v1, CannotLowerOOMScore: slices.Contains(missing, "CAP_SYS_RESOURCE")}, nil
}

// Cluster checks every option before anything runs and resolves the paths
// kind and kubectl are given (absolute: kind runs from other directories).
// The result has no Host or Steps yet.
func (o Options) Cluster(facts HostFacts) (*Cluster, error) {
	if err := guard.ValidateCluster(o.Name); err != nil {
		return nil, err
	}
	gates, err := ResolveGates(o.Gates)
	if err != nil {
		return nil, err
	}
	if o.Workers < 0 {
		return nil, fmt.Errorf("--workers=%d: want 0 or more", o.Workers)
	}
	if o.GateOffWorkers < 0 {
		return nil, fmt.Errorf("--gate-off-workers=%d: want 0 or more", o.GateOffWorkers)
	}
	if o.UpstreamWorkers < 0 {
		return nil, fmt.Errorf("--upstream-workers=%d: want 0 or more", o.UpstreamWorkers)
	}
	if o.UpstreamWorkers > 0 && o.UpstreamImage == "" {
		return nil, fmt.Errorf("--upstream-workers=%d needs --upstream-image: `make cluster UPSTREAM_WORKERS=%d` builds and passes it", o.UpstreamWorkers, o.UpstreamWorkers)
	}
	subnet, err := ParseHostSubnet(o.Subnet, 0)
	if err != nil {
		return nil, err
	}
	stateDir := filepath.Join(o.StateDir, o.Name)
	kubeconfig := o.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = filepath.Join(stateDir, "kubeconfig")
	}
	return &Cluster{
		Spec: Spec{
			Name: o.Name, Workers: o.Workers, GateOffWorkers: o.GateOffWorkers, Gates: gates,
			NodeImage: o.Image, UpstreamWorkers: o.UpstreamWorkers, UpstreamImage: o.UpstreamImage,
			PodSubnet: PodSubnet, ServiceSubnet: ServiceSubnet, Host: facts,
		},
		Network: o.Network, Subnet: subnet,
		Kind: abs(o.Kind), Kubectl: abs(o.Kubectl), Kubeconfig: abs(kubeconfig), StateDir: abs(stateDir),
	}, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// ParseHostSubnet reads a --subnet for a network this project creates on
// this host: a private range, clear of the pod and service ranges, and,
// when largest is set, an IPv4 range of that prefix length or broader.
func ParseHostSubnet(flag string, largest int) (netip.Prefix, error) {
	subnet, err := guard.ParseSubnet(flag)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--subnet: %w", err)
	}
	if !subnet.Addr().IsPrivate() {
		return netip.Prefix{}, fmt.Errorf("--subnet %s is not a private range; choose one from 172.16.0.0/12 or 192.168.0.0/16 that nothing else on this host uses", subnet)
	}
	if largest > 0 && (!subnet.Addr().Is4() || subnet.Bits() > largest) {
		return netip.Prefix{}, fmt.Errorf("--subnet %s: want a private IPv4 range of /%d or larger that nothing else on this host uses", subnet, largest)
	}
	for _, clash := range []string{PodSubnet, ServiceSubnet} {
		if subnet.Overlaps(netip.MustParsePrefix(clash)) {
			return netip.Prefix{}, fmt.Errorf("--subnet %s overlaps the cluster range %s", subnet, clash)
		}
	}
	return subnet, nil
}
