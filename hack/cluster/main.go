// Command cluster creates and deletes kubenext kind clusters.
//
//	cluster config  [flags]   check the gates and print the kind config; starts nothing
//	cluster create  [flags]   guarded network, kind cluster, DNS confinement, wait for Ready
//	cluster delete  [flags]   remove the cluster, its network and its guard
package main

import (
	"context"
	"fmt"
	"github.com/kubenext/kubenext/internal/steps"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/hostprep"
)

type flags struct {
	name, image, network, subnet, gates string
	kind, kubectl, kubeconfig, stateDir string
	workers, gateOffWorkers             int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var f flags
	root := &cobra.Command{Use: "cluster", Short: "Create and delete kubenext kind clusters", SilenceUsage: true, SilenceErrors: true}
	pf := root.PersistentFlags()
	pf.StringVar(&f.name, "name", "kubenext", "cluster name")
	pf.StringVar(&f.image, "image", "", "node image (required for create)")
	pf.IntVar(&f.workers, "workers", 1, "number of worker nodes")
	pf.IntVar(&f.gateOffWorkers, "gate-off-workers", 1, "extra workers whose kubelet runs with KeystoneContainers=false, labelled "+cluster.GateOffLabel+"="+cluster.GateOffLabelValue)
	pf.StringVar(&f.gates, "gates", "", "feature gates on top of the defaults, e.g. EventedPLEG=false")
	pf.StringVar(&f.network, "network", "kubenext", "docker network for the nodes")
	pf.StringVar(&f.subnet, "subnet", "172.30.0.0/24", "subnet of that network; guarded before nodes start")
	pf.StringVar(&f.kind, "kind", "_output/tools/kind", "kind binary")
	pf.StringVar(&f.kubectl, "kubectl", "_output/bin/kubectl", "kubectl binary")
	pf.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig to write (default _output/clusters/<name>/kubeconfig)")
	pf.StringVar(&f.stateDir, "state-dir", "_output/clusters", "directory for per-cluster files")

	root.AddCommand(
		&cobra.Command{Use: "config", Short: "Check the gates and print the kind config", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := build(f)
				if err != nil {
					return err
				}
				out, err := cluster.KindConfig(c.Spec)
				if err == nil {
					_, err = cmd.OutOrStdout().Write(out)
				}
				return err
			}},
		&cobra.Command{Use: "create", Short: "Create the cluster", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if f.image == "" {
					return fmt.Errorf("--image is required: build one with `make node-image`")
				}
				c, err := build(f)
				if err != nil {
					return err
				}
				if err := c.Create(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "\nCluster %s is ready. Use it with:\n  export KUBECONFIG=%s\n  %s get nodes\n  make e2e\nRemove it with: make cluster-down\n", c.Name, c.Kubeconfig, c.Kubectl)
				return nil
			}},
		&cobra.Command{Use: "delete", Short: "Delete the cluster, its network and its guard", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := build(f)
				if err != nil {
					return err
				}
				return c.Delete(cmd.Context())
			}},
	)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		stop()
		os.Exit(1)
	}
}

// build checks every input before anything runs.
func build(f flags) (*cluster.Cluster, error) {
	if err := hostprep.ValidateCluster(f.name); err != nil {
		return nil, err
	}
	gates, err := cluster.ResolveGates(f.gates)
	if err != nil {
		return nil, err
	}
	if f.workers < 0 {
		return nil, fmt.Errorf("--workers=%d: want 0 or more", f.workers)
	}
	if f.gateOffWorkers < 0 {
		return nil, fmt.Errorf("--gate-off-workers=%d: want 0 or more", f.gateOffWorkers)
	}
	subnet, err := hostprep.ParseSubnet(f.subnet)
	if err != nil {
		return nil, fmt.Errorf("--subnet: %w", err)
	}
	if !subnet.Addr().IsPrivate() {
		return nil, fmt.Errorf("--subnet %s is not a private range; choose one from 172.16.0.0/12 or 192.168.0.0/16 that nothing else on this host uses", subnet)
	}
	for _, clash := range []string{cluster.PodSubnet, cluster.ServiceSubnet} {
		if subnet.Overlaps(netip.MustParsePrefix(clash)) {
			return nil, fmt.Errorf("--subnet %s overlaps the cluster range %s", subnet, clash)
		}
	}
	v1, err := cluster.IsCgroupV1("/sys/fs/cgroup")
	if err != nil {
		return nil, fmt.Errorf("detecting the cgroup version: %w", err)
	}
	missing, err := hostprep.HostCaps(os.DirFS("/"))
	if err != nil {
		return nil, err
	}
	stateDir := filepath.Join(f.stateDir, f.name)
	kubeconfig := f.kubeconfig
	if kubeconfig == "" {
		kubeconfig = filepath.Join(stateDir, "kubeconfig")
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	return &cluster.Cluster{
		Spec: cluster.Spec{
			Name: f.name, Workers: f.workers, GateOffWorkers: f.gateOffWorkers, Gates: gates,
			PodSubnet: cluster.PodSubnet, ServiceSubnet: cluster.ServiceSubnet,
			Host: cluster.HostFacts{CgroupV1: v1, CannotLowerOOMScore: slices.Contains(missing, "CAP_SYS_RESOURCE")},
		},
		Image: f.image, Network: f.network, Subnet: subnet,
		Kind: abs(f.kind), Kubectl: abs(f.kubectl), Kubeconfig: abs(kubeconfig), StateDir: abs(stateDir),
		Run: hostprep.ExecRunner{}, Steps: &steps.Steps{Out: os.Stdout},
	}, nil
}
