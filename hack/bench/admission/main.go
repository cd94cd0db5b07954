// Command admission is make bench-admission: it starts a real etcd and our
// kube-apiserver on loopback (test/integration/controlplane) and times
// ConfigMap creates with no admission policy, with 1, 10 and 100
// ValidatingAdmissionPolicies, with 1 and 10 MutatingAdmissionPolicies, and
// with a validating webhook that does the same check, all configurations
// interleaved round by round. It prints a markdown table on stdout, writes
// every timed create to -csv, and reports progress on stderr. The logic is
// in internal/admissionbench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubenext/kubenext/internal/admissionbench"
)

func main() {
	o := admissionbench.Options{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.IntVar(&o.Rounds, "rounds", 5, "rounds; each runs every configuration once, in a shuffled order")
	flag.IntVar(&o.Creates, "creates", 2000, "timed ConfigMap creates per configuration per round")
	flag.IntVar(&o.Warmup, "warmup", 100, "creates sent and discarded after each install, before timing")
	flag.IntVar(&o.Workers, "workers", 8, "creates in flight")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the shuffled order")
	flag.StringVar(&o.Configs, "configs", admissionbench.AllIDs(), "comma-separated configurations to run")
	flag.StringVar(&o.CSV, "csv", "docs/bench-admission.csv", "file for the raw samples (round, configuration, latency_us); empty for none")
	flag.StringVar(&o.Profile, "profile", "", "comma-separated configurations to CPU-profile in the apiserver after the rounds, e.g. vap-10,none")
	flag.IntVar(&o.ProfileSeconds, "profile-seconds", 20, "length of each CPU profile, under load")
	flag.StringVar(&o.ProfileDir, "profile-dir", "_output/bench-admission", "where the profiles are written, as <configuration>.pprof")
	flag.BoolVar(&o.Keep, "keep", false, "keep the control plane's directory (logs, etcd data) instead of removing it")
	flag.Parse()
	if err := o.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := admissionbench.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(1)
	}
}
