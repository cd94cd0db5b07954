// Command resize is make bench-resize: on the kind cluster it compares an
// in-place resize with deleting and recreating the pod, on our kubelet and
// on upstream's. The logic is in
// internal/resizebench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/resizebench"
)

func main() {
	c := resizebench.Config{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.Node, "node", "", "node the pods run on")
	flag.StringVar(&c.Image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.UpstreamNode, "upstream-node", benchkube.Auto, "node running upstream's kubelet, timed in the same run; auto: the first labelled kubenext.io/kubelet=upstream, if any; empty: ours alone")
	flag.StringVar(&c.Namespace, "namespace", "resizebench", "namespace created and deleted by the run")
	flag.StringVar(&c.CSV, "csv", "", "write every sample (method, round, ms) to this CSV file")
	flag.IntVar(&c.N, "n", 50, "resizes, and recreations, to time")
	flag.Parse()
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "resize:", err)
		os.Exit(2)
	}
	if err := resizebench.Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "resize:", err)
		os.Exit(1)
	}
}
