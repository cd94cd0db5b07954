package plegbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubenext/kubenext/internal/benchstat"
	"github.com/kubenext/kubenext/internal/benchstat/benchstattest"
	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/kubeletconfig"
	"github.com/kubenext/kubenext/internal/nodes"
)

func TestConfigCheck(t *testing.T) {
	ok := Config{Kubeconfig: "k", Node: "n", UpstreamNode: "u", Image: "i", Pods: 100, FewPods: 20, Exits: 100, ExitInterval: time.Second}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Node = "" }, "-kubeconfig, -node and -image are required"},
		{func(c *Config) { c.UpstreamNode = "n" }, "-upstream-node n is -node too"},
		{func(c *Config) { c.ExitInterval = 5 * time.Millisecond }, "-exit-interval must be 10ms..1m"},
		{func(c *Config) { c.ExitInterval = 2 * time.Minute }, "-exit-interval must be 10ms..1m"},
		{func(c *Config) { c.Pods = 106 }, "-pods must be 1..105"},
		{func(c *Config) { c.Pods = 0 }, "-pods must be 1..105"},
		{func(c *Config) { c.FewPods = 101 }, "-few-pods must be 1..-pods (100)"},
		{func(c *Config) { c.Exits = 19 }, "-exits must be -few-pods..20 x -few-pods (20..400)"},
		{func(c *Config) { c.Exits = 401 }, "-exits must be -few-pods..20 x -few-pods (20..400)"},
	} {
		bad := ok
		c.edit(&bad)
		if err := bad.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", bad, err, c.want)
		}
	}
}

const kubeletConfig = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  EventedPLEG: true\nmaxPods: 110\n"

// The node is reached through the node provider: docker exec into the
// worker's container, with the edited file on stdin.
func TestWriteGateEditsTheNodesKubelet(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker exec kn-worker cat " + kubeletconfig.Path: {Stdout: kubeletConfig},
	}}
	b := &bench{Config: Config{Node: "kn-worker"}}
	k := kubelet{name: "kubenext", node: "kn-worker", ours: true, cmd: (&nodes.Provider{Host: fake}).Node("kn-worker")}
	if err := b.writeGate(context.Background(), k, false); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker exec kn-worker cat " + kubeletconfig.Path,
		"docker exec -i kn-worker sh -c cat > " + kubeletconfig.Path + ".new && mv " + kubeletconfig.Path + ".new " + kubeletconfig.Path,
		"docker exec kn-worker systemctl restart kubelet",
	}
	if got := fake.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if written := fake.Calls[1].Stdin; !strings.Contains(written, "EventedPLEG: false") || !strings.Contains(written, "maxPods: 110") {
		t.Errorf("wrote:\n%s", written)
	}

	failing := &exectest.Cmder{Script: map[string]exectest.Result{"docker exec kn-worker cat": {ExitCode: 1, Stderr: "No such file"}}}
	k.cmd = (&nodes.Provider{Host: failing}).Node("kn-worker")
	if err := b.writeGate(context.Background(), k, true); err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("a node that cannot be read: %v", err)
	}
	if len(failing.Calls) != 1 {
		t.Errorf("went on after the read failed: %v", failing.Lines())
	}

	// A kubelet already in the mode asked for keeps running.
	unchanged := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker exec kn-worker cat " + kubeletconfig.Path: {Stdout: kubeletConfig},
	}}
	k.cmd = (&nodes.Provider{Host: unchanged}).Node("kn-worker")
	if err := b.writeGate(context.Background(), k, true); err != nil || len(unchanged.Calls) != 1 {
		t.Errorf("EventedPLEG already true: %v, commands %v; want only the read", err, unchanged.Lines())
	}
}

func TestProcessCPUInTheNode(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker exec w sh -c cat /proc/$(pidof kubelet)/stat": {Stdout: "279 (kubelet) S 1 279 279 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 1000 2000000 3000\n"},
	}}
	b := &bench{}
	k := kubelet{node: "w", cmd: (&nodes.Provider{Host: fake}).Node("w")}
	if got, err := b.processCPU(context.Background(), k, "kubelet"); err != nil || got != 3 {
		t.Errorf("processCPU = %v, %v; want 3 s", got, err)
	}
}

