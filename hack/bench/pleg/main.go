// Command pleg is make bench-pleg: on one worker of the kind cluster it
// runs the kubelet in evented mode and in generic mode, one after the
// other on the same node, and measures for each
//   - the kubelet's CPU seconds over an idle period with -pods pods running;
//   - the latency from a container's exit to a watch seeing the pod status
//     show it, over -pods exits.
//
// The exit stamp is /proc/uptime written by the container just before it
// exits; the receive stamp is /proc/uptime read here. Node containers share
// the host's kernel, so both are on one clock.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/kubeletconfig"
	"github.com/kubenext/kubenext/internal/plegbench"
	"github.com/kubenext/kubenext/internal/steps"
)

type config struct {
	kubeconfig, node, image, namespace string
	pods                               int
	idle                               time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.node, "node", "", "worker node (its kind container has the same name)")
	flag.StringVar(&c.image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.namespace, "namespace", "plegbench", "namespace created and deleted by the run")
	flag.IntVar(&c.pods, "pods", 100, "pods on the node, and exits measured, per mode")
	flag.DurationVar(&c.idle, "idle", 5*time.Minute, "idle period over which the kubelet's CPU is measured")
	flag.Parse()
	if c.kubeconfig == "" || c.node == "" || c.image == "" {
		fmt.Fprintln(os.Stderr, "pleg: -kubeconfig, -node and -image are required; run it with make bench-pleg")
		os.Exit(2)
	}
	if c.pods < 1 || c.pods > 105 {
		fmt.Fprintln(os.Stderr, "pleg: -pods must be 1..105: the node runs at most 110 pods, and its system pods count")
		os.Exit(2)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "pleg:", err)
		os.Exit(1)
	}
}

type result struct {
	mode     string
	cpu      float64 // kubelet CPU seconds over the idle period
	p50, p99 time.Duration
	exits    int
}

func run(ctx context.Context, c config) error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	progress := &steps.Steps{Out: os.Stderr}
	b := &bench{config: c, client: client, steps: progress}
	// A previous run that was interrupted leaves its namespace behind.
	if _, err := client.CoreV1().Namespaces().Get(ctx, c.namespace, metav1.GetOptions{}); err == nil {
		if err := progress.Run("Deleting namespace "+c.namespace+" left by an earlier run", func() error { return b.deleteNamespace(ctx) }); err != nil {
			return err
		}
	}
	var results []result
	for _, mode := range []struct {
		name    string
		evented bool
	}{{"evented (EventedPLEG=true)", true}, {"generic (EventedPLEG=false)", false}} {
		r, err := b.measure(ctx, mode.name, mode.evented)
		if err != nil {
			return fmt.Errorf("%s: %w", mode.name, err)
		}
		fmt.Fprintf(os.Stderr, "pleg: %s: kubelet CPU %.2f s over %s; exit-to-status p50 %v, p99 %v over %d exits\n", r.mode, r.cpu, c.idle, r.p50, r.p99, r.exits)
		results = append(results, r)
	}
	// Leave the node as make cluster made it.
	if err := b.setEventedPLEG(ctx, true); err != nil {
		return err
	}
	fmt.Printf("| kubelet | pods | kubelet CPU over %s idle | exit-to-status p50 | p99 | exits |\n| --- | --- | --- | --- | --- | --- |\n", c.idle)
	for _, r := range results {
		fmt.Printf("| %s | %d | %.2f s | %d ms | %d ms | %d |\n", r.mode, c.pods, r.cpu, r.p50.Milliseconds(), r.p99.Milliseconds(), r.exits)
	}
	return nil
}

type bench struct {
	config
	client kubernetes.Interface
	steps  *steps.Steps
}

func (b *bench) measure(ctx context.Context, name string, evented bool) (result, error) {
	r := result{mode: name}
	if err := b.steps.Run("Restarting the kubelet on "+b.node+" with "+name, func() error { return b.setEventedPLEG(ctx, evented) }); err != nil {
		return r, err
	}
	if err := b.steps.Run(fmt.Sprintf("Starting %d idle pods", b.pods), func() error { return b.startPods(ctx, "idle", "exec sleep 100000", 0) }); err != nil {
		return r, err
	}
	err := b.steps.Run(fmt.Sprintf("Measuring the kubelet's CPU over %s", b.idle), func() error {
		before, err := b.kubeletCPU(ctx)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.idle): // the measurement window itself
		}
		after, err := b.kubeletCPU(ctx)
		r.cpu = after - before
		return err
	})
	if err != nil {
		return r, err
	}
	if err := b.steps.Run("Deleting the idle pods", func() error { return b.deleteNamespace(ctx) }); err != nil {
		return r, err
	}
	err = b.steps.Run(fmt.Sprintf("Timing %d container exits", b.pods), func() error {
		lat, err := b.exitLatencies(ctx)
		r.exits = len(lat)
		r.p50, r.p99 = plegbench.Percentile(lat, 50), plegbench.Percentile(lat, 99)
		return err
	})
	if err != nil {
		return r, err
	}
	return r, b.steps.Run("Deleting the exited pods", func() error { return b.deleteNamespace(ctx) })
}

