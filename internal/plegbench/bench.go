package plegbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/benchkube"
	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/kubeletconfig"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
)

// Config is make bench-pleg's flags.
type Config struct {
	Kubeconfig string
	// Node is the worker measured; its kind container has the same name.
	Node      string
	Image     string // locally built test image, never pulled
	Namespace string
	CSV       string // every timed exit; empty for none
	// Pods run on the node, and exits are timed, per mode.
	Pods               int
	Idle, ExitInterval time.Duration
	// Stdout gets the table; Stderr the progress.
	Stdout, Stderr io.Writer
}

// Check refuses flags the benchmark cannot run with.
func (c Config) Check() error {
	if c.Kubeconfig == "" || c.Node == "" || c.Image == "" {
		return fmt.Errorf("-kubeconfig, -node and -image are required; run it with make bench-pleg")
	}
	if c.ExitInterval < 10*time.Millisecond || c.ExitInterval > time.Minute {
		return fmt.Errorf("-exit-interval must be 10ms..1m")
	}
	if c.Pods < 1 || c.Pods > 105 {
		return fmt.Errorf("-pods must be 1..105: the node runs at most 110 pods, and its system pods count")
	}
	return nil
}

// result is one mode's measurements.
type result struct {
	mode       string
	exitsRaw   []exitSample
	cpu        float64 // kubelet CPU seconds over the idle period
	runtimeCPU float64 // containerd's, over the same period
	// profiled is the kubelet's profiled CPU; Matched is the PLEG's.
	profiled benchstat.Share
	p50, p99 time.Duration
	exits    int
}

