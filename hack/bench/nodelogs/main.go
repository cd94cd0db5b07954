// Command nodelogs is make bench-nodelogs: node log queries over journals
// of -lines lines on every node of the kind cluster, in process, through
// the kubelets' journalctl, and with journalctl run in the nodes. The
// logic is in internal/nodelogsbench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/nodelogsbench"
	"github.com/kubenext/kubenext/internal/nodes"
)

func main() {
	c := nodelogsbench.Config{Stdout: os.Stdout, Provider: nodes.Docker()}
	csvPath := flag.String("csv", "", "file for one CSV row per round and method (default: stdout)")
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.Cluster, "cluster", "kubenext", "kind cluster name")
	flag.StringVar(&c.Kubectl, "kubectl", "", "our kubectl (with node-logs)")
	flag.IntVar(&c.Lines, "lines", 100000, "journal lines written on each node")
	flag.IntVar(&c.Rounds, "rounds", 3, "rounds; each runs every method once")
	flag.Parse()
	c.CSV = os.Stdout
	if *csvPath != "" {
		f, err := os.Create(*csvPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nodelogs:", err)
			os.Exit(2)
		}
		defer f.Close()
		c.CSV = f
	}
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "nodelogs:", err)
		os.Exit(2)
	}
	if err := nodelogsbench.Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "nodelogs:", err)
		os.Exit(1)
	}
}
