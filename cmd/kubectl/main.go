// Command kubectl is upstream's kubectl plus kubenext's client commands:
// node-logs, whoami and resize.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	"k8s.io/kubectl/pkg/cmd/util"

	_ "github.com/kubenext/kubenext/pkg/features"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/kubectl"
)

func main() {
	// Verbosity must be known before the command tree is built, because
	// building it already logs (plugin lookup, .kuberc parsing).
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) //nolint:errcheck
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	command, err := kubectl.NewCommand(kubectl.Options{Arguments: os.Args, IOStreams: streams})
	if err != nil {
		util.CheckErr(err)
	}
	// kubectl-* executables on $PATH run as they would under upstream's
	// kubectl; ours ship that way too (cmd/kubectl-*).
	if err := kubectl.HandlePlugin(command, kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes), os.Args[1:]); err != nil {
		fmt.Fprintf(streams.ErrOut, "Error: %v\n", err)
		os.Exit(1)
	}
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
