// Package plugin runs one of our kubectl commands as a krew-style plugin
// binary (kubectl-node_logs, kubectl-whoami, kubectl-resize).
package plugin

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// NewCommandFunc is the constructor every one of our commands has, the same
// one cmd/kubectl calls with kubectl's own factory.
type NewCommandFunc func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command

// NewCommand builds the command on a factory of its own. A plugin binary has
// no kubectl root around it, so it carries the connection flags kubectl would
// otherwise provide (--kubeconfig, --context, -n, --as, ...).
func NewCommand(newCommand NewCommandFunc, streams genericiooptions.IOStreams) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true).WithWarningPrinter(streams)
	matchVersionFlags := cmdutil.NewMatchVersionFlags(configFlags)
	cmd := newCommand(cmdutil.NewFactory(matchVersionFlags), streams)
	configFlags.AddFlags(cmd.PersistentFlags())
	matchVersionFlags.AddFlags(cmd.PersistentFlags())
	return cmd
}

// Main builds the command on the process's streams and runs it. Ctrl-C
// cancels the context so a long-running command (--follow, --wait) stops
// cleanly and still reports its summary.
func Main(newCommand NewCommandFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewCommand(newCommand, genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		stop()
		os.Exit(1)
	}
}
