package startupbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/nodes"
)

func TestConfigCheck(t *testing.T) {
	if err := (Config{Kubeconfig: "k", Image: "i", Pods: 100}).Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Config{{Image: "i", Pods: 1}, {Kubeconfig: "k", Pods: 1}, {Kubeconfig: "k", Image: "i", Pods: 0}, {Kubeconfig: "k", Image: "i", Pods: 201}} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestResidentSetsInTheNode(t *testing.T) {
	script := map[string]exectest.Result{}
	for i, name := range controlPlane {
		script["docker exec kn-control-plane sh -c grep VmRSS /proc/$(pidof "+name+")/status"] = exectest.Result{Stdout: "VmRSS:\t  " + []string{"524288", "102400", "81920", "40960", "61440", "51200"}[i] + " kB\n"}
	}
	fake := &exectest.Cmder{Script: script}
	rss, err := residentSets(context.Background(), (&nodes.Provider{Host: fake}).Node("kn-control-plane"))
	if err != nil {
		t.Fatal(err)
	}
	if rss["kube-apiserver"] != 512<<20 || rss["containerd"] != 50<<20 || len(rss) != len(controlPlane) {
		t.Errorf("rss %v", rss)
	}
	fake.Script["docker exec kn-control-plane sh -c grep VmRSS /proc/$(pidof etcd)/status"] = exectest.Result{ExitCode: 1, Stderr: "grep: /proc//status: No such file"}
	if _, err := residentSets(context.Background(), (&nodes.Provider{Host: fake}).Node("kn-control-plane")); err == nil ||
		!strings.Contains(err.Error(), "VmRSS of etcd") || !strings.Contains(err.Error(), "kn-control-plane") {
		t.Errorf("a process that is not there: %v", err)
	}
}

func TestParseVmRSS(t *testing.T) {
	if kb, err := parseVmRSS("VmRSS:\t  123 kB\n"); err != nil || kb != 123 {
		t.Errorf("parseVmRSS = %d, %v", kb, err)
	}
	for _, bad := range []string{"", "VmHWM: 1 kB", "VmRSS: 1 MB", "VmRSS: x kB"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCreationToRunning(t *testing.T) {
	created := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	runningPod := func(name string, after time.Duration) *v1.Pod {
		return &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "s", CreationTimestamp: metav1.NewTime(created)},
			Status: v1.PodStatus{Phase: v1.PodRunning, ContainerStatuses: []v1.ContainerStatus{{
				State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: metav1.NewTime(created.Add(after))}},
			}}},
		}
	}
	client := fake.NewSimpleClientset(runningPod("a", 3*time.Second), runningPod("b", time.Second))
	got, err := creationToRunning(context.Background(), client, "s")
	if err != nil || len(got) != 2 || got[0] != time.Second || got[1] != 3*time.Second {
		t.Errorf("creationToRunning = %v, %v", got, err)
	}
	pending := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "s"}}
	client = fake.NewSimpleClientset(runningPod("a", time.Second), pending)
	if _, err := creationToRunning(context.Background(), client, "s"); err == nil || !strings.Contains(err.Error(), "pod c has no running container") {
		t.Errorf("a pod not running: %v", err)
	}
	if n := running([]v1.Pod{*runningPod("a", 0), *pending}); n != 1 {
		t.Errorf("running = %d", n)
	}
	if p := pod(7, "img"); p.Name != "p-007" || p.Spec.NodeName != "" || p.Spec.Containers[0].ImagePullPolicy != v1.PullNever {
		t.Errorf("pod %+v", p)
	}
}

func TestWriteTable(t *testing.T) {
	rss := map[string]int64{"kube-apiserver": 512 << 20, "etcd": 100 << 20, "kube-controller-manager": 80 << 20, "kube-scheduler": 40 << 20, "kubelet": 60 << 20, "containerd": 50 << 20}
	var out bytes.Buffer
	writeTable(&out, 100, "kn-control-plane", 41500*time.Millisecond, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}, rss)
	want := `| what | value |
| --- | --- |
| 100 pods: first create to all Running | 41.5 s |
| per pod, creation to Running: p50 / p99 | 20.0 s / 30.0 s |
| RSS at rest, kube-apiserver on kn-control-plane | 512 MiB |
| RSS at rest, etcd on kn-control-plane | 100 MiB |
| RSS at rest, kube-controller-manager on kn-control-plane | 80 MiB |
| RSS at rest, kube-scheduler on kn-control-plane | 40 MiB |
| RSS at rest, kubelet on kn-control-plane | 60 MiB |
| RSS at rest, containerd on kn-control-plane | 50 MiB |
| RSS at rest, all of the above | 842 MiB |
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}
