// Command kubenext-probe requests a URL at a steady rate until it is
// stopped, one JSON line per request; make machines-upgrade runs it on a
// machine to watch a Service through the whole roll.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubenext/kubenext/internal/probe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o probe.Options
	var out string
	cmd := &cobra.Command{
		Use: "kubenext-probe", Short: "Request a URL at a steady rate, recording every answer", Args: cobra.NoArgs, SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			if err := probe.Run(cmd.Context(), o, f); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&o.URL, "url", "", "URL to request")
	cmd.Flags().IntVar(&o.Rate, "rate", 10, "requests a second")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Second, "per request")
	cmd.Flags().StringVar(&out, "out", "probe.jsonl", "file the results are appended to")
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kubenext-probe:", err)
		stop()
		os.Exit(1)
	}
}
