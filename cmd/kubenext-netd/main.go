// Command kubenext-netd is the pod network of a kubenext kind cluster: on
// each node it keeps blackhole routes for the pod and service ranges,
// writes the node's CNI config once the node has a podCIDR, and routes every
// other node's podCIDR to that node. The logic is in pkg/netd.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kubenext/kubenext/pkg/netd"
)

func main() {
	var nodeName, podCIDR, serviceCIDR, confDir, kubeconfig string
	cmd := &cobra.Command{
		Use:           "kubenext-netd",
		Short:         "Pod routes, blackholes and CNI config for one kubenext node",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodeName == "" {
				return fmt.Errorf("--node-name is empty: set it, or NODE_NAME from the pod's spec.nodeName")
			}
			var cfg netd.Config
			var err error
			if cfg.PodCIDR, err = netd.ParseClusterRange(podCIDR); err != nil {
				return fmt.Errorf("--pod-cidr: %w", err)
			}
			if cfg.ServiceCIDR, err = netd.ParseClusterRange(serviceCIDR); err != nil {
				return fmt.Errorf("--service-cidr: %w", err)
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			restConfig, err := clientConfig(kubeconfig)
			if err != nil {
				return err
			}
			client, err := kubernetes.NewForConfig(restConfig)
			if err != nil {
				return err
			}
			routes, err := netd.NewNetlinkRouteTable(cfg.PodCIDR)
			if err != nil {
				return err
			}
			defer routes.Close()
			controller, err := netd.NewController(client, netd.ControllerOptions{
				NodeName: nodeName, Config: cfg, Routes: routes, CNIConfDir: confDir,
			})
			if err != nil {
				return err
			}
			return controller.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name")
	f.StringVar(&podCIDR, "pod-cidr", "10.244.0.0/16", "the cluster's whole pod range")
	f.StringVar(&serviceCIDR, "service-cidr", "10.96.0.0/16", "the cluster's whole service range")
	f.StringVar(&confDir, "cni-conf-dir", "/etc/cni/net.d", "where the CNI config is written")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig; in-cluster config when empty")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		klog.ErrorS(err, "kubenext-netd failed")
		stop()
		os.Exit(1)
	}
}

func clientConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and no in-cluster config: %w", err)
	}
	return cfg, nil
}