// Run measures the kubelet in evented mode, then in generic mode, on the
// same node, and leaves it evented as make cluster made it.
func Run(ctx context.Context, c Config) error {
	client, err := benchkube.Client(c.Kubeconfig)
	if err != nil {
		return err
	}
	progress := &steps.Steps{Out: c.Stderr}
	b := &bench{Config: c, client: client, node: nodes.Docker().Node(c.Node), steps: progress, uptime: hostUptime}
	// A previous run that was interrupted leaves its namespace behind.
	if _, err := client.CoreV1().Namespaces().Get(ctx, c.Namespace, metav1.GetOptions{}); err == nil {
		if err := progress.Run("Deleting namespace "+c.Namespace+" left by an earlier run", func() error { return b.deleteNamespace(ctx) }); err != nil {
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
		fmt.Fprintf(c.Stderr, "pleg: %s: kubelet CPU %.2f s over %s (PLEG %.2f s of %.2f s profiled), containerd %.2f s; exit-to-status p50 %v, p99 %v over %d exits\n",
			r.mode, r.cpu, c.Idle, r.profiled.Matched.Seconds(), r.profiled.Total.Seconds(), r.runtimeCPU, r.p50, r.p99, r.exits)
		results = append(results, r)
	}
	if err := b.setEventedPLEG(ctx, true); err != nil {
		return err
	}
	if err := writeExitsCSV(c.CSV, results); err != nil {
		return err
	}
	writeTable(c.Stdout, c, results)
	return nil
}

type bench struct {
	Config
	client kubernetes.Interface
	// node runs commands in the node's container.
	node  exec.Cmder
	steps *steps.Steps
	// uptime is the host's /proc/uptime, the clock exits are stamped on.
	uptime func() (time.Duration, error)
}

func (b *bench) measure(ctx context.Context, name string, evented bool) (result, error) {
	r := result{mode: name}
	if err := b.steps.Run("Restarting the kubelet on "+b.Node+" with "+name, func() error { return b.setEventedPLEG(ctx, evented) }); err != nil {
		return r, err
	}
	if err := b.steps.Run(fmt.Sprintf("Starting %d idle pods", b.Pods), func() error { return b.startPods(ctx, "idle", "exec sleep 100000") }); err != nil {
		return r, err
	}
	err := b.steps.Run(fmt.Sprintf("Measuring the kubelet's CPU over %s", b.Idle), func() error {
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
		if r.profiled, err = b.profileKubelet(ctx, b.Idle); err != nil {
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
	err = b.steps.Run(fmt.Sprintf("Timing %d container exits", b.Pods), func() error {
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

// inNode runs a command in the node and returns what it printed.
func (b *bench) inNode(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := b.node.Command(ctx, args[0], args[1:]...)
	if stdin != nil {
		cmd.SetStdin(bytes.NewReader(stdin))
	}
	out, err := exec.CombinedOutput(cmd)
	return string(out), err
}

// writeGate turns EventedPLEG on or off in the node's kubelet
// configuration and restarts the kubelet.
func (b *bench) writeGate(ctx context.Context, on bool) error {
	cfg, err := b.inNode(ctx, nil, "cat", kubeletconfig.Path)
	if err != nil {
		return err
	}
	edited, err := kubeletconfig.SetGate([]byte(cfg), "EventedPLEG", on)
	if err != nil {
		return err
	}
	// Written beside and renamed, so a kubelet restarting on its own never
	// reads half a file.
	if _, err := b.inNode(ctx, edited, "sh", "-c", "cat > "+kubeletconfig.Path+".new && mv "+kubeletconfig.Path+".new "+kubeletconfig.Path); err != nil {
		return err
	}
	_, err = b.inNode(ctx, nil, "systemctl", "restart", "kubelet")
	return err
}

func (b *bench) setEventedPLEG(ctx context.Context, on bool) error {
	if err := b.writeGate(ctx, on); err != nil {
		return err
	}
	// Ready again, and (for evented) in event mode, as its metric says.
	return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, false, func(ctx context.Context) (bool, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", b.Node, "proxy/metrics").DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		return inMode(string(raw), on), nil
	})
}

// inMode tells from the kubelet's metrics whether it runs the PLEG mode
// asked for: evented says so in kubelet_evented_pleg_mode; generic either
// says 0 or, with the gate off, has no such metric.
func inMode(metrics string, evented bool) bool {
	mode, found := metricValue(metrics, "kubelet_evented_pleg_mode")
	if !evented {
		return !found || mode == "0"
	}
	return mode == "1"
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
	stat, err := b.inNode(ctx, nil, "sh", "-c", "cat /proc/$(pidof "+daemon+")/stat")
	if err != nil {
		return 0, err
	}
	return ProcessCPU(stat, 100)
}

// profileKubelet takes back-to-back CPU profiles of the kubelet through the
// API server's node proxy until window is covered. One profile may last at
// most a minute: the kubelet's server refuses profiles longer than its
// write timeout.
func (b *bench) profileKubelet(ctx context.Context, window time.Duration) (benchstat.Share, error) {
	return profileWindow(window, func(d time.Duration) ([]byte, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", b.Node, "proxy/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("CPU profile of the kubelet on %s: %w", b.Node, err)
		}
		return raw, nil
	})
}

// profileWindow covers window with profiles of at most a minute each and
// sums their PLEG shares.
func profileWindow(window time.Duration, fetch func(time.Duration) ([]byte, error)) (benchstat.Share, error) {
	var total benchstat.Share
	for left := window; left > 0; {
		d := min(left, time.Minute)
		raw, err := fetch(d)
		if err != nil {
			return total, err
		}
		share, err := benchstat.CPUShare(bytes.NewReader(raw), PLEGPackages)
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
			NodeName:                      b.Node,
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []v1.Container{{
				Name: "c", Image: b.Image, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", script},
			}},
		},
	}
}

// startPods creates the namespace and -pods pods, and waits until all run
// (or, for exit pods, have at least started).
func (b *bench) startPods(ctx context.Context, prefix, script string) error {
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.Namespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i := range b.Pods {
		if _, err := b.client.CoreV1().Pods(b.Namespace).Create(ctx, b.pod(fmt.Sprintf("%s-%03d", prefix, i), script), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, false, func(ctx context.Context) (bool, error) {
		pods, err := b.client.CoreV1().Pods(b.Namespace).List(ctx, metav1.ListOptions{})
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
		return settled == b.Pods, nil
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
	now, err := b.uptime()
	if err != nil {
		return nil, err
	}
	base := int(now.Seconds()) + 60 + b.Pods/2 // after all have started
	w, err := b.client.CoreV1().Pods(b.Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: "app=plegbench"})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.Namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// Created at 10 per second rather than all at once: a burst of runc
	// starts is what makes some of them fail on this host.
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i := range b.Pods {
		<-pace.C
		script := exitScript(float64(base) + float64(i)*b.ExitInterval.Seconds())
		if _, err := b.client.CoreV1().Pods(b.Namespace).Create(ctx, b.pod(fmt.Sprintf("exit-%03d", i), script), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	timeout := time.Duration(base+60-int(now.Seconds()))*time.Second + time.Duration(b.Pods)*b.ExitInterval
	c := &collector{events: w.ResultChan(), uptime: b.uptime, log: b.Stderr}
	return c.collect(ctx, b.Pods, timeout)
}

func (b *bench) deleteNamespace(ctx context.Context) error {
	return benchkube.DeleteNamespace(ctx, b.client, b.Namespace)
}

func hostUptime() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return ParseUptime(string(raw))
}
