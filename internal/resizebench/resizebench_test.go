package resizebench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
)

func TestConfigCheck(t *testing.T) {
	ok := Config{Kubeconfig: "k", Node: "n", Image: "i", N: 50}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Config{{Node: "n", Image: "i", N: 50}, {Kubeconfig: "k", Node: "n", Image: "i", N: 1}, {Kubeconfig: "k", Node: "n", Image: "i", N: 501},
		{Kubeconfig: "k", Node: "n", Image: "i", N: 50, UpstreamNode: "n"}} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestWriteTableAndCSV(t *testing.T) {
	results := map[string]*samples{
		"kubenext": {inPlace: []time.Duration{ms(120), ms(80), 100500 * time.Microsecond}, recreate: []time.Duration{ms(2100), ms(1900)}},
		"upstream": {inPlace: []time.Duration{ms(150), ms(90)}, recreate: []time.Duration{ms(2000), ms(2200)}},
	}
	kubelets := []string{"kubenext", "upstream"}
	var out bytes.Buffer
	writeTable(&out, kubelets, results)
	want := `| method | kubenext p50 | kubenext p99 | kubenext samples | upstream p50 | upstream p99 | upstream samples |
| --- | --- | --- | --- | --- | --- | --- |
| in-place resize (patch to status) | 100 ms | 120 ms | 3 | 90 ms | 150 ms | 2 |
| delete and recreate (delete to Ready) | 1900 ms | 2100 ms | 2 | 2000 ms | 2200 ms | 2 |
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	path := filepath.Join(t.TempDir(), "resize.csv")
	if err := writeCSV(path, kubelets, results); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "kubelet,method,round,ms\nkubenext,in-place,0,120.0\nkubenext,in-place,1,80.0\nkubenext,in-place,2,100.5\nupstream,in-place,0,150.0\nupstream,in-place,1,90.0\n" +
		"kubenext,recreate,0,2100.0\nkubenext,recreate,1,1900.0\nupstream,recreate,0,2000.0\nupstream,recreate,1,2200.0\n"; string(got) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if err := writeCSV("", kubelets, results); err != nil {
		t.Error(err)
	}
}

// The kubelets take turns, and the first of a round alternates, so that
// neither always runs right after the other's work.
func TestInTurnAlternatesTheFirstKubelet(t *testing.T) {
	b := &bench{targets: []target{{"kubenext", "w"}, {"upstream", "w3"}}}
	for round, first := range []string{"kubenext", "upstream", "kubenext", "upstream"} {
		turn := b.inTurn(round)
		if len(turn) != 2 || turn[0].kubelet != first || turn[0] == turn[1] {
			t.Errorf("round %d: %v, want %s first and both", round, turn, first)
		}
	}
	alone := &bench{targets: []target{{"kubenext", "w"}}}
	if turn := alone.inTurn(1); len(turn) != 1 {
		t.Errorf("one kubelet: %v", turn)
	}
}

// Every round changes the limit, and the patch asks for what the status
// check then waits for.
func TestRoundsResizeToWhatTheyWaitFor(t *testing.T) {
	b := &bench{Config: Config{Node: "w", Image: "img"}}
	pod := b.pod("p", "w", cpuShape(200))
	for round := range 4 {
		limit := limitFor(round)
		if limit == limitFor(round+1) {
			t.Fatalf("rounds %d and %d ask for the same limit", round, round+1)
		}
		raw, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		patched, err := strategicpatch.StrategicMergePatch(raw, resizePatch(limit), &v1.Pod{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(patched), `"limits":{"cpu":"`+resource.NewMilliQuantity(limit, resource.DecimalSI).String()+`"`) {
			t.Errorf("round %d: patched pod %s", round, patched)
		}
	}
	if res := cpuShape(300); res.Requests.Cpu().MilliValue() != 150 || res.Limits.Cpu().MilliValue() != 300 {
		t.Errorf("cpuShape(300) = %+v", res)
	}
	c := pod.Spec.Containers[0]
	if pod.Spec.NodeName != "w" || c.Image != "img" || c.ImagePullPolicy != v1.PullNever || len(c.ResizePolicy) != 2 || c.ResizePolicy[0].RestartPolicy != v1.NotRequired {
		t.Errorf("pod %+v", pod.Spec)
	}
}

func TestStatusLimitMilli(t *testing.T) {
	p := &v1.Pod{}
	if statusLimitMilli(p) != -1 {
		t.Error("no status must be -1")
	}
	p.Status.ContainerStatuses = []v1.ContainerStatus{{Resources: &v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("300m")}}}}
	if got := statusLimitMilli(p); got != 300 {
		t.Errorf("statusLimitMilli = %d", got)
	}
}

func TestUntilEvent(t *testing.T) {
	w := watch.NewFakeWithChanSize(3, false)
	w.Modify(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	w.Modify(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: v1.PodStatus{Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}}})
	if err := untilEvent(context.Background(), w, time.Minute, ready); err != nil {
		t.Errorf("the Ready event was missed: %v", err)
	}
	if err := untilEvent(context.Background(), watch.NewFake(), 10*time.Millisecond, ready); err == nil || err.Error() != "not seen within 10ms" {
		t.Errorf("timeout: %v", err)
	}
	closed := watch.NewFake()
	closed.Stop()
	if err := untilEvent(context.Background(), closed, time.Minute, ready); err == nil || err.Error() != "watch closed" {
		t.Errorf("closed: %v", err)
	}
}
