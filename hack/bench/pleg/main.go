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

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/kubeletconfig"
	"github.com/kubenext/kubenext/internal/plegbench"
	"github.com/kubenext/kubenext/internal/steps"
)

type config struct {
	kubeconfig, node, image, namespace, csv string
	pods                                    int
	idle, exitInterval                      time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster")
	flag.StringVar(&c.node, "node", "", "worker node (its kind container has the same name)")
	flag.StringVar(&c.image, "image", "", "locally built test image (never pulled)")
	flag.StringVar(&c.namespace, "namespace", "plegbench", "namespace created and deleted by the run")
	flag.IntVar(&c.pods, "pods", 100, "pods on the node, and exits measured, per mode")
	flag.DurationVar(&c.idle, "idle", 5*time.Minute, "idle period over which the kubelet's CPU is measured")
	flag.DurationVar(&c.exitInterval, "exit-interval", time.Second, "time between two timed exits; 200ms saturates a 2-vCPU machine, and then the queue is what is measured")
	flag.StringVar(&c.csv, "csv", "", "write every timed exit (mode, pod, latency) to this CSV file")
	flag.Parse()
	if c.kubeconfig == "" || c.node == "" || c.image == "" {
		fmt.Fprintln(os.Stderr, "pleg: -kubeconfig, -node and -image are required; run it with make bench-pleg")
		os.Exit(2)
	}
	if c.exitInterval < 10*time.Millisecond || c.exitInterval > time.Minute {
		fmt.Fprintln(os.Stderr, "pleg: -exit-interval must be 10ms..1m")
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
	mode       string
	exitsRaw   []exitSample
	cpu        float64 // kubelet CPU seconds over the idle period
	runtimeCPU float64 // containerd's, over the same period
	profiled   plegbench.CPUShare
	p50, p99   time.Duration
	exits      int
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
		fmt.Fprintf(os.Stderr, "pleg: %s: kubelet CPU %.2f s over %s (PLEG %.2f s of %.2f s profiled), containerd %.2f s; exit-to-status p50 %v, p99 %v over %d exits\n",
			r.mode, r.cpu, c.idle, r.profiled.PLEG.Seconds(), r.profiled.Total.Seconds(), r.runtimeCPU, r.p50, r.p99, r.exits)
		results = append(results, r)
	}
	// Leave the node as make cluster made it.
	if err := b.setEventedPLEG(ctx, true); err != nil {
		return err
	}
	if err := writeExitsCSV(c.csv, results); err != nil {
		return err
	}
	fmt.Printf("| kubelet | pods | kubelet CPU over %s idle | of which PLEG (pprof) | containerd CPU | exit-to-status p50 | p99 | exits |\n", c.idle)
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		fmt.Printf("| %s | %d | %.2f s | %.2f s | %.2f s | %d ms | %d ms | %d |\n", r.mode, c.pods, r.cpu, r.profiled.PLEG.Seconds(), r.runtimeCPU, r.p50.Milliseconds(), r.p99.Milliseconds(), r.exits)
	}
	if len(results) == 2 && results[1].cpu > 0 {
		ev, gen := results[0], results[1]
		fmt.Printf("\nevented/generic: kubelet CPU %.2f, PLEG CPU %.2f, kubelet+containerd %.2f\n",
			ev.cpu/gen.cpu, ratio(ev.profiled.PLEG, gen.profiled.PLEG), (ev.cpu+ev.runtimeCPU)/(gen.cpu+gen.runtimeCPU))
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
		before, err := b.processCPU(ctx, "kubelet")
		if err != nil {
			return err
		}
		runtimeBefore, err := b.processCPU(ctx, "containerd")
		if err != nil {
			return err
		}
		// The window itself: back-to-back CPU profiles that cover it, so
		// the PLEG's own share can be told from the rest of the kubelet.
		if r.profiled, err = b.profileKubelet(ctx, b.idle); err != nil {
			return err
		}
		after, err := b.processCPU(ctx, "kubelet")
		if err != nil {
			return err
		}
		runtimeAfter, err := b.processCPU(ctx, "containerd")
		r.cpu, r.runtimeCPU = after-before, runtimeAfter-runtimeBefore
		return err
	})
	if err != nil {
		return r, err
	}
	if err := b.steps.Run("Deleting the idle pods", func() error { return b.deleteNamespace(ctx) }); err != nil {
		return r, err
	}
	err = b.steps.Run(fmt.Sprintf("Timing %d container exits", b.pods), func() error {
		samples, err := b.exitLatencies(ctx)
		lat := make([]time.Duration, len(samples))
		for i, e := range samples {
			lat[i] = e.latency
		}
		r.exitsRaw, r.exits = samples, len(lat)
		r.p50, r.p99 = benchstat.Percentile(lat, 50), benchstat.Percentile(lat, 99)
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

// processCPU reads utime+stime of a daemon in the node container.
func (b *bench) processCPU(ctx context.Context, daemon string) (float64, error) {
	stat, err := b.docker(ctx, nil, "sh", "-c", "cat /proc/$(pidof "+daemon+")/stat")
	if err != nil {
		return 0, err
	}
	return plegbench.ProcessCPU(stat, 100)
}

// profileKubelet takes back-to-back CPU profiles of the kubelet through the
// API server's node proxy until window is covered. One profile may last at
// most a minute: the kubelet's server refuses profiles longer than its
// write timeout.
func (b *bench) profileKubelet(ctx context.Context, window time.Duration) (plegbench.CPUShare, error) {
	var total plegbench.CPUShare
	for left := window; left > 0; {
		d := min(left, time.Minute)
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", b.node, "proxy/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
		if err != nil {
			return total, fmt.Errorf("CPU profile of the kubelet on %s: %w", b.node, err)
		}
		share, err := plegbench.PLEGShare(bytes.NewReader(raw))
		if err != nil {
			return total, err
		}
		total.Add(share)
		left -= d
	}
	return total, nil
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

// exitScript sleeps once until the host's uptime reaches deadline and then
// stamps its exit. One sleep, not a polling loop: a hundred shells forking
// cut and sleep twenty times a second saturate two cores, and the latency
// measured is then the machine's load rather than the kubelet's.
func exitScript(deadline float64) string {
	return fmt.Sprintf(`t=$(cut -d' ' -f1 /proc/uptime); sleep $(awk -v d=%.2f -v t="$t" 'BEGIN { s = d - t; if (s < 0) s = 0; print s }'); cat /proc/uptime > /dev/termination-log`, deadline)
}

// exitLatencies starts pods that exit at staggered moments (one every
// -exit-interval, once all have started) and records, for each, the time from its
// /proc/uptime stamp to the watch event showing it terminated.
func (b *bench) exitLatencies(ctx context.Context) ([]exitSample, error) {
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
		script := exitScript(float64(base) + float64(i)*b.exitInterval.Seconds())
		if _, err := b.client.CoreV1().Pods(b.namespace).Create(ctx, b.pod(fmt.Sprintf("exit-%03d", i), script), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	timeout := time.Duration(base+60-int(now.Seconds()))*time.Second + time.Duration(b.pods)*b.exitInterval
	return w.collect(ctx, b.pods, timeout)
}

func (b *bench) deleteNamespace(ctx context.Context) error {
	return benchkube.DeleteNamespace(ctx, b.client, b.namespace)
}

func hostUptime() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return plegbench.ParseUptime(string(raw))
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func writeExitsCSV(path string, results []result) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("mode,pod,exit_to_status_ms\n")
	for _, r := range results {
		mode := strings.Fields(r.mode)[0]
		for _, e := range r.exitsRaw {
			fmt.Fprintf(&buf, "%s,%s,%.1f\n", mode, e.pod, float64(e.latency.Microseconds())/1000)
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
