// Command kubectl-whoami is the krew-style plugin form of "kubectl whoami",
// from the same constructor as the command built into our kubectl.
package main

import (
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/whoami"
	"github.com/kubenext/kubenext/pkg/kubectl/plugin"
)

func main() {
	plugin.Main(whoami.NewCmdWhoAmI)
}
