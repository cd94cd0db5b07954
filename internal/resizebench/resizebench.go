// Package resizebench is make bench-resize: on the kind cluster it compares
// an in-place resize with what a user does without one, on our kubelet and,
// in the same run, on upstream's (a worker of make cluster UPSTREAM_WORKERS):
//   - in place: the time from the resize patch to the container status
//     showing the new CPU limit, over -n resizes of one running pod;
//   - recreate: the time from deleting the pod to a new pod, carrying the
//     new resources, being Ready, over -n rounds.
//
// The kubelets take turns round by round, the first of each round
// alternating, so that a busy moment of the host falls on both. It writes
// a markdown table with the kubelets as columns and every sample as CSV.
package resizebench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/steps"
)

// Config is make bench-resize's flags.
type Config struct {
	Kubeconfig, Node, Image, Namespace string
	// UpstreamNode runs upstream's kubelet. "auto" takes the first node
	// labelled kubenext.io/kubelet=upstream and runs ours alone, saying
	// so, when there is none; "" runs ours alone.
	UpstreamNode string
	CSV          string // every sample; empty for none
	N            int    // resizes, and recreations, to time per kubelet
	// Stdout gets the table; Stderr the progress.
	Stdout, Stderr io.Writer
}

// Check refuses flags the benchmark cannot run with.
func (c Config) Check() error {
	if c.Kubeconfig == "" || c.Node == "" || c.Image == "" {
		return fmt.Errorf("-kubeconfig, -node and -image are required; run it with make bench-resize")
	}
	if c.N < 2 || c.N > 500 {
		return fmt.Errorf("-n must be 2..500")
	}
	if c.UpstreamNode == c.Node {
		return fmt.Errorf("-upstream-node %s is -node too: give the node of make cluster UPSTREAM_WORKERS=1, or auto", c.Node)
	}
	return nil
}

// target is one kubelet under test: its name in tables and the node it runs.
type target struct{ kubelet, node string }

// samples are one kubelet's timings.
type samples struct{ inPlace, recreate []time.Duration }

type bench struct {
	Config
	client  kubernetes.Interface
	steps   *steps.Steps
	targets []target
}

// Run times both methods on each kubelet in a namespace of its own,
// deleted at the end.
func Run(ctx context.Context, c Config) error {
	client, err := benchkube.Client(c.Kubeconfig)
	if err != nil {
		return err
	}
	b := &bench{Config: c, client: client, steps: &steps.Steps{Out: c.Stderr}}
	b.targets = []target{{"kubenext", c.Node}}
	upstream, err := benchkube.ResolveUpstreamNode(ctx, client, c.UpstreamNode, c.Stderr)
	if err != nil {
		return err
	}
	if upstream != "" {
		b.targets = append(b.targets, target{"upstream", upstream})
	}
	if err := b.steps.Run("Creating namespace "+c.Namespace, func() error { return b.freshNamespace(ctx) }); err != nil {
		return err
	}
	defer func() {
		_ = b.steps.Run("Deleting namespace "+c.Namespace, func() error { return b.deleteNamespace(context.Background()) })
	}()

	results := map[string]*samples{}
	for _, t := range b.targets {
		results[t.kubelet] = &samples{}
	}
	if err := b.steps.Run(fmt.Sprintf("Timing %d in-place resizes on each of %s", c.N, b.describeTargets()), func() error {
		return b.inPlace(ctx, results)
	}); err != nil {
		return err
	}
	if err := b.steps.Run(fmt.Sprintf("Timing %d delete-and-recreate rounds on each of %s", c.N, b.describeTargets()), func() error {
		return b.recreate(ctx, results)
	}); err != nil {
		return err
	}
	kubelets := b.kubelets()
	if err := writeCSV(c.CSV, kubelets, results); err != nil {
		return err
	}
	writeTable(c.Stdout, kubelets, results)
	return nil
}

func (b *bench) kubelets() []string {
	var out []string
	for _, t := range b.targets {
		out = append(out, t.kubelet)
	}
	return out
}

