// Package resizebench is make bench-resize: on the kind cluster it compares
// an in-place resize with what a user does without one.
//   - in place: the time from the resize patch to the container status
//     showing the new CPU limit, over -n resizes of one running pod;
//   - recreate: the time from deleting the pod to a new pod, carrying the
//     new resources, being Ready, over -n rounds.
//
// It writes a markdown table and every sample as CSV.
package resizebench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
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
	CSV                                string // every sample; empty for none
	N                                  int    // resizes, and recreations, to time
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
	return nil
}

type bench struct {
	Config
	client kubernetes.Interface
	steps  *steps.Steps
}

// Run times both methods in a namespace of its own, deleted at the end.
func Run(ctx context.Context, c Config) error {
	client, err := benchkube.Client(c.Kubeconfig)
	if err != nil {
		return err
	}
	b := &bench{Config: c, client: client, steps: &steps.Steps{Out: c.Stderr}}
	if err := b.steps.Run("Creating namespace "+c.Namespace, func() error { return b.freshNamespace(ctx) }); err != nil {
		return err
	}
	defer func() {
		_ = b.steps.Run("Deleting namespace "+c.Namespace, func() error { return b.deleteNamespace(context.Background()) })
	}()

	var inPlace, recreate []time.Duration
	if err := b.steps.Run(fmt.Sprintf("Timing %d in-place resizes", c.N), func() error {
		inPlace, err = b.inPlace(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := b.steps.Run(fmt.Sprintf("Timing %d delete-and-recreate rounds", c.N), func() error {
		recreate, err = b.recreate(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := writeCSV(c.CSV, inPlace, recreate); err != nil {
		return err
	}
	writeTable(c.Stdout, inPlace, recreate)
	return nil
}

func writeCSV(path string, inPlace, recreate []time.Duration) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("method,round,ms\n")
	for i, d := range inPlace {
		fmt.Fprintf(&buf, "in-place,%d,%.1f\n", i, benchstat.Millis(d))
	}
	for i, d := range recreate {
		fmt.Fprintf(&buf, "recreate,%d,%.1f\n", i, benchstat.Millis(d))
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func writeTable(w io.Writer, inPlace, recreate []time.Duration) {
	fmt.Fprintf(w, "| method | samples | p50 | p99 | max |\n| --- | --- | --- | --- | --- |\n")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"in-place resize (patch to status)", inPlace}, {"delete and recreate (delete to Ready)", recreate}} {
		fmt.Fprintf(w, "| %s | %d | %.0f ms | %.0f ms | %.0f ms |\n", row.name, len(row.d),
			benchstat.Millis(benchstat.Percentile(row.d, 50)), benchstat.Millis(benchstat.Percentile(row.d, 99)), benchstat.Millis(benchstat.Percentile(row.d, 100)))
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

func (b *bench) pod(name string, res v1.ResourceRequirements) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "resizebench"}},
		Spec: v1.PodSpec{
			NodeName:                      b.Node,
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

func (b *bench) inPlace(ctx context.Context) ([]time.Duration, error) {
	pods := b.client.CoreV1().Pods(b.Namespace)
	if _, err := pods.Create(ctx, b.pod("in-place", cpuShape(200)), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := b.waitReady(ctx, "in-place"); err != nil {
		return nil, err
	}
	var out []time.Duration
	for round := range b.N {
		limit := limitFor(round)
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=in-place"})
		if err != nil {
			return out, err
		}
		start := time.Now()
		if _, err := pods.Patch(ctx, "in-place", types.StrategicMergePatchType, resizePatch(limit), metav1.PatchOptions{}, "resize"); err != nil {
			w.Stop()
			return out, fmt.Errorf("resize round %d: %w", round, err)
		}
		err = untilEvent(ctx, w, time.Minute, func(p *v1.Pod) bool { return statusLimitMilli(p) == limit })
		elapsed := time.Since(start)
		w.Stop()
		if err != nil {
			return out, fmt.Errorf("resize round %d to %dm: %w", round, limit, err)
		}
		out = append(out, elapsed)
	}
	return out, nil
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

func (b *bench) recreate(ctx context.Context) ([]time.Duration, error) {
	pods := b.client.CoreV1().Pods(b.Namespace)
	current := "recreate-0"
	if _, err := pods.Create(ctx, b.pod(current, cpuShape(200)), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := b.waitReady(ctx, current); err != nil {
		return nil, err
	}
	var out []time.Duration
	for round := range b.N {
		// What a controller does: the old pod goes, a new one with the new
		// resources comes, and the service is back when it is Ready.
		next := fmt.Sprintf("recreate-%d", round+1)
		start := time.Now()
		if err := pods.Delete(ctx, current, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			return out, err
		}
		if _, err := pods.Create(ctx, b.pod(next, cpuShape(limitFor(round))), metav1.CreateOptions{}); err != nil {
			return out, err
		}
		if err := b.waitReady(ctx, next); err != nil {
			return out, fmt.Errorf("recreate round %d: %w", round, err)
		}
		out = append(out, time.Since(start))
		current = next
	}
	return out, nil
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
