package admissionbench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/steps"
)

// ownedLabel marks every policy, binding and webhook configuration the
// benchmark installs, so that one DeleteCollection removes a configuration.
const ownedLabel = "admission-bench.kubenext.io/owned"

// Runner installs configurations on a running apiserver and times creates.
type Runner struct {
	Client    kubernetes.Interface
	Namespace string
	// Webhook serves the webhook configuration; nil if it is not run.
	Webhook *WebhookServer
	// Workers is the number of creates in flight; Warmup creates are sent
	// and discarded after each install, then Creates are timed.
	Workers, Warmup, Creates int
	// EnforceTimeout bounds the wait for a configuration to take effect
	// (or to stop taking effect) after it is installed (or removed).
	EnforceTimeout time.Duration
	Steps          *steps.Steps

	names atomic.Int64 // ConfigMap names are unique over the whole run
}

// CreateNamespace creates the labelled namespace the creates go to.
func (r *Runner) CreateNamespace(ctx context.Context) error {
	_, err := r.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: r.Namespace, Labels: map[string]string{NamespaceLabel: "true"}},
	}, metav1.CreateOptions{})
	return err
}

// Run runs the schedule and returns every timed create and batch.
func (r *Runner) Run(ctx context.Context, schedule [][]Configuration) ([]Sample, []Batch, error) {
	var samples []Sample
	var batches []Batch
	for roundIndex, round := range schedule {
		for _, c := range round {
			title := fmt.Sprintf("Round %d/%d: %s", roundIndex+1, len(schedule), c.Title())
			err := r.Steps.Run(title, func() error {
				latencies, wall, err := r.Measure(ctx, c)
				if err != nil {
					return err
				}
				for _, l := range latencies {
					samples = append(samples, Sample{Round: roundIndex + 1, Configuration: c.ID, Latency: l})
				}
				batches = append(batches, Batch{Round: roundIndex + 1, Configuration: c.ID, Creates: len(latencies), Wall: wall})
				r.Steps.Note("%d creates in %.2fs: p50 %s, p99 %s, %.0f creates/s; load average %s", len(latencies), wall.Seconds(),
					formatMillis(benchstat.Percentile(latencies, 50)), formatMillis(benchstat.Percentile(latencies, 99)), float64(len(latencies))/wall.Seconds(), loadAverage())
				return nil
			})
			if err != nil {
				return samples, batches, fmt.Errorf("%s: %w", title, err)
			}
		}
	}
	return samples, batches, nil
}

// Measure installs c, waits until it is enforced, warms up, times a batch,
// removes c and waits until it no longer applies, and deletes the
// ConfigMaps it created, so the next configuration starts from the same
// state.
func (r *Runner) Measure(ctx context.Context, c Configuration) ([]time.Duration, time.Duration, error) {
	if err := r.timed("installed and enforced", func() error { return r.install(ctx, c) }); err != nil {
		return nil, 0, err
	}
	if _, _, err := TimeConcurrently(ctx, r.Warmup, r.Workers, r.create); err != nil {
		return nil, 0, fmt.Errorf("warm-up: %w", err)
	}
	latencies, wall, err := TimeConcurrently(ctx, r.Creates, r.Workers, r.create)
	if err != nil {
		return nil, 0, err
	}
	if err := r.timed("removed, and ConfigMaps deleted", func() error {
		if err := r.uninstall(ctx, c); err != nil {
			return err
		}
		return r.deleteConfigMaps(ctx)
	}); err != nil {
		return nil, 0, err
	}
	return latencies, wall, nil
}

// Profile installs c and keeps Workers creates in flight while fetch
// (which takes a CPU profile of the apiserver) runs, then removes c.
func (r *Runner) Profile(ctx context.Context, c Configuration, fetch func(context.Context) ([]byte, error)) ([]byte, int, error) {
	if err := r.install(ctx, c); err != nil {
		return nil, 0, err
	}
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	var creates int
	var loadErr error
	go func() {
		defer close(loadDone)
		creates, loadErr = Load(ctx, stopLoad, r.Workers, r.create)
	}()
	profile, fetchErr := fetch(ctx)
	close(stopLoad)
	<-loadDone
	if fetchErr != nil {
		return nil, creates, fetchErr
	}
	if loadErr != nil {
		return nil, creates, loadErr
	}
	if err := r.uninstall(ctx, c); err != nil {
		return nil, creates, err
	}
	return profile, creates, r.deleteConfigMaps(ctx)
}

// loadAverage is the host's 1-minute load average: the machine is shared,
// and a batch timed while others compile shows it here.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if fields := strings.Fields(string(b)); err == nil && len(fields) > 0 {
		return fields[0]
	}
	return "unknown"
}

func (r *Runner) timed(what string, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	r.Steps.Note("%s in %.2fs", what, time.Since(start).Seconds())
	return nil
}

