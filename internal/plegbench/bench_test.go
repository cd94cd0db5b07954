package plegbench

import (
	"bytes"
	"context"
	"errors"
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
	ok := Config{Kubeconfig: "k", Node: "n", Image: "i", Pods: 100, ExitInterval: time.Second}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Node = "" }, "-kubeconfig, -node and -image are required"},
		{func(c *Config) { c.ExitInterval = 5 * time.Millisecond }, "-exit-interval must be 10ms..1m"},
		{func(c *Config) { c.ExitInterval = 2 * time.Minute }, "-exit-interval must be 10ms..1m"},
		{func(c *Config) { c.Pods = 106 }, "-pods must be 1..105"},
		{func(c *Config) { c.Pods = 0 }, "-pods must be 1..105"},
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
	b := &bench{Config: Config{Node: "kn-worker"}, node: (&nodes.Provider{Host: fake}).Node("kn-worker")}
	if err := b.writeGate(context.Background(), false); err != nil {
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
	b.node = (&nodes.Provider{Host: failing}).Node("kn-worker")
	if err := b.writeGate(context.Background(), true); err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("a node that cannot be read: %v", err)
	}
	if len(failing.Calls) != 1 {
		t.Errorf("went on after the read failed: %v", failing.Lines())
	}
}

func TestProcessCPUInTheNode(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker exec w sh -c cat /proc/$(pidof kubelet)/stat": {Stdout: "279 (kubelet) S 1 279 279 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 1000 2000000 3000\n"},
	}}
	b := &bench{node: (&nodes.Provider{Host: fake}).Node("w")}
	if got, err := b.processCPU(context.Background(), "kubelet"); err != nil || got != 3 {
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
			State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Completed", Message: message}},
		}}},
	}}
}

func TestCollectTimesEachExitOnce(t *testing.T) {
	events := make(chan watch.Event, 10)
	running := watch.Event{Type: watch.Modified, Object: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "exit-000"},
		Status: v1.PodStatus{ContainerStatuses: []v1.ContainerStatus{{State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}}}}}
	events <- running
	events <- terminated("exit-000", "100.00 50.00\n")
	events <- terminated("exit-000", "100.00 50.00\n") // a later update of the same pod
	events <- terminated("exit-001", "StartError: unable to freeze")
	events <- terminated("exit-002", "101.50 50.00\n")
	received := []time.Duration{90 * time.Second, 100250 * time.Millisecond, 100300 * time.Millisecond, 101 * time.Second, 101520 * time.Millisecond}
	var log bytes.Buffer
	c := &collector{events: events, log: &log, uptime: func() (time.Duration, error) {
		d := received[0]
		received = received[1:]
		return d, nil
	}}
	got, err := c.collect(context.Background(), 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (exitSample{"exit-000", 250 * time.Millisecond}) || got[1] != (exitSample{"exit-002", 20 * time.Millisecond}) {
		t.Errorf("samples %+v", got)
	}
	if !strings.Contains(log.String(), "pleg: pod exit-001 did not run (Completed: StartError: unable to freeze); not timed") ||
		!strings.Contains(log.String(), "pleg: 1 of 3 containers failed to start and were not timed") {
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
	if err != nil || len(got) != 19 || !strings.Contains(log.String(), "1 of 20 pods never exited") {
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

func sampleResults() []result {
	return []result{
		{mode: "evented (EventedPLEG=true)", cpu: 30, runtimeCPU: 10, profiled: benchstat.Share{Total: 20 * time.Second, Matched: time.Second},
			p50: 120 * time.Millisecond, p99: 480 * time.Millisecond, exits: 2,
			exitsRaw: []exitSample{{"exit-000", 120250 * time.Microsecond}, {"exit-001", 480 * time.Millisecond}}},
		{mode: "generic (EventedPLEG=false)", cpu: 40, runtimeCPU: 20, profiled: benchstat.Share{Total: 30 * time.Second, Matched: 4 * time.Second},
			p50: 700 * time.Millisecond, p99: 1100 * time.Millisecond, exits: 1,
			exitsRaw: []exitSample{{"exit-000", 700 * time.Millisecond}}},
	}
}

func TestWriteTable(t *testing.T) {
	var out bytes.Buffer
	writeTable(&out, Config{Idle: 5 * time.Minute, Pods: 100}, sampleResults())
	want := `| kubelet | pods | kubelet CPU over 5m0s idle | of which PLEG (pprof) | containerd CPU | exit-to-status p50 | p99 | exits |
| --- | --- | --- | --- | --- | --- | --- | --- |
| evented (EventedPLEG=true) | 100 | 30.00 s | 1.00 s | 10.00 s | 120 ms | 480 ms | 2 |
| generic (EventedPLEG=false) | 100 | 40.00 s | 4.00 s | 20.00 s | 700 ms | 1100 ms | 1 |

evented/generic: kubelet CPU 0.75, PLEG CPU 0.25, kubelet+containerd 0.67
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	// A generic profile with no PLEG samples has no PLEG ratio.
	results := sampleResults()
	results[1].profiled.Matched = 0
	out.Reset()
	writeTable(&out, Config{Idle: time.Minute, Pods: 1}, results)
	if !strings.Contains(out.String(), "PLEG CPU n/a,") {
		t.Errorf("table:\n%s", out.String())
	}
	// Without generic's CPU there is nothing to compare with.
	out.Reset()
	writeTable(&out, Config{Idle: time.Minute, Pods: 1}, results[:1])
	if strings.Contains(out.String(), "evented/generic") {
		t.Errorf("ratios with one mode:\n%s", out.String())
	}
}

func TestWriteExitsCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pleg.csv")
	if err := writeExitsCSV(path, sampleResults()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "mode,pod,exit_to_status_ms\nevented,exit-000,120.2\nevented,exit-001,480.0\ngeneric,exit-000,700.0\n"; string(got) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if err := writeExitsCSV("", sampleResults()); err != nil {
		t.Error("no -csv must write nothing and succeed")
	}
}
