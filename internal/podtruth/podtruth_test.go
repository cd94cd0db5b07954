package podtruth

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubenext/kubenext/internal/nodecri"
)

var (
	started  = time.Date(2026, 12, 1, 8, 45, 7, 554_000_000, time.UTC)
	finished = started.Add(2 * time.Second)
)

func runtimeExited(id string, attempt uint32, exit int32, reason string, ran bool) nodecri.Status {
	s := nodecri.Status{ID: id, Metadata: nodecri.Metadata{Name: "main", Attempt: attempt}, State: nodecri.ContainerExited,
		ExitCode: exit, Reason: reason, FinishedAt: nodecri.Time{Time: finished}}
	if ran {
		s.StartedAt = nodecri.Time{Time: started}
	} else {
		s.StartedAt = nodecri.Time{Time: time.Unix(0, 0)}
	}
	return s
}

// apiPod is what the kubelet reports: times at one-second resolution.
func apiPod(phase v1.PodPhase, id string, exit int32, reason string, ran bool) *v1.Pod {
	t := &v1.ContainerStateTerminated{ExitCode: exit, Reason: reason, ContainerID: "containerd://" + id,
		FinishedAt: metav1.NewTime(finished.Truncate(time.Second)), StartedAt: metav1.NewTime(time.Unix(0, 0))}
	if ran {
		t.StartedAt = metav1.NewTime(started.Truncate(time.Second))
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "main"}}},
		Status: v1.PodStatus{Phase: phase, ContainerStatuses: []v1.ContainerStatus{{
			Name: "main", ContainerID: t.ContainerID, State: v1.ContainerState{Terminated: t}}}},
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		runtime  []nodecri.Status
		neverRan bool
		disagree string
	}{
		{"ran and succeeded", apiPod(v1.PodSucceeded, "c1", 0, "Completed", true),
			[]nodecri.Status{runtimeExited("c1", 0, 0, "Completed", true)}, false, ""},
		{"runc StartError, reported so", apiPod(v1.PodFailed, "c1", 128, "StartError", false),
			[]nodecri.Status{runtimeExited("c1", 0, 128, "StartError", false)}, true, ""},
		{"lost across a restart, reported so", apiPod(v1.PodFailed, "c1", 255, "Unknown", false),
			[]nodecri.Status{runtimeExited("c1", 0, 255, "Unknown", false)}, true, ""},
		{"exit code differs", apiPod(v1.PodFailed, "c1", 137, "Error", true),
			[]nodecri.Status{runtimeExited("c1", 0, 0, "Completed", true)}, false, "exit code: API 137, runtime 0"},
		{"the kubelet invented an unknown status", apiPod(v1.PodFailed, "c1", 137, "ContainerStatusUnknown", true),
			nil, false, "the runtime has no container main"},
		{"phase wrong for the exit", apiPod(v1.PodFailed, "c1", 0, "Completed", true),
			[]nodecri.Status{runtimeExited("c1", 0, 0, "Completed", true)}, false, "phase Failed"},
		{"API shows an older container", apiPod(v1.PodSucceeded, "c1", 0, "Completed", true),
			[]nodecri.Status{runtimeExited("c1", 0, 0, "Completed", true), runtimeExited("c2", 1, 0, "Completed", true)}, false, "the runtime's latest is c2"},
		{"duplicate attempt", apiPod(v1.PodSucceeded, "c1", 0, "Completed", true),
			[]nodecri.Status{runtimeExited("c1", 0, 0, "Completed", true), runtimeExited("c2", 0, 0, "Completed", true)}, false, "two containers of attempt 0"},
		{"still running in the runtime", apiPod(v1.PodSucceeded, "c1", 0, "Completed", true),
			[]nodecri.Status{{ID: "c1", Metadata: nodecri.Metadata{Name: "main"}, State: nodecri.ContainerRunning}}, false, "the runtime says main CONTAINER_RUNNING"},
		{"API says it started, runtime never started it", apiPod(v1.PodFailed, "c1", 128, "StartError", true),
			[]nodecri.Status{runtimeExited("c1", 0, 128, "StartError", false)}, false, "started: API true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(tc.pod, "main", tc.runtime)
			if tc.disagree == "" && v.Disagreement != "" {
				t.Fatalf("unexpected disagreement: %s", v.Disagreement)
			}
			if tc.disagree != "" && !strings.Contains(v.Disagreement, tc.disagree) {
				t.Fatalf("disagreement %q, want it to say %q", v.Disagreement, tc.disagree)
			}
			if tc.disagree == "" && v.NeverRan != tc.neverRan {
				t.Fatalf("NeverRan = %v, want %v", v.NeverRan, tc.neverRan)
			}
		})
	}
}

func TestFinishTimeSecondsAreCompared(t *testing.T) {
	pod := apiPod(v1.PodSucceeded, "c1", 0, "Completed", true)
	rt := runtimeExited("c1", 0, 0, "Completed", true)
	rt.FinishedAt.Time = rt.FinishedAt.Add(time.Second)
	if v := Check(pod, "main", []nodecri.Status{rt}); !strings.Contains(v.Disagreement, "finish time") {
		t.Fatalf("a finish time a second off must disagree, got %+v", v)
	}
}

func TestSummary(t *testing.T) {
	freeze := runtimeExited("c1", 0, 128, "StartError", false)
	freeze.Message = "runc create failed: unable to freeze"
	got := Summary([]Verdict{{Pod: "a", NeverRan: true, Runtime: &freeze}, {Pod: "b", NeverRan: true, Runtime: &freeze}, {Pod: "c"}})
	if !strings.Contains(got, "2 never ran (exit 128 StartError: runc create failed: unable to freeze): a, b") {
		t.Fatalf("Summary = %q", got)
	}
	if Summary([]Verdict{{Pod: "c"}}) != "every container ran" {
		t.Fatal("no never-ran containers")
	}
	if d := Disagreements([]Verdict{{Pod: "a", Container: "main", Disagreement: "x"}, {Pod: "b"}}); len(d) != 1 || d[0] != "pod a container main: x" {
		t.Fatalf("Disagreements = %v", d)
	}
}
