// Command kubectl is upstream's kubectl plus kubenext's client commands:
// node-logs, whoami and resize.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	_ "github.com/kubenext/kubenext/pkg/features"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/nodelogs"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/resize"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/whoami"
)

func main() {
	// Verbosity must be known before the command tree is built, because
	// building it already logs (plugin lookup, .kuberc parsing).
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) //nolint:errcheck
	command := cmd.NewDefaultKubectlCommand()
	// The same commands ship as krew-style plugins (cmd/kubectl-*).
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	command.AddCommand(nodelogs.NewCmdNodeLogs(streams), whoami.NewCmdWhoAmI(streams), resize.NewCmdResize(streams))
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
