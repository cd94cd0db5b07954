package vm

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// Options are the vm tool's flags.
type Options struct {
	Name, Cluster, Release, ReleaseTool, Kubectl, StateDir, WorkDir string
	Containerd, Ctr, Accel, Bridge, Tap, Subnet                     string
	CPUs, MemoryMiB, DiskGiB                                        int
}

// Up is `vm up`.
func Up(ctx context.Context, o Options, out io.Writer) error {
	if o.Release == "" {
		return fmt.Errorf("--release is required: the release directory make release wrote (the Makefile passes it)")
	}
	v, err := o.VM(out)
	if err != nil {
		return err
	}
	return v.Up(ctx)
}

// Down is `vm down`.
func Down(ctx context.Context, o Options, out io.Writer) error {
	v, err := o.VM(out)
	if err != nil {
		return err
	}
	return v.Down(ctx)
}

// VM checks every option before anything runs.
func (o Options) VM(out io.Writer) (*VM, error) {
	if err := guard.ValidateCluster(o.Name); err != nil {
		return nil, fmt.Errorf("--name: %w", err)
	}
	if err := guard.ValidateCluster(o.Cluster); err != nil {
		return nil, fmt.Errorf("--cluster: %w", err)
	}
	subnet, err := cluster.ParseHostSubnet(o.Subnet, 28)
	if err != nil {
		return nil, err
	}
	switch {
	case o.CPUs < 1 || o.CPUs > 16:
		return nil, fmt.Errorf("--cpus=%d: want 1 to 16", o.CPUs)
	case o.MemoryMiB < 1024:
		return nil, fmt.Errorf("--memory=%d: want at least 1024 MiB (the kubelet and containerd need it)", o.MemoryMiB)
	case o.DiskGiB < 4:
		return nil, fmt.Errorf("--disk=%d: want at least 4 GiB", o.DiskGiB)
	}
	if o.Accel != "auto" && o.Accel != "kvm" && o.Accel != "tcg" {
		return nil, fmt.Errorf("--accel=%s: want auto, kvm or tcg", o.Accel)
	}
	work := abs(o.WorkDir)
	return &VM{
		Name: o.Name, Cluster: o.Cluster, ControlPlane: o.Cluster + "-control-plane",
		Release: abs(o.Release), ReleaseTool: abs(o.ReleaseTool), Kubectl: abs(o.Kubectl),
		Kubeconfig: abs(filepath.Join(o.StateDir, o.Cluster, "kubeconfig")), WorkDir: work,
		Containerd: abs(o.Containerd), Ctr: abs(o.Ctr),
		CPUs: o.CPUs, MemoryMiB: o.MemoryMiB, DiskGiB: o.DiskGiB, Accel: o.Accel,
		Net: Network{Bridge: o.Bridge, Tap: o.Tap, Subnet: subnet},
		Cmd: exec.Host, Steps: &steps.Steps{Out: out},
		Provider: &nodes.Provider{Host: exec.Host, VMDir: work}, LookPath: exec.LookPath,
	}, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
