// Command kubectl-resize is the krew-style plugin form of "kubectl resize",
// from the same constructor as the command built into our kubectl.
package main

import (
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/resize"
	"github.com/kubenext/kubenext/pkg/kubectl/plugin"
)

func main() {
	plugin.Main(resize.NewCmdResize)
}
