// Command kubectl is upstream's kubectl plus kubenext's client commands:
// node-logs, whoami and resize.
package main

import (
	"os"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
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
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	// The same commands ship as krew-style plugins (cmd/kubectl-*).
	ours := []*cobra.Command{nodelogs.NewCmdNodeLogs(streams), whoami.NewCmdWhoAmI(streams), resize.NewCmdResize(streams)}

	opts := cmd.KubectlOptions{Arguments: os.Args, IOStreams: streams}
	// Upstream looks for a plugin whenever the command tree it built does
	// not know the command, and refuses flags before a plugin's name
	// ("kubectl --as x node-logs"). Ours are added after that lookup, so
	// skip it when one of them is named.
	if !slices.ContainsFunc(os.Args[1:], func(arg string) bool {
		return slices.ContainsFunc(ours, func(c *cobra.Command) bool { return c.Name() == arg })
	}) {
		opts.PluginHandler = cmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes)
	}
	command := cmd.NewDefaultKubectlCommandWithArgs(opts)
	command.AddCommand(ours...)
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
