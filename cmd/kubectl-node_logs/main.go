// Command kubectl-node_logs is the krew-style plugin form of "kubectl node-logs",
// from the same constructor as the command built into our kubectl.
package main

import (
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/nodelogs"
	"github.com/kubenext/kubenext/pkg/kubectl/plugin"
)

func main() {
	plugin.Main(nodelogs.NewCmdNodeLogs)
}
