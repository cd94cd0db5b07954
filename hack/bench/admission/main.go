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
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubenext/kubenext/internal/admissionbench"
	"github.com/kubenext/kubenext/internal/steps"
	"github.com/kubenext/kubenext/test/integration/controlplane"
)

type flags struct {
	rounds, creates, warmup, workers int
	seed                             uint64
	configs, csv                     string
	profile, profileDir              string
	profileSeconds                   int
	keep                             bool
}

func main() {
	var f flags
	flag.IntVar(&f.rounds, "rounds", 5, "rounds; each runs every configuration once, in a shuffled order")
	flag.IntVar(&f.creates, "creates", 2000, "timed ConfigMap creates per configuration per round")
	flag.IntVar(&f.warmup, "warmup", 100, "creates sent and discarded after each install, before timing")
	flag.IntVar(&f.workers, "workers", 8, "creates in flight")
	flag.Uint64Var(&f.seed, "seed", 1, "seed of the shuffled order")
	flag.StringVar(&f.configs, "configs", allIDs(), "comma-separated configurations to run")
	flag.StringVar(&f.csv, "csv", "docs/bench-admission.csv", "file for the raw samples (round, configuration, latency_us); empty for none")
	flag.StringVar(&f.profile, "profile", "", "comma-separated configurations to CPU-profile in the apiserver after the rounds, e.g. vap-10,none")
	flag.IntVar(&f.profileSeconds, "profile-seconds", 20, "length of each CPU profile, under load")
	flag.StringVar(&f.profileDir, "profile-dir", "_output/bench-admission", "where the profiles are written, as <configuration>.pprof")
	flag.BoolVar(&f.keep, "keep", false, "keep the control plane's directory (logs, etcd data) instead of removing it")
	flag.Parse()
	if f.rounds < 1 || f.creates < 1 || f.warmup < 0 || f.workers < 1 {
		fmt.Fprintln(os.Stderr, "admission: -rounds, -creates and -workers must be positive, -warmup not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(1)
	}
}

func allIDs() string {
	var ids []string
	for _, c := range admissionbench.Configurations() {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ",")
}

func run(ctx context.Context, f flags) (err error) {
	configs, err := admissionbench.SelectConfigurations(strings.Split(f.configs, ","))
	if err != nil {
		return err
	}
	var profiled []admissionbench.Configuration
	if f.profile != "" {
		if profiled, err = admissionbench.SelectConfigurations(strings.Split(f.profile, ",")); err != nil {
			return err
		}
	}
	progress := &steps.Steps{Out: os.Stderr}

	dir, err := os.MkdirTemp("", "kubenext-bench-admission-")
	if err != nil {
		return err
	}
	if f.keep {
		fmt.Fprintln(os.Stderr, "admission: control plane directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	opts, err := controlplane.OptionsFromEnv(dir)
	if err != nil {
		return err
	}
	var cp *controlplane.ControlPlane
	if err := progress.Run("Starting etcd and kube-apiserver", func() error {
		cp, err = controlplane.Start(ctx, opts)
		return err
	}); err != nil {
		return err
	}
	defer func() {
		if stopErr := cp.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping the control plane: %w", stopErr)
		}
	}()
	cfg, err := cp.AdminConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	webhook, err := admissionbench.StartWebhook()
	if err != nil {
		return err
	}
	defer webhook.Close()

	runner := &admissionbench.Runner{
		Client: client, Namespace: "admission-bench", Webhook: webhook,
		Workers: f.workers, Warmup: f.warmup, Creates: f.creates,
		EnforceTimeout: time.Minute, Steps: progress,
	}
	if err := runner.CreateNamespace(ctx); err != nil {
		return err
	}
	schedule := admissionbench.Schedule(configs, f.rounds, f.seed)
	samples, batches, err := runner.Run(ctx, schedule)
	if err != nil {
		return err
	}

	if f.csv != "" {
		if err := progress.Run("Writing "+f.csv, func() error { return writeCSV(f.csv, samples) }); err != nil {
			return err
		}
	}
	summaries := admissionbench.Summarize(configs, samples, batches)
	fmt.Printf("%d rounds x %d timed creates per configuration (after %d warm-up creates), %d in flight\n\n", f.rounds, f.creates, f.warmup, f.workers)
	if err := admissionbench.WriteTable(os.Stdout, summaries); err != nil {
		return err
	}
	if verdict, ok := admissionbench.Judge(summaries); ok {
		fmt.Println()
		if err := admissionbench.WriteVerdict(os.Stdout, verdict); err != nil {
			return err
		}
	}

	var runs []admissionbench.ProfiledRun
	for _, c := range profiled {
		path := filepath.Join(f.profileDir, c.ID+".pprof")
		err := progress.Run(fmt.Sprintf("CPU profile of the apiserver for %ds under %s", f.profileSeconds, c.Title()), func() error {
			fetch := func(ctx context.Context) ([]byte, error) {
				return client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
					Param("seconds", strconv.Itoa(f.profileSeconds)).DoRaw(ctx)
			}
			profile, creates, err := runner.Profile(ctx, c, fetch)
			if err != nil {
				return err
			}
			cpu, err := admissionbench.ParseProfileCPU(bytes.NewReader(profile))
			if err != nil {
				return err
			}
			runs = append(runs, admissionbench.ProfiledRun{Configuration: c, Creates: creates, CPU: cpu})
			progress.Note("%d creates during the profile; written to %s (go tool pprof -top %s)", creates, path, path)
			if err := os.MkdirAll(f.profileDir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(path, profile, 0o644)
		})
		if err != nil {
			return err
		}
	}
	if len(runs) > 0 {
		fmt.Printf("\nkube-apiserver CPU per create, from a %d s CPU profile of each configuration under the same load:\n\n", f.profileSeconds)
		return admissionbench.WriteCPUTable(os.Stdout, runs)
	}
	return nil
}

func writeCSV(path string, samples []admissionbench.Sample) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := admissionbench.WriteCSV(file, samples); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