func TestInMode(t *testing.T) {
	metrics := "# HELP x\nkubelet_evented_pleg_mode 1\nkubelet_evented_pleg_mode_total 0\n"
	if !inMode(metrics, true) || inMode(metrics, false) {
		t.Error("mode 1 is evented only")
	}
	off := strings.Replace(metrics, "mode 1", "mode 0", 1)
	if inMode(off, true) || !inMode(off, false) {
		t.Error("mode 0 is generic only")
	}
	if inMode("other 1\n", true) || !inMode("other 1\n", false) {
		t.Error("no metric at all is generic (the gate is off)")
	}
}

func TestUpstreamInMode(t *testing.T) {
	configz := func(on bool) []byte {
		return []byte(fmt.Sprintf(`{"kubeletconfig":{"featureGates":{"EventedPLEG":%t,"NodeLogQuery":true}}}`, on))
	}
	connected := "kubelet_evented_pleg_connection_success_count 1\n"
	for _, c := range []struct {
		configz []byte
		metrics string
		evented bool
		want    bool
	}{
		{configz(true), connected, true, true},
		{configz(true), "", true, false}, // the stream has not connected yet
		{configz(true), "kubelet_evented_pleg_connection_success_count 0\n", true, false},
		{configz(false), connected, true, false}, // the old kubelet, or the edit was lost
		{configz(false), "", false, true},
		{configz(true), connected, false, false},
		{[]byte(`{"kubeletconfig":{}}`), "", false, true}, // off by default upstream
	} {
		got, err := upstreamInMode(c.configz, c.metrics, c.evented)
		if err != nil || got != c.want {
			t.Errorf("configz %s, metrics %q, evented %t: %t, %v; want %t", c.configz, c.metrics, c.evented, got, err, c.want)
		}
	}
	if _, err := upstreamInMode([]byte("not json"), "", true); err == nil {
		t.Error("a /configz that is not JSON must be an error")
	}
}

