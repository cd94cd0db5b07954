// Command pleg is make bench-pleg: on one worker of the kind cluster it
// runs the kubelet in evented mode and in generic mode, one after the
// other on the same node, and measures for each
//   - the kubelet's CPU seconds over an idle period with -pods pods running;
//   - the latency from a container's exit to a watch seeing the pod status
//     show it, over -pods exits.
//
// The exit stamp is /proc/uptime written by the container just before it
// exits; the receive stamp is /proc/uptime read here. Node containers share
// the host's kernel, so both are on one clock. The logic is in
// internal/plegbench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kubenext/kubenext/internal/plegbench"
)

func main() {
	c := plegbench.Config{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.Node, "node", "", "worker node (its kind container has the same name)")
	flag.StringVar(&c.Image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.Namespace, "namespace", "plegbench", "namespace created and deleted by the run")
	flag.IntVar(&c.Pods, "pods", 100, "pods on the node, and exits measured, per mode")
	flag.DurationVar(&c.Idle, "idle", 5*time.Minute, "idle period over which the kubelet's CPU is measured")
	flag.DurationVar(&c.ExitInterval, "exit-interval", time.Second, "time between two timed exits; 200ms saturates a 2-vCPU machine, and then the queue is what is measured")
	flag.StringVar(&c.CSV, "csv", "", "write every timed exit (mode, pod, latency) to this CSV file")
	flag.Parse()
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "pleg:", err)
		os.Exit(2)
	}
	if err := plegbench.Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "pleg:", err)
		os.Exit(1)
	}
}
