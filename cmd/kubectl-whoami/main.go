// Command kubectl-whoami is the krew-style plugin form of "kubectl whoami": kubectl
// runs it for "kubectl whoami" when the command is not built in. It is the
// same command as the built-in one, from the same constructor.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec and OIDC credential plugins

	"github.com/kubenext/kubenext/pkg/kubectl/cmd/whoami"
)

func main() {
	// Ctrl-C cancels the context so a long-running command (--follow,
	// --wait) can stop cleanly and still report its summary.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := whoami.NewCmdWhoAmI(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