func TestExitDeadlinesOnePerIntervalAndInterleaved(t *testing.T) {
	// 3 pods of 2 containers: slots 0..5, container j of pod i in slot j*3+i.
	got := exitDeadlines(100, 3, 2, time.Second, 500*time.Millisecond)
	want := [][]float64{{100.5, 103.5}, {101.5, 104.5}, {102.5, 105.5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exitDeadlines = %v, want %v", got, want)
	}
}

func TestProfileWindowCoversTheWindowByTheMinute(t *testing.T) {
	raw := benchstattest.CPUProfile(t,
		benchstattest.Sample{CPU: 90 * time.Millisecond, Stack: []string{"main.other"}},
		benchstattest.Sample{CPU: 10 * time.Millisecond, Stack: []string{"k8s.io/kubernetes/pkg/kubelet/pleg.(*GenericPLEG).Relist"}},
	)
	var asked []time.Duration
	share, err := profileWindow(150*time.Second, func(d time.Duration) ([]byte, error) {
		asked = append(asked, d)
		return raw, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 3 || asked[0] != time.Minute || asked[2] != 30*time.Second {
		t.Errorf("profiles asked: %v, want 1m, 1m, 30s", asked)
	}
	if share != (benchstat.Share{Total: 300 * time.Millisecond, Matched: 30 * time.Millisecond}) {
		t.Errorf("share %+v", share)
	}
	if _, err := profileWindow(time.Minute, func(time.Duration) ([]byte, error) { return nil, errors.New("proxy down") }); err == nil {
		t.Error("a failed profile must fail the window")
	}
}

func terminated(name, message string) watch.Event {
	return watch.Event{Type: watch.Modified, Object: &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.PodStatus{ContainerStatuses: []v1.ContainerStatus{{
			Name:  "c00",
			State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Completed", Message: message}},
		}}},
	}}
}

func TestCollectTimesEachExitOnce(t *testing.T) {
	events := make(chan watch.Event, 10)
	running := watch.Event{Type: watch.Modified, Object: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "exit-000"},
		Status: v1.PodStatus{ContainerStatuses: []v1.ContainerStatus{{Name: "c00", State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}}}}}
	events <- running
	events <- terminated("exit-000", "100.00 50.00\n")
	events <- terminated("exit-000", "100.00 50.00\n") // a later update of the same pod
	events <- terminated("exit-001", "StartError: unable to freeze")
	// A pod of two containers: the second exits later, in its own update.
	two := terminated("exit-002", "101.50 50.00\n")
	pod := two.Object.(*v1.Pod).DeepCopy()
	pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, v1.ContainerStatus{Name: "c01",
		State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Completed", Message: "102.00 50.00\n"}}})
	events <- two
	events <- watch.Event{Type: watch.Modified, Object: pod}
	received := []time.Duration{90 * time.Second, 100250 * time.Millisecond, 100300 * time.Millisecond, 101 * time.Second, 101520 * time.Millisecond, 102100 * time.Millisecond}
	var log bytes.Buffer
	c := &collector{events: events, log: &log, uptime: func() (time.Duration, error) {
		d := received[0]
		received = received[1:]
		return d, nil
	}}
	got, err := c.collect(context.Background(), 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []exitSample{{"exit-000/c00", 250 * time.Millisecond}, {"exit-002/c00", 20 * time.Millisecond}, {"exit-002/c01", 100 * time.Millisecond}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("samples %+v, want %+v", got, want)
	}
	if !strings.Contains(log.String(), "pleg: container exit-001/c00 did not run (Completed: StartError: unable to freeze); not timed") ||
		!strings.Contains(log.String(), "pleg: 1 of 4 containers failed to start and were not timed") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestCollectGivesUpOnMissingExits(t *testing.T) {
	uptime := func() (time.Duration, error) { return 101 * time.Second, nil }
	// 19 of 20 exits (95%) seen: the rest are reported, not fatal.
	events := make(chan watch.Event, 20)
	for i := range 19 {
		events <- terminated(string(rune('a'+i)), "100.00 0\n")
	}
	var log bytes.Buffer
	got, err := (&collector{events: events, uptime: uptime, log: &log}).collect(context.Background(), 20, 50*time.Millisecond)
	if err != nil || len(got) != 19 || !strings.Contains(log.String(), "1 of 20 containers never exited") {
		t.Errorf("19 of 20: %d samples, %v\n%s", len(got), err, log.String())
	}
	events = make(chan watch.Event, 20)
	for i := range 18 {
		events <- terminated(string(rune('a'+i)), "100.00 0\n")
	}
	if _, err := (&collector{events: events, uptime: uptime, log: &log}).collect(context.Background(), 20, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "only 18 of 20 exits were seen") {
		t.Errorf("18 of 20: %v", err)
	}
	closed := make(chan watch.Event)
	close(closed)
	if _, err := (&collector{events: closed, uptime: uptime, log: &log}).collect(context.Background(), 1, time.Minute); err == nil || !strings.Contains(err.Error(), "the pod watch closed after 0 of 1 exits") {
		t.Errorf("closed watch: %v", err)
	}
}

func TestExitScript(t *testing.T) {
	want := `t=$(cut -d' ' -f1 /proc/uptime); sleep $(awk -v d=1234.50 -v t="$t" 'BEGIN { s = d - t; if (s < 0) s = 0; print s }'); cat /proc/uptime > /dev/termination-log`
	if got := exitScript(1234.5); got != want {
		t.Errorf("exitScript:\n%s\nwant:\n%s", got, want)
	}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func sampleResults() results {
	oursEv, upEv, oursGen, upGen := subject{"kubenext", true}, subject{"upstream", true}, subject{"kubenext", false}, subject{"upstream", false}
	// Pod housekeeping lists the runtime every 2 s: 150 calls in 5 min.
	idle := func(relists, statuses float64, pleg time.Duration, cpu float64) idleResult {
		return idleResult{calls: map[string]float64{"ListPodSandbox": relists + 150, "ListContainers": relists + 150, "PodSandboxStatus": statuses, "ContainerStatus": statuses},
			relists: relists, podRelists: statuses, cpu: cpu, runtimeCPU: cpu / 2, profiled: benchstat.Share{Total: 10 * pleg, Matched: pleg}}
	}
	return results{
		subjects: []subject{oursEv, upEv, oursGen, upGen},
		idle: map[subject]idleResult{
			oursEv: idle(1, 0, 10*time.Millisecond, 20), upEv: idle(300, 2, time.Second, 30),
			oursGen: idle(300, 1, 900*time.Millisecond, 29), upGen: idle(301, 0, time.Second, 31),
		},
		exits: map[subject]map[int][]exitSample{
			oursEv:  {20: {{"exit-000/c00", ms(40)}, {"exit-001/c00", ms(60)}}, 100: {{"exit-000/c00", ms(90)}}},
			upEv:    {20: {{"exit-000/c00", ms(100)}, {"exit-001/c00", ms(300)}}, 100: {{"exit-000/c00", ms(200)}}},
			oursGen: {20: {{"exit-000/c00", ms(500)}}, 100: {{"exit-000/c00", ms(700)}}},
			upGen:   {20: {{"exit-000/c00", ms(600)}}, 100: {{"exit-000/c00", ms(800)}}},
		},
	}
}

func TestWriteTables(t *testing.T) {
	var out bytes.Buffer
	writeTables(&out, Config{Idle: 5 * time.Minute, Pods: 100}, sampleResults())
	want := `| exit to status | kubenext evented | upstream evented | kubenext generic | upstream generic |
| --- | --- | --- | --- | --- |
| 20 pods, p50 | 40 ms | 100 ms | 500 ms | 600 ms |
| 20 pods, p90 | 60 ms | 300 ms | 500 ms | 600 ms |
| 20 pods, p99 | 60 ms | 300 ms | 500 ms | 600 ms |
| 20 pods, exits | 2 | 2 | 1 | 1 |
| 100 pods, p50 | 90 ms | 200 ms | 700 ms | 800 ms |
| 100 pods, p90 | 90 ms | 200 ms | 700 ms | 800 ms |
| 100 pods, p99 | 90 ms | 200 ms | 700 ms | 800 ms |
| 100 pods, exits | 1 | 1 | 1 | 1 |

| 5m0s idle, 100 pods | kubenext evented | upstream evented | kubenext generic | upstream generic |
| --- | --- | --- | --- | --- |
| PLEG full relists | 1 | 300 | 300 | 301 |
| PLEG pod relists | 0 | 2 | 1 | 0 |
| PLEG list calls (2 per full relist) | 2 | 600 | 600 | 602 |
| kubelet ListPodSandbox calls | 151 | 450 | 450 | 451 |
| kubelet ListContainers calls | 151 | 450 | 450 | 451 |
| kubelet PodSandboxStatus calls | 0 | 2 | 1 | 0 |
| kubelet ContainerStatus calls | 0 | 2 | 1 | 0 |
| PLEG CPU (pprof) | 0.01 s | 1.00 s | 0.90 s | 1.00 s |
| kubelet CPU | 20.00 s | 30.00 s | 29.00 s | 31.00 s |
| containerd CPU | 10.00 s | 15.00 s | 14.50 s | 15.50 s |

- exit-to-status p99 at 20 pods: ours evented 60 ms, upstream evented 300 ms (ours/upstream 0.20; target at most 0.5 and under 200 ms)
- the PLEG's runtime list calls over the idle period: ours evented 2, upstream generic 602 (301x fewer; target 100x), upstream evented 600 (300x fewer; target 50x)
- the whole kubelet's list calls, the PLEG's and pod housekeeping's: ours evented 302, upstream generic 902 (3x fewer), upstream evented 900 (3x fewer)
`
	if out.String() != want {
		t.Errorf("tables:\n%s\nwant:\n%s", out.String(), want)
	}
	// Ours alone: no comparison with upstream.
	r := sampleResults()
	r.subjects = []subject{{"kubenext", true}, {"kubenext", false}}
	delete(r.idle, subject{"upstream", true})
	out.Reset()
	writeTables(&out, Config{Idle: time.Minute, Pods: 100}, r)
	if strings.Contains(out.String(), "upstream") {
		t.Errorf("ours alone mentions upstream:\n%s", out.String())
	}
	if got := timesFewer(600, 0); got != ">= 600x" {
		t.Errorf("timesFewer(600, 0) = %q", got)
	}
}

func TestWriteCSVs(t *testing.T) {
	dir := t.TempDir()
	exits, idle := filepath.Join(dir, "pleg.csv"), filepath.Join(dir, "idle.csv")
	if err := writeExitsCSV(exits, sampleResults()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(exits)
	if !strings.HasPrefix(string(got), "kubelet,mode,pods,container,exit_to_status_ms\nkubenext,evented,20,exit-000/c00,40.0\nkubenext,evented,20,exit-001/c00,60.0\nkubenext,evented,100,exit-000/c00,90.0\nupstream,evented,20,") ||
		!strings.HasSuffix(string(got), "upstream,generic,100,exit-000/c00,800.0\n") {
		t.Errorf("exits CSV:\n%s", got)
	}
	if err := writeIdleCSV(idle, sampleResults()); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(idle)
	if !strings.HasPrefix(string(got), "kubelet,mode,measure,value\nkubenext,evented,kubelet_ListPodSandbox_calls,151\n") ||
		!strings.Contains(string(got), "upstream,evented,pleg_full_relists,300\n") ||
		!strings.Contains(string(got), "upstream,generic,pleg_cpu_s,1.000\n") {
		t.Errorf("idle CSV:\n%s", got)
	}
	if writeExitsCSV("", sampleResults()) != nil || writeIdleCSV("", sampleResults()) != nil {
		t.Error("no path must write nothing and succeed")
	}
}
