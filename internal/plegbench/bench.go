package plegbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Node runs our kubelet; UpstreamNode upstream's (benchkube.Auto:
	// the labelled worker, if any; "": none). Their kind containers have
	// the same names.
	Node, UpstreamNode string
	Image              string // locally built test image, never pulled
	Namespace          string // prefix of the namespaces, one per kubelet
	// CSV gets every timed exit; IdleCSV every idle measure. Empty: none.
	CSV, IdleCSV string
	// Pods run idle on each node, and exit once each in the second exit
	// round. FewPods hold Exits containers in all for the first round.
	Pods, FewPods, Exits int
	Idle, ExitInterval   time.Duration
	// Stdout gets the tables; Stderr the progress.
	Stdout, Stderr io.Writer
}

// Check refuses flags the benchmark cannot run with.
func (c Config) Check() error {
	if c.Kubeconfig == "" || c.Node == "" || c.Image == "" {
		return fmt.Errorf("-kubeconfig, -node and -image are required; run it with make bench-pleg")
	}
	if c.UpstreamNode == c.Node {
		return fmt.Errorf("-upstream-node %s is -node too: give the worker of make cluster UPSTREAM_WORKERS=1", c.Node)
	}
	if c.ExitInterval < 10*time.Millisecond || c.ExitInterval > time.Minute {
		return fmt.Errorf("-exit-interval must be 10ms..1m")
	}
	if c.Pods < 1 || c.Pods > 105 {
		return fmt.Errorf("-pods must be 1..105: the node runs at most 110 pods, and its system pods count")
	}
	if c.FewPods < 1 || c.FewPods > c.Pods {
		return fmt.Errorf("-few-pods must be 1..-pods (%d)", c.Pods)
	}
	if c.Exits < c.FewPods || c.Exits > 20*c.FewPods {
		return fmt.Errorf("-exits must be -few-pods..20 x -few-pods (%d..%d): each of the few pods holds at most 20 exiting containers", c.FewPods, 20*c.FewPods)
	}
	return nil
}

// kubelet is one kubelet under test.
type kubelet struct {
	name string // kubenext, upstream
	node string
	// ours: our kubelet reports its PLEG mode in kubelet_evented_pleg_mode.
	ours bool
	cmd  exec.Cmder // runs commands in the node's container
}

// subject is a kubelet in one PLEG mode: a column of the tables.
type subject struct {
	kubelet string
	evented bool
}

func (s subject) String() string {
	if s.evented {
		return s.kubelet + " evented"
	}
	return s.kubelet + " generic"
}

// runtimeOps are the CRI calls a relist makes, as the kubelet's
// kubelet_runtime_operations_total names them.
var runtimeOps = []struct{ metric, call string }{
	{"list_podsandbox", "ListPodSandbox"},
	{"list_containers", "ListContainers"},
	{"podsandbox_status", "PodSandboxStatus"},
	{"container_status", "ContainerStatus"},
}

// relistMetrics count the PLEG's relists in both kubelets: full relists
// (GenericPLEG.Relist, one ListPodSandbox and one ListContainers each) and
// the per-pod relists an event or a status request asks for.
var relistMetrics = struct{ full, pod string }{
	full: "kubelet_pleg_relist_duration_seconds_count",
	pod:  "kubelet_pleg_pod_relist_duration_seconds_count",
}

// idleResult is one subject's idle measures.
type idleResult struct {
	// calls are the kubelet's, by CRI call, over the idle period: the
	// PLEG's and those of the kubelet's other loops (pod housekeeping
	// lists the runtime every 2 s through its runtime cache).
	calls map[string]float64
	// relists and podRelists are the PLEG's over the idle period.
	relists, podRelists float64
	cpu                 float64 // kubelet CPU seconds over the idle period
	runtimeCPU          float64 // containerd's, over the same period
	// profiled is the kubelet's profiled CPU; Matched is the PLEG's.
	profiled benchstat.Share
}

// results are every measure of a run, by subject.
type results struct {
	subjects []subject
	idle     map[subject]idleResult
	// exits by subject and by the number of pods they ran among.
	exits map[subject]map[int][]exitSample
}