// create sends one benchmark ConfigMap. Every one must be admitted: a
// denial means the check or the objects are wrong, and the run stops.
func (r *Runner) create(ctx context.Context, _ int) error {
	name := fmt.Sprintf("cm-%07d", r.names.Add(1))
	_, err := r.Client.CoreV1().ConfigMaps(r.Namespace).Create(ctx, BenchConfigMap(name), metav1.CreateOptions{})
	return err
}

func (r *Runner) deleteConfigMaps(ctx context.Context) error {
	return r.Client.CoreV1().ConfigMaps(r.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: CheckLabel + "=" + PassValue})
}

var owned = map[string]string{ownedLabel: "true"}

func (r *Runner) install(ctx context.Context, c Configuration) error {
	reg := r.Client.AdmissionregistrationV1()
	create := metav1.CreateOptions{}
	switch c.Kind {
	case Validating:
		for i := range c.Policies {
			policy, binding := ValidatingPolicy(i)
			policy.Labels, binding.Labels = owned, owned
			if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, policy, create); err != nil {
				return err
			}
			if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, binding, create); err != nil {
				return err
			}
		}
	case Mutating:
		for i := range c.Policies {
			policy, binding := MutatingPolicy(i)
			policy.Labels, binding.Labels = owned, owned
			if _, err := reg.MutatingAdmissionPolicies().Create(ctx, policy, create); err != nil {
				return err
			}
			if _, err := reg.MutatingAdmissionPolicyBindings().Create(ctx, binding, create); err != nil {
				return err
			}
		}
	case Webhook:
		if r.Webhook == nil {
			return fmt.Errorf("%s: no webhook server", c.ID)
		}
		config := WebhookConfiguration(r.Webhook.URL, r.Webhook.CABundle)
		config.Labels = owned
		if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, config, create); err != nil {
			return err
		}
	}
	return r.waitUntil(ctx, c, true)
}

func (r *Runner) uninstall(ctx context.Context, c Configuration) error {
	reg := r.Client.AdmissionregistrationV1()
	del, sel := metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: ownedLabel + "=true"}
	var err error
	switch c.Kind {
	case Validating:
		if err = reg.ValidatingAdmissionPolicyBindings().DeleteCollection(ctx, del, sel); err == nil {
			err = reg.ValidatingAdmissionPolicies().DeleteCollection(ctx, del, sel)
		}
	case Mutating:
		if err = reg.MutatingAdmissionPolicyBindings().DeleteCollection(ctx, del, sel); err == nil {
			err = reg.MutatingAdmissionPolicies().DeleteCollection(ctx, del, sel)
		}
	case Webhook:
		err = reg.ValidatingWebhookConfigurations().DeleteCollection(ctx, del, sel)
	}
	if err != nil {
		return err
	}
	return r.waitUntil(ctx, c, false)
}

// waitUntil polls with server-side dry runs (nothing is stored) until
// every policy of c is enforced (enforced true) or none is (false). The
// apiserver learns of policies and webhook configurations through
// informers, some time after the create or delete returned.
func (r *Runner) waitUntil(ctx context.Context, c Configuration, enforced bool) error {
	if c.Kind == NoPolicy {
		return nil
	}
	configMaps := r.Client.CoreV1().ConfigMaps(r.Namespace)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	next := 0 // policies [0, next) are known to be in the wanted state; each stays so
	var last string
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, r.EnforceTimeout, true, func(ctx context.Context) (bool, error) {
		switch c.Kind {
		case Mutating:
			// One dry run shows every mutating policy at once.
			got, err := configMaps.Create(ctx, BenchConfigMap("probe"), dryRun)
			if err != nil {
				return false, err
			}
			for i := range c.Policies {
				if _, marked := got.Annotations[MutationAnnotation(i)]; marked != enforced {
					last = fmt.Sprintf("%s: annotation present = %v", PolicyName(c.Kind, i), marked)
					return false, nil
				}
			}
			return true, nil
		default:
			// Each validating policy denies only its own probe, and the
			// apiserver reports one denial per request: one probe each.
			for ; next < c.Policies; next++ {
				name := PolicyName(c.Kind, next)
				_, err := configMaps.Create(ctx, ProbeConfigMap(name), dryRun)
				denied := err != nil && (apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) && strings.Contains(err.Error(), name)
				if err != nil && !denied {
					return false, err
				}
				if denied != enforced {
					last = fmt.Sprintf("%s: probe denied = %v (%v)", name, denied, err)
					return false, nil
				}
			}
			return true, nil
		}
	})
	if err != nil {
		state := "enforced"
		if !enforced {
			state = "removed"
		}
		return fmt.Errorf("%s not %s after %s (last: %s): %w", c.ID, state, r.EnforceTimeout, last, err)
	}
	return nil
}
