// Command startup is make bench-startup: on the kind cluster it measures
// the time to schedule and run -pods pods created at once, and the control
// plane's memory at rest. The logic is in internal/startupbench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/startupbench"
)

func main() {
	c := startupbench.Config{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.Cluster, "cluster", "kubenext", "kind cluster name (its control-plane node is <cluster>-control-plane)")
	flag.StringVar(&c.Image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.Namespace, "namespace", "startupbench", "namespace created and deleted by the run")
	flag.IntVar(&c.Pods, "pods", 100, "pods to schedule and run")
	flag.Parse()
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(2)
	}
	if err := startupbench.Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}