// Run measures each kubelet in evented mode, then all in generic mode;
// within a mode the kubelets run every phase at the same time, so that
// they share the machine's load. It leaves them evented, as make cluster
// made them.
func Run(ctx context.Context, c Config) error {
	client, err := benchkube.Client(c.Kubeconfig)
	if err != nil {
		return err
	}
	progress := &steps.Steps{Out: c.Stderr}
	b := &bench{Config: c, client: client, steps: progress, uptime: hostUptime,
		kubelets: []kubelet{{name: "kubenext", node: c.Node, ours: true, cmd: nodes.Docker().Node(c.Node)}}}
	upstream, err := benchkube.ResolveUpstreamNode(ctx, client, c.UpstreamNode, c.Stderr)
	if err != nil {
		return err
	}
	if upstream != "" {
		b.kubelets = append(b.kubelets, kubelet{name: "upstream", node: upstream, cmd: nodes.Docker().Node(upstream)})
	}
	// A previous run that was interrupted leaves its namespaces behind.
	if err := progress.Run("Deleting namespaces left by an earlier run", func() error { return b.deleteNamespaces(ctx) }); err != nil {
		return err
	}
	r := results{idle: map[subject]idleResult{}, exits: map[subject]map[int][]exitSample{}}
	for _, evented := range []bool{true, false} {
		if err := b.measureMode(ctx, evented, &r); err != nil {
			return err
		}
	}
	if err := progress.Run("Leaving every kubelet evented", func() error { return b.setMode(ctx, true) }); err != nil {
		return err
	}
	if err := writeExitsCSV(c.CSV, r); err != nil {
		return err
	}
	if err := writeIdleCSV(c.IdleCSV, r); err != nil {
		return err
	}
	writeTables(c.Stdout, c, r)
	return nil
}

type bench struct {
	Config
	client   kubernetes.Interface
	kubelets []kubelet
	steps    *steps.Steps
	// uptime is the host's /proc/uptime, the clock exits are stamped on.
	uptime func() (time.Duration, error)
}

