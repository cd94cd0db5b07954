package admissionbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/steps"
	"github.com/kubenext/kubenext/test/integration/controlplane"
)

// Options are make bench-admission's flags.
type Options struct {
	Rounds, Creates, Warmup, Workers int
	Seed                             uint64
	// Configs and Profile are comma-separated configuration IDs: those
	// timed, and those CPU-profiled after the rounds.
	Configs, Profile string
	// CSV receives every timed create; empty for none.
	CSV            string
	ProfileSeconds int
	ProfileDir     string
	// Keep leaves the control plane's directory (logs, etcd data).
	Keep bool
	// Stdout gets the tables; Stderr the progress.
	Stdout, Stderr io.Writer
}

// AllIDs is every configuration, the default of -configs.
func AllIDs() string {
	var ids []string
	for _, c := range Configurations() {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ",")
}

// Check refuses counts the benchmark cannot run with, before anything is
// started.
func (o Options) Check() error {
	if o.Rounds < 1 || o.Creates < 1 || o.Warmup < 0 || o.Workers < 1 {
		return fmt.Errorf("-rounds, -creates and -workers must be positive, -warmup not negative")
	}
	return nil
}

// Run is the whole benchmark: a control plane of its own on loopback, the
// timed rounds, the tables, then the profiles.
func Run(ctx context.Context, o Options) (err error) {
	configs, err := SelectConfigurations(strings.Split(o.Configs, ","))
	if err != nil {
		return err
	}
	var profiled []Configuration
	if o.Profile != "" {
		if profiled, err = SelectConfigurations(strings.Split(o.Profile, ",")); err != nil {
			return err
		}
	}
	progress := &steps.Steps{Out: o.Stderr}

	dir, err := os.MkdirTemp("", "kubenext-bench-admission-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintln(o.Stderr, "admission: control plane directory", dir)
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

	webhook, err := StartWebhook()
	if err != nil {
		return err
	}
	defer webhook.Close()

	runner := &Runner{
		Client: client, Namespace: "admission-bench", Webhook: webhook,
		Workers: o.Workers, Warmup: o.Warmup, Creates: o.Creates,
		EnforceTimeout: time.Minute, Steps: progress,
	}
	if err := runner.CreateNamespace(ctx); err != nil {
		return err
	}
	samples, batches, err := runner.Run(ctx, Schedule(configs, o.Rounds, o.Seed))
	if err != nil {
		return err
	}
	if o.CSV != "" {
		if err := progress.Run("Writing "+o.CSV, func() error { return writeCSVFile(o.CSV, samples) }); err != nil {
			return err
		}
	}
	if err := o.writeSummary(Summarize(configs, samples, batches)); err != nil {
		return err
	}

	var runs []ProfiledRun
	for _, c := range profiled {
		err := progress.Run(fmt.Sprintf("CPU profile of the apiserver for %ds under %s", o.ProfileSeconds, c.Title()), func() error {
			fetch := func(ctx context.Context) ([]byte, error) {
				return client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
					Param("seconds", strconv.Itoa(o.ProfileSeconds)).DoRaw(ctx)
			}
			profile, creates, err := runner.Profile(ctx, c, fetch)
			if err != nil {
				return err
			}
			run, path, err := o.keepProfile(c, profile, creates)
			if err != nil {
				return err
			}
			runs = append(runs, run)
			progress.Note("%d creates during the profile; written to %s (go tool pprof -top %s)", creates, path, path)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return o.writeProfiles(runs)
}

// writeSummary is the latency table and, when the configurations it needs
// ran, the verdict on the targets.
func (o Options) writeSummary(summaries []Summary) error {
	fmt.Fprintf(o.Stdout, "%d rounds x %d timed creates per configuration (after %d warm-up creates), %d in flight\n\n", o.Rounds, o.Creates, o.Warmup, o.Workers)
	if err := WriteTable(o.Stdout, summaries); err != nil {
		return err
	}
	if verdict, ok := Judge(summaries); ok {
		fmt.Fprintln(o.Stdout)
		return WriteVerdict(o.Stdout, verdict)
	}
	return nil
}

// keepProfile attributes one configuration's profile and writes it to
// ProfileDir for go tool pprof.
func (o Options) keepProfile(c Configuration, profile []byte, creates int) (ProfiledRun, string, error) {
	cpu, err := benchstat.CPUShare(bytes.NewReader(profile), AdmissionPackages)
	if err != nil {
		return ProfiledRun{}, "", err
	}
	path := filepath.Join(o.ProfileDir, c.ID+".pprof")
	if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
		return ProfiledRun{}, "", err
	}
	return ProfiledRun{Configuration: c, Creates: creates, CPU: cpu}, path, os.WriteFile(path, profile, 0o644)
}

func (o Options) writeProfiles(runs []ProfiledRun) error {
	if len(runs) == 0 {
		return nil
	}
	fmt.Fprintf(o.Stdout, "\nkube-apiserver CPU per create, from a %d s CPU profile of each configuration under the same load:\n\n", o.ProfileSeconds)
	return WriteCPUTable(o.Stdout, runs)
}

func writeCSVFile(path string, samples []Sample) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteCSV(file, samples); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
