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
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins
)

// Main builds the command on the process's streams and runs it. Ctrl-C
// cancels the context so a long-running command (--follow, --wait) stops
// cleanly and still reports its summary.
func Main(newCommand func(genericiooptions.IOStreams) *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		stop()
		os.Exit(1)
	}
}