func (b *bench) describeTargets() string {
	var out []string
	for _, t := range b.targets {
		out = append(out, t.kubelet+" ("+t.node+")")
	}
	return strings.Join(out, ", ")
}

// inTurn is the order of the kubelets in round: the first alternates.
func (b *bench) inTurn(round int) []target {
	if round%2 == 0 || len(b.targets) < 2 {
		return b.targets
	}
	out := append([]target(nil), b.targets[1:]...)
	return append(out, b.targets[0])
}

func writeCSV(path string, kubelets []string, results map[string]*samples) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("kubelet,method,round,ms\n")
	for _, k := range kubelets {
		for i, d := range results[k].inPlace {
			fmt.Fprintf(&buf, "%s,in-place,%d,%.1f\n", k, i, benchstat.Millis(d))
		}
	}
	for _, k := range kubelets {
		for i, d := range results[k].recreate {
			fmt.Fprintf(&buf, "%s,recreate,%d,%.1f\n", k, i, benchstat.Millis(d))
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeTable has a row per method and, per kubelet, p50, p99 and the
// sample count.
func writeTable(w io.Writer, kubelets []string, results map[string]*samples) {
	fmt.Fprint(w, "| method |")
	for _, k := range kubelets {
		fmt.Fprintf(w, " %s p50 | %s p99 | %s samples |", k, k, k)
	}
	fmt.Fprint(w, "\n| --- |")
	for range kubelets {
		fmt.Fprint(w, " --- | --- | --- |")
	}
	fmt.Fprintln(w)
	for _, row := range []struct {
		name string
		of   func(*samples) []time.Duration
	}{
		{"in-place resize (patch to status)", func(s *samples) []time.Duration { return s.inPlace }},
		{"delete and recreate (delete to Ready)", func(s *samples) []time.Duration { return s.recreate }},
	} {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, k := range kubelets {
			d := row.of(results[k])
			fmt.Fprintf(w, " %.0f ms | %.0f ms | %d |", benchstat.Millis(benchstat.Percentile(d, 50)), benchstat.Millis(benchstat.Percentile(d, 99)), len(d))
		}
		fmt.Fprintln(w)
	}
}

// cpuShape is the pod's one container at a CPU limit; the request is half.
func cpuShape(limitMilli int64) v1.ResourceRequirements {
	return v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(limitMilli/2, resource.DecimalSI), v1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(limitMilli, resource.DecimalSI), v1.ResourceMemory: resource.MustParse("64Mi")},
	}
}

// limitFor alternates the limit so every round is a real change.
func limitFor(round int) int64 { return []int64{300, 200}[round%2] }

// resizePatch is the resize subresource patch to a CPU limit.
func resizePatch(limitMilli int64) []byte {
	return []byte(fmt.Sprintf(`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"%dm"},"limits":{"cpu":"%dm"}}}]}}`, limitMilli/2, limitMilli))
}

func (b *bench) pod(name, node string, res v1.ResourceRequirements) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "resizebench"}},
		Spec: v1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []v1.Container{{
				Name: "c", Image: b.Image, ImagePullPolicy: v1.PullNever,
				Command:   []string{"sleep", "100000"},
				Resources: res,
				ResizePolicy: []v1.ContainerResizePolicy{
					{ResourceName: v1.ResourceCPU, RestartPolicy: v1.NotRequired},
					{ResourceName: v1.ResourceMemory, RestartPolicy: v1.NotRequired},
				},
				// Ready means the process runs: no probe adds its period.
			}},
		},
	}
}