func (b *bench) docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"exec", "-i", b.node}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker exec %s %s: %w: %s", b.node, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (b *bench) setEventedPLEG(ctx context.Context, on bool) error {
	cfg, err := b.docker(ctx, nil, "cat", kubeletconfig.Path)
	if err != nil {
		return err
	}
	edited, err := kubeletconfig.SetGate([]byte(cfg), "EventedPLEG", on)
	if err != nil {
		return err
	}
	if _, err := b.docker(ctx, edited, "sh", "-c", "cat > "+kubeletconfig.Path+".new && mv "+kubeletconfig.Path+".new "+kubeletconfig.Path); err != nil {
		return err
	}
	if _, err := b.docker(ctx, nil, "systemctl", "restart", "kubelet"); err != nil {
		return err
	}
	want := "0"
	if on {
		want = "1"
	}
	// Ready again, and (for evented) in event mode, as its metric says.
	return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, false, func(ctx context.Context) (bool, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", b.node, "proxy/metrics").DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		mode, found := metricValue(string(raw), "kubelet_evented_pleg_mode")
		if !on {
			return !found || mode == "0", nil
		}
		return mode == want, nil
	})
}

func metricValue(text, name string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func (b *bench) kubeletCPU(ctx context.Context) (float64, error) {
	stat, err := b.docker(ctx, nil, "sh", "-c", "cat /proc/$(pidof kubelet)/stat")
	if err != nil {
		return 0, err
	}
	return plegbench.ProcessCPU(stat, 100)
}

func (b *bench) pod(name, script string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "plegbench"}},
		Spec: v1.PodSpec{
			NodeName:                      b.node,
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []v1.Container{{
				Name: "c", Image: b.image, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", script},
			}},
		},
	}
}

// startPods creates the namespace and -pods pods, and waits until all run
// (or, for exit pods, have at least started).
func (b *bench) startPods(ctx context.Context, prefix, script string, spread time.Duration) error {
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.namespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i := range b.pods {
		if _, err := b.client.CoreV1().Pods(b.namespace).Create(ctx, b.pod(fmt.Sprintf("%s-%03d", prefix, i), script), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, false, func(ctx context.Context) (bool, error) {
		pods, err := b.client.CoreV1().Pods(b.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		// A pod whose container failed to start (runc "unable to freeze"
		// on this host) ends Failed; it is settled, if not idle.
		settled := 0
		for _, p := range pods.Items {
			if p.Status.Phase != v1.PodPending {
				settled++
			}
		}
		return settled == b.pods, nil
	})
}

// exitLatencies starts pods that exit at staggered moments (five per
// second, once all have started) and records, for each, the time from its
// /proc/uptime stamp to the watch event showing it terminated.
func (b *bench) exitLatencies(ctx context.Context) ([]time.Duration, error) {
	now, err := hostUptime()
	if err != nil {
		return nil, err
	}
	base := int(now.Seconds()) + 60 + b.pods/2 // after all have started
	w, err := b.watchPods(ctx)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// Created at 10 per second rather than all at once: a burst of runc
	// starts is what makes some of them fail on this host.
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i := range b.pods {
		<-pace.C
		deadline := base + i/5
		script := "while [ $(cut -d. -f1 /proc/uptime) -lt " + strconv.Itoa(deadline) + " ]; do sleep 0.05; done; cat /proc/uptime > /dev/termination-log"
		if _, err := b.client.CoreV1().Pods(b.namespace).Create(ctx, b.pod(fmt.Sprintf("exit-%03d", i), script), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	timeout := time.Duration(base+b.pods/5+60-int(now.Seconds())) * time.Second
	return w.collect(ctx, b.pods, timeout)
}

func (b *bench) deleteNamespace(ctx context.Context) error {
	if err := b.client.CoreV1().Namespaces().Delete(ctx, b.namespace, metav1.DeleteOptions{}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, false, func(ctx context.Context) (bool, error) {
		_, err := b.client.CoreV1().Namespaces().Get(ctx, b.namespace, metav1.GetOptions{})
		return err != nil, nil
	})
}

func hostUptime() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return plegbench.ParseUptime(string(raw))
}
