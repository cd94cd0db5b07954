// Command pleg is make bench-pleg: on two workers of the kind cluster, one
// running our kubelet and one upstream's (make cluster UPSTREAM_WORKERS=1),
// it runs both kubelets evented, then both generic, every phase on both
// nodes at once, and measures for each
//   - the runtime calls a relist makes (ListPodSandbox, ListContainers,
//     PodSandboxStatus, ContainerStatus), the PLEG's CPU (pprof) and the
//     kubelet's and containerd's CPU over an idle period with -pods pods;
//   - the latency from a container's exit to a watch seeing the pod status
//     show it, over -exits exits among -few-pods pods, and over -pods exits
//     among -pods pods.
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

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/plegbench"
)

func main() {
	c := plegbench.Config{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.Node, "node", "", "worker running our kubelet (its kind container has the same name)")
	flag.StringVar(&c.UpstreamNode, "upstream-node", benchkube.Auto, "worker running upstream's kubelet; auto: the first labelled kubenext.io/kubelet=upstream, if any; empty: ours alone")
	flag.StringVar(&c.Image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.Namespace, "namespace", "plegbench", "namespace prefix; one namespace per kubelet, created and deleted by the run")
	flag.IntVar(&c.Pods, "pods", 100, "idle pods on each node, and exits timed among as many pods")
	flag.IntVar(&c.FewPods, "few-pods", 20, "pods the first exit round runs among")
	flag.IntVar(&c.Exits, "exits", 100, "exits timed among -few-pods pods (their containers exit one at a time)")
	flag.DurationVar(&c.Idle, "idle", 5*time.Minute, "idle period over which runtime calls and CPU are measured")
	flag.DurationVar(&c.ExitInterval, "exit-interval", time.Second, "time between two timed exits on one node; 200ms saturates a 2-vCPU machine, and then the queue is what is measured")
	flag.StringVar(&c.CSV, "csv", "", "write every timed exit (kubelet, mode, pods, container, latency) to this CSV file")
	flag.StringVar(&c.IdleCSV, "idle-csv", "", "write every idle measure (kubelet, mode, measure, value) to this CSV file")
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