func (b *bench) inPlace(ctx context.Context, results map[string]*samples) error {
	pods := b.client.CoreV1().Pods(b.Namespace)
	for _, t := range b.targets {
		if _, err := pods.Create(ctx, b.pod("in-place-"+t.kubelet, t.node, cpuShape(200)), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, t := range b.targets {
		if err := b.waitReady(ctx, "in-place-"+t.kubelet); err != nil {
			return fmt.Errorf("%s kubelet on %s: %w", t.kubelet, t.node, err)
		}
	}
	for round := range b.N {
		limit := limitFor(round)
		for _, t := range b.inTurn(round) {
			d, err := b.resizeOnce(ctx, "in-place-"+t.kubelet, limit)
			if err != nil {
				return fmt.Errorf("%s kubelet on %s, resize round %d to %dm: %w", t.kubelet, t.node, round, limit, err)
			}
			results[t.kubelet].inPlace = append(results[t.kubelet].inPlace, d)
		}
	}
	return nil
}

// resizeOnce patches pod's CPU limit and times it until the status shows
// the new limit, on a watch opened before the patch.
func (b *bench) resizeOnce(ctx context.Context, pod string, limit int64) (time.Duration, error) {
	pods := b.client.CoreV1().Pods(b.Namespace)
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + pod})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	start := time.Now()
	if _, err := pods.Patch(ctx, pod, types.StrategicMergePatchType, resizePatch(limit), metav1.PatchOptions{}, "resize"); err != nil {
		return 0, err
	}
	if err := untilEvent(ctx, w, time.Minute, func(p *v1.Pod) bool { return statusLimitMilli(p) == limit }); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// statusLimitMilli is the CPU limit the kubelet reports the container
// runs with, -1 before it reports one.
func statusLimitMilli(p *v1.Pod) int64 {
	if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].Resources == nil {
		return -1
	}
	q, ok := p.Status.ContainerStatuses[0].Resources.Limits[v1.ResourceCPU]
	if !ok {
		return -1
	}
	return q.MilliValue()
}

func (b *bench) recreate(ctx context.Context, results map[string]*samples) error {
	pods := b.client.CoreV1().Pods(b.Namespace)
	current := map[string]string{}
	for _, t := range b.targets {
		current[t.kubelet] = "recreate-" + t.kubelet + "-0"
		if _, err := pods.Create(ctx, b.pod(current[t.kubelet], t.node, cpuShape(200)), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, t := range b.targets {
		if err := b.waitReady(ctx, current[t.kubelet]); err != nil {
			return fmt.Errorf("%s kubelet on %s: %w", t.kubelet, t.node, err)
		}
	}
	for round := range b.N {
		for _, t := range b.inTurn(round) {
			// What a controller does: the old pod goes, a new one with the
			// new resources comes, and the service is back when it is Ready.
			next := fmt.Sprintf("recreate-%s-%d", t.kubelet, round+1)
			start := time.Now()
			if err := pods.Delete(ctx, current[t.kubelet], metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				return err
			}
			if _, err := pods.Create(ctx, b.pod(next, t.node, cpuShape(limitFor(round))), metav1.CreateOptions{}); err != nil {
				return err
			}
			if err := b.waitReady(ctx, next); err != nil {
				return fmt.Errorf("%s kubelet on %s, recreate round %d: %w", t.kubelet, t.node, round, err)
			}
			results[t.kubelet].recreate = append(results[t.kubelet].recreate, time.Since(start))
			current[t.kubelet] = next
		}
	}
	return nil
}

func (b *bench) waitReady(ctx context.Context, name string) error {
	w, err := b.client.CoreV1().Pods(b.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return err
	}
	defer w.Stop()
	return untilEvent(ctx, w, 2*time.Minute, ready)
}

func ready(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

// untilEvent reads a pod watch until done holds for a pod it delivers.
func untilEvent(ctx context.Context, w watch.Interface, timeout time.Duration, done func(*v1.Pod) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not seen within %s", timeout)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch closed")
			}
			if p, ok := ev.Object.(*v1.Pod); ok && done(p) {
				return nil
			}
		}
	}
}

func (b *bench) freshNamespace(ctx context.Context) error {
	if _, err := b.client.CoreV1().Namespaces().Get(ctx, b.Namespace, metav1.GetOptions{}); err == nil {
		if err := b.deleteNamespace(ctx); err != nil {
			return err
		}
	}
	_, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.Namespace}}, metav1.CreateOptions{})
	return err
}

func (b *bench) deleteNamespace(ctx context.Context) error {
	return benchkube.DeleteNamespace(ctx, b.client, b.Namespace)
}
