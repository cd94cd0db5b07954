// Package kubectl builds our kubectl: upstream's command tree with
// node-logs, whoami and resize added on kubectl's own connection flags, so
// they take its global flags (--kubeconfig, --context, -n, --as, ...) and
// its .kuberc preferences exactly like a built-in command.
package kubectl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/kuberc"

	"github.com/kubenext/kubenext/pkg/kubectl/cmd/nodelogs"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/resize"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/whoami"
)

// Options are what the main passes in.
type Options struct {
	// Arguments is the whole command line, program name first (os.Args).
	Arguments []string
	genericiooptions.IOStreams
}

// NewCommand returns the kubectl root command with our commands in it and
// the user's kuberc applied.
//
// Upstream applies kuberc at the end of building its tree, which is before
// our commands exist: their defaults would be skipped, aliases to them
// refused, and every other command would warn that the kuberc names an
// unknown command. So upstream is handed only the program name, which makes
// its pass a no-op, and kuberc is applied here once the tree is complete.
func NewCommand(o Options) (*cobra.Command, error) {
	// The same settings upstream gives its own default flags.
	configFlags := genericclioptions.NewConfigFlags(true).
		WithDeprecatedPasswordFlag().
		WithDiscoveryBurst(300).
		WithDiscoveryQPS(50.0).
		WithWarningPrinter(o.IOStreams)
	root := kubectlcmd.NewKubectlCommand(kubectlcmd.KubectlOptions{
		Arguments:   o.Arguments[:1],
		ConfigFlags: configFlags,
		IOStreams:   o.IOStreams,
	})
	f := cmdutil.NewFactory(matchVersionFlags(root, configFlags))
	root.AddCommand(
		nodelogs.NewCmdNodeLogs(f, o.IOStreams),
		whoami.NewCmdWhoAmI(f, o.IOStreams),
		resize.NewCmdResize(f, o.IOStreams),
	)
	if !cmdutil.KubeRC.IsDisabled() {
		if _, err := kuberc.NewPreferences().Apply(root, configFlags, o.Arguments, o.ErrOut); err != nil {
			return nil, fmt.Errorf("applying kuberc preferences: %w", err)
		}
	}
	return root, nil
}

// matchVersionFlags is the factory's view of kubectl's global
// --match-server-version. Upstream binds that flag to a MatchVersionFlags it
// keeps to itself, so the flag's value is wrapped to set ours as well; both
// factories then share one ConfigFlags and one flag.
func matchVersionFlags(root *cobra.Command, configFlags *genericclioptions.ConfigFlags) *cmdutil.MatchVersionFlags {
	ours := cmdutil.NewMatchVersionFlags(configFlags)
	if flag := root.PersistentFlags().Lookup("match-server-version"); flag != nil {
		flag.Value = alsoSet{Value: flag.Value, set: func(value string) {
			ours.RequireMatchedServerVersion, _ = strconv.ParseBool(value)
		}}
	}
	return ours
}

// alsoSet is a flag value that reports every value it takes to set.
type alsoSet struct {
	pflag.Value
	set func(string)
}

func (a alsoSet) Set(value string) error {
	if err := a.Value.Set(value); err != nil {
		return err
	}
	a.set(a.Value.String())
	return nil
}

// HandlePlugin runs a kubectl-* plugin named by args (the command line
// without the program name) when the tree has no command of that name, as
// upstream's NewDefaultKubectlCommandWithArgs does; it only returns when no
// plugin ran. It must see the complete tree, which is why it cannot be left
// to upstream: there the lookup would shadow our commands with a search for
// a kubectl-whoami binary.
func HandlePlugin(root *cobra.Command, handler kubectlcmd.PluginHandler, args []string) error {
	if len(args) == 0 {
		return nil
	}
	found, rest, err := root.Find(args)
	if err != nil {
		switch firstNonFlag(args) {
		case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return nil
		}
		return kubectlcmd.HandlePluginCommand(handler, args, 1)
	}
	// "kubectl create foo" may run a kubectl-create-foo plugin when create
	// has no subcommand foo.
	if !kubectlcmd.IsSubcommandPluginAllowed(found.Name()) || len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		return nil
	}
	for _, sub := range found.Commands() {
		if sub.Name() == rest[0] {
			return nil
		}
	}
	return kubectlcmd.HandlePluginCommand(handler, args, len(args)-len(rest)+1)
}

func firstNonFlag(args []string) string {
	for _, arg := range args {
		if !strings.HasPrefix(arg, "-") {
			return arg
		}
	}
	return ""
}