func (b *bench) measureMode(ctx context.Context, evented bool, r *results) error {
	mode := "generic (EventedPLEG=false)"
	if evented {
		mode = "evented (EventedPLEG=true)"
	}
	if err := b.steps.Run("Restarting the kubelets with "+mode, func() error { return b.setMode(ctx, evented) }); err != nil {
		return err
	}
	for _, k := range b.kubelets {
		s := subject{k.name, evented}
		r.subjects = append(r.subjects, s)
		r.exits[s] = map[int][]exitSample{}
	}
	if err := b.steps.Run(fmt.Sprintf("Starting %d idle pods on each node", b.Pods), func() error {
		return b.startIdlePods(ctx)
	}); err != nil {
		return err
	}
	if err := b.steps.Run(fmt.Sprintf("Measuring the kubelets over %s idle", b.Idle), func() error {
		return b.eachKubelet(func(k kubelet) error {
			idle, err := b.measureIdle(ctx, k)
			r.idle[subject{k.name, evented}] = idle
			return err
		})
	}); err != nil {
		return err
	}
	if err := b.steps.Run("Deleting the idle pods", func() error { return b.deleteNamespaces(ctx) }); err != nil {
		return err
	}
	perPod := (b.Exits + b.FewPods - 1) / b.FewPods
	for _, round := range []struct{ pods, containers int }{{b.FewPods, perPod}, {b.Pods, 1}} {
		n := round.pods * round.containers
		if err := b.steps.Run(fmt.Sprintf("Timing %d container exits among %d pods on each node", n, round.pods), func() error {
			return b.eachKubelet(func(k kubelet) error {
				samples, err := b.exitLatencies(ctx, k, round.pods, round.containers)
				r.exits[subject{k.name, evented}][round.pods] = samples
				return err
			})
		}); err != nil {
			return err
		}
		if err := b.steps.Run("Deleting the exited pods", func() error { return b.deleteNamespaces(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// eachKubelet runs fn for every kubelet at once and joins their errors.
func (b *bench) eachKubelet(fn func(kubelet) error) error {
	errs := make([]error, len(b.kubelets))
	var wg sync.WaitGroup
	for i, k := range b.kubelets {
		wg.Go(func() {
			if err := fn(k); err != nil {
				errs[i] = fmt.Errorf("%s kubelet on %s: %w", k.name, k.node, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (b *bench) namespace(k kubelet) string { return b.Namespace + "-" + k.name }

func (b *bench) measureIdle(ctx context.Context, k kubelet) (idleResult, error) {
	r := idleResult{calls: map[string]float64{}}
	callsBefore, err := b.runtimeCalls(ctx, k)
	if err != nil {
		return r, err
	}
	before, err := b.processCPU(ctx, k, "kubelet")
	if err != nil {
		return r, err
	}
	runtimeBefore, err := b.processCPU(ctx, k, "containerd")
	if err != nil {
		return r, err
	}
	// The window itself: back-to-back CPU profiles that cover it, so the
	// PLEG's own share can be told from the rest of the kubelet.
	if r.profiled, err = b.profileKubelet(ctx, k, b.Idle); err != nil {
		return r, err
	}
	after, err := b.processCPU(ctx, k, "kubelet")
	if err != nil {
		return r, err
	}
	runtimeAfter, err := b.processCPU(ctx, k, "containerd")
	if err != nil {
		return r, err
	}
	callsAfter, err := b.runtimeCalls(ctx, k)
	if err != nil {
		return r, err
	}
	r.cpu, r.runtimeCPU = after-before, runtimeAfter-runtimeBefore
	for _, op := range runtimeOps {
		r.calls[op.call] = callsAfter[op.call] - callsBefore[op.call]
	}
	r.relists = callsAfter[relistMetrics.full] - callsBefore[relistMetrics.full]
	r.podRelists = callsAfter[relistMetrics.pod] - callsBefore[relistMetrics.pod]
	return r, nil
}

// runtimeCalls reads the kubelet's count of each relist CRI call, by
// call name, and of its PLEG's relists, by metric name.
func (b *bench) runtimeCalls(ctx context.Context, k kubelet) (map[string]float64, error) {
	raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", k.node, "proxy/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics of the kubelet on %s: %w", k.node, err)
	}
	calls := map[string]float64{}
	for _, op := range runtimeOps {
		v, ok := metricValue(string(raw), `kubelet_runtime_operations_total{operation_type="`+op.metric+`"}`)
		if !ok {
			continue // never called since the kubelet started
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("kubelet_runtime_operations_total{operation_type=%q} = %q: %w", op.metric, v, err)
		}
		calls[op.call] = n
	}
	for _, name := range []string{relistMetrics.full, relistMetrics.pod} {
		v, ok := metricValue(string(raw), name)
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%s = %q: %w", name, v, err)
		}
		calls[name] = n
	}
	return calls, nil
}

// inNode runs a command in k's node and returns what it printed.
func (b *bench) inNode(ctx context.Context, k kubelet, stdin []byte, args ...string) (string, error) {
	cmd := k.cmd.Command(ctx, args[0], args[1:]...)
	if stdin != nil {
		cmd.SetStdin(bytes.NewReader(stdin))
	}
	out, err := exec.CombinedOutput(cmd)
	return string(out), err
}

// writeGate turns EventedPLEG on or off in k's kubelet configuration and
// restarts the kubelet; a kubelet already so configured is left running.
func (b *bench) writeGate(ctx context.Context, k kubelet, on bool) error {
	cfg, err := b.inNode(ctx, k, nil, "cat", kubeletconfig.Path)
	if err != nil {
		return err
	}
	if current, set, err := kubeletconfig.Gate([]byte(cfg), "EventedPLEG"); err != nil || (set && current == on) {
		return err
	}
	edited, err := kubeletconfig.SetGate([]byte(cfg), "EventedPLEG", on)
	if err != nil {
		return err
	}
	// Written beside and renamed, so a kubelet restarting on its own never
	// reads half a file.
	if _, err := b.inNode(ctx, k, edited, "sh", "-c", "cat > "+kubeletconfig.Path+".new && mv "+kubeletconfig.Path+".new "+kubeletconfig.Path); err != nil {
		return err
	}
	_, err = b.inNode(ctx, k, nil, "systemctl", "restart", "kubelet")
	return err
}

// setMode puts every kubelet in the PLEG mode asked for and waits until
// each shows it: ours in kubelet_evented_pleg_mode, upstream's by its
// /configz and, evented, by a connected CRI event stream.
func (b *bench) setMode(ctx context.Context, evented bool) error {
	return b.eachKubelet(func(k kubelet) error {
		if err := b.writeGate(ctx, k, evented); err != nil {
			return err
		}
		return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, false, func(ctx context.Context) (bool, error) {
			metrics, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", k.node, "proxy/metrics").DoRaw(ctx)
			if err != nil {
				return false, nil
			}
			if k.ours {
				return inMode(string(metrics), evented), nil
			}
			configz, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", k.node, "proxy/configz").DoRaw(ctx)
			if err != nil {
				return false, nil
			}
			return upstreamInMode(configz, string(metrics), evented)
		})
	})
}

// inMode tells from our kubelet's metrics whether it runs the PLEG mode
// asked for: evented says so in kubelet_evented_pleg_mode; generic either
// says 0 or, with the gate off, has no such metric.
func inMode(metrics string, evented bool) bool {
	mode, found := metricValue(metrics, "kubelet_evented_pleg_mode")
	if !evented {
		return !found || mode == "0"
	}
	return mode == "1"
}

// upstreamInMode tells the same of upstream's kubelet, which has no mode
// metric: its configuration has the gate as asked, and, evented, its CRI
// event stream has connected since it started.
func upstreamInMode(configz []byte, metrics string, evented bool) (bool, error) {
	var cz struct {
		KubeletConfig struct {
			FeatureGates map[string]bool `json:"featureGates"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(configz, &cz); err != nil {
		return false, fmt.Errorf("/configz: %w", err)
	}
	if cz.KubeletConfig.FeatureGates["EventedPLEG"] != evented {
		return false, nil
	}
	if !evented {
		return true, nil
	}
	n, found := metricValue(metrics, "kubelet_evented_pleg_connection_success_count")
	return found && n != "0", nil
}

func metricValue(text, name string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// processCPU reads utime+stime of a daemon in k's node container.
func (b *bench) processCPU(ctx context.Context, k kubelet, daemon string) (float64, error) {
	stat, err := b.inNode(ctx, k, nil, "sh", "-c", "cat /proc/$(pidof "+daemon+")/stat")
	if err != nil {
		return 0, err
	}
	return ProcessCPU(stat, 100)
}

// profileKubelet takes back-to-back CPU profiles of k through the API
// server's node proxy until window is covered. One profile may last at
// most a minute: the kubelet's server refuses profiles longer than its
// write timeout.
func (b *bench) profileKubelet(ctx context.Context, k kubelet, window time.Duration) (benchstat.Share, error) {
	return profileWindow(window, func(d time.Duration) ([]byte, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", k.node, "proxy/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("CPU profile of the kubelet on %s: %w", k.node, err)
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

// pod runs one container per script on node.
func (b *bench) pod(name, node string, scripts ...string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "plegbench"}},
		Spec: v1.PodSpec{
			NodeName:                      node,
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
	for i, script := range scripts {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{
			Name: fmt.Sprintf("c%02d", i), Image: b.Image, ImagePullPolicy: v1.PullNever,
			Command: []string{"sh", "-c", script},
		})
	}
	return p
}

// createNamespaces makes each kubelet's namespace.
func (b *bench) createNamespaces(ctx context.Context) error {
	for _, k := range b.kubelets {
		if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.namespace(k)}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// startIdlePods creates -pods sleeping pods on every node, taking the
// nodes in turn, and waits until all have settled.
func (b *bench) startIdlePods(ctx context.Context) error {
	if err := b.createNamespaces(ctx); err != nil {
		return err
	}
	for i := range b.Pods {
		for _, k := range b.kubelets {
			if _, err := b.client.CoreV1().Pods(b.namespace(k)).Create(ctx, b.pod(fmt.Sprintf("idle-%03d", i), k.node, "exec sleep 100000"), metav1.CreateOptions{}); err != nil {
				return err
			}
		}
	}
	return b.eachKubelet(func(k kubelet) error {
		return wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, false, func(ctx context.Context) (bool, error) {
			pods, err := b.client.CoreV1().Pods(b.namespace(k)).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			// A pod whose container failed to start (runc "unable to
			// freeze" on a cgroup v1 host) ends Failed; it is settled, if
			// not idle.
			settled := 0
			for _, p := range pods.Items {
				if p.Status.Phase != v1.PodPending {
					settled++
				}
			}
			return settled == b.Pods, nil
		})
	})
}

// exitScript sleeps once until the host's uptime reaches deadline and then
// stamps its exit. One sleep, not a polling loop: a hundred shells forking
// cut and sleep twenty times a second saturate two cores, and the latency
// measured is then the machine's load rather than the kubelet's.
func exitScript(deadline float64) string {
	return fmt.Sprintf(`t=$(cut -d' ' -f1 /proc/uptime); sleep $(awk -v d=%.2f -v t="$t" 'BEGIN { s = d - t; if (s < 0) s = 0; print s }'); cat /proc/uptime > /dev/termination-log`, deadline)
}

// exitDeadlines are the exit times of pods x containers containers, one
// every interval from base: container j of pod i exits in slot
// j*pods+i, so each pod's containers exit pods intervals apart and one
// pod's status changes once per exit. offset shifts one kubelet's slots
// so that the kubelets' exits interleave rather than coincide.
func exitDeadlines(base float64, pods, containers int, interval, offset time.Duration) [][]float64 {
	out := make([][]float64, pods)
	for i := range pods {
		for j := range containers {
			out[i] = append(out[i], base+offset.Seconds()+float64(j*pods+i)*interval.Seconds())
		}
	}
	return out
}

// exitLatencies starts pods on k's node whose containers exit one per
// -exit-interval once all have started, and records for each exit the
// time from its /proc/uptime stamp to the watch event showing it.
func (b *bench) exitLatencies(ctx context.Context, k kubelet, pods, containers int) ([]exitSample, error) {
	now, err := b.uptime()
	if err != nil {
		return nil, err
	}
	ns := b.namespace(k)
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	w, err := b.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=plegbench"})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	// After all the kubelets' pods have started.
	base := float64(int(now.Seconds()) + 60 + len(b.kubelets)*pods/2)
	offset := time.Duration(slices.IndexFunc(b.kubelets, func(o kubelet) bool { return o.name == k.name })) * b.ExitInterval / time.Duration(len(b.kubelets))
	// Created at 10 per second rather than all at once: a burst of runc
	// starts is what makes some of them fail on a cgroup v1 host.
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i, deadlines := range exitDeadlines(base, pods, containers, b.ExitInterval, offset) {
		<-pace.C
		scripts := make([]string, len(deadlines))
		for j, d := range deadlines {
			scripts[j] = exitScript(d)
		}
		if _, err := b.client.CoreV1().Pods(ns).Create(ctx, b.pod(fmt.Sprintf("exit-%03d", i), k.node, scripts...), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	n := pods * containers
	timeout := time.Duration(base+60-now.Seconds())*time.Second + time.Duration(n)*b.ExitInterval
	c := &collector{events: w.ResultChan(), uptime: b.uptime, log: b.Stderr}
	return c.collect(ctx, n, timeout)
}

func (b *bench) deleteNamespaces(ctx context.Context) error {
	return b.eachKubelet(func(k kubelet) error {
		return benchkube.DeleteNamespace(ctx, b.client, b.namespace(k))
	})
}

func hostUptime() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return ParseUptime(string(raw))
}
