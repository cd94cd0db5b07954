// Package podtruth compares what the API says about a pod's containers
// with what the node's runtime recorded. A settled pod whose status
// disagrees with its runtime is a kubelet bug (the PLEG missed or invented
// a change); a container the runtime could not start is not, as long as
// the API says so too.
package podtruth

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/kubenext/kubenext/internal/nodecri"
)

// Verdict is the outcome for one container of one settled pod.
type Verdict struct {
	Pod, Container string
	// NeverRan: the runtime never started it (StartError, or lost across
	// a runtime restart), and the API agrees.
	NeverRan bool
	// Runtime is the runtime's record, for reports.
	Runtime *nodecri.Status
	// Disagreement says how the API differs from the runtime; empty when
	// they agree.
	Disagreement string
}

// Check compares container name of a settled pod (phase Succeeded or
// Failed) with the runtime's records of that pod's containers.
func Check(pod *v1.Pod, name string, runtime []nodecri.Status) Verdict {
	v := Verdict{Pod: pod.Name, Container: name}
	disagree := func(format string, args ...any) Verdict {
		v.Disagreement = fmt.Sprintf(format, args...)
		return v
	}
	var api *v1.ContainerStatus
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			api = &pod.Status.ContainerStatuses[i]
		}
	}
	latest, dup := latestAttempt(runtime, name)
	if dup != "" {
		return disagree("the runtime holds two containers %s", dup)
	}
	if latest == nil {
		if api == nil || api.State.Terminated == nil || neverStarted(api.State.Terminated) {
			v.NeverRan = true
			return v // never created, and the API does not claim it ran
		}
		return disagree("the API says it ran (%s) but the runtime has no container %s", describeAPI(api), name)
	}
	v.Runtime = latest
	if api == nil {
		return disagree("the runtime has %s but the API has no status", latest.Describe())
	}
	t := api.State.Terminated
	if latest.State != nodecri.ContainerExited {
		return disagree("the pod is %s but the runtime says %s", pod.Status.Phase, latest.Describe())
	}
	if t == nil {
		return disagree("the runtime has %s, the API %s", latest.Describe(), describeAPI(api))
	}
	if want := "containerd://" + latest.ID; api.ContainerID != "" && api.ContainerID != want && !strings.HasSuffix(api.ContainerID, "://"+latest.ID) {
		return disagree("the API shows container %s, the runtime's latest is %s", api.ContainerID, latest.ID)
	}
	switch {
	case t.ExitCode != latest.ExitCode:
		return disagree("exit code: API %d, runtime %d (%s)", t.ExitCode, latest.ExitCode, latest.Describe())
	case t.Reason != latest.Reason:
		return disagree("reason: API %q, runtime %q", t.Reason, latest.Reason)
	case neverStarted(t) != !latest.Started():
		return disagree("started: API %v (%s), runtime %v", !neverStarted(t), t.StartedAt.UTC().Format("15:04:05"), latest.Started())
	case latest.Started() && t.StartedAt.Unix() != latest.StartedAt.Unix():
		return disagree("start time: API %s, runtime %s", t.StartedAt.UTC().Format("15:04:05"), latest.StartedAt.Format("15:04:05.000"))
	case t.FinishedAt.Unix() != latest.FinishedAt.Unix():
		return disagree("finish time: API %s, runtime %s", t.FinishedAt.UTC().Format("15:04:05"), latest.FinishedAt.Format("15:04:05.000"))
	}
	succeeded := latest.Started() && latest.ExitCode == 0
	if single := len(pod.Spec.Containers) == 1; single && succeeded != (pod.Status.Phase == v1.PodSucceeded) {
		return disagree("phase %s, but the runtime says %s", pod.Status.Phase, latest.Describe())
	}
	v.NeverRan = !latest.Started()
	return v
}

// latestAttempt is the runtime's newest container of that name, and a
// description of any two that share an attempt number (k/k#121003).
func latestAttempt(runtime []nodecri.Status, name string) (*nodecri.Status, string) {
	var latest *nodecri.Status
	seen := map[uint32]string{}
	for i := range runtime {
		s := &runtime[i]
		if s.Metadata.Name != name {
			continue
		}
		if other, ok := seen[s.Metadata.Attempt]; ok {
			return nil, fmt.Sprintf("of attempt %d: %s and %s", s.Metadata.Attempt, other, s.ID)
		}
		seen[s.Metadata.Attempt] = s.ID
		if latest == nil || s.Metadata.Attempt > latest.Metadata.Attempt {
			latest = s
		}
	}
	return latest, ""
}

// neverStarted: the kubelet copies the runtime's start time of 0, which
// the API shows as the Unix epoch.
func neverStarted(t *v1.ContainerStateTerminated) bool {
	return t.StartedAt.IsZero() || t.StartedAt.Unix() <= 0
}

func describeAPI(s *v1.ContainerStatus) string {
	switch {
	case s.State.Terminated != nil:
		t := s.State.Terminated
		return fmt.Sprintf("terminated exit %d (%s)", t.ExitCode, t.Reason)
	case s.State.Running != nil:
		return "running"
	case s.State.Waiting != nil:
		return "waiting (" + s.State.Waiting.Reason + ")"
	}
	return "no state"
}

// Summary counts the containers that never ran by the runtime's reason,
// for the spec's report.
func Summary(verdicts []Verdict) string {
	byReason := map[string][]string{}
	for _, v := range verdicts {
		if !v.NeverRan {
			continue
		}
		reason := "never created"
		if v.Runtime != nil {
			reason = fmt.Sprintf("exit %d %s: %.120s", v.Runtime.ExitCode, v.Runtime.Reason, v.Runtime.Message)
		}
		byReason[reason] = append(byReason[reason], v.Pod)
	}
	if len(byReason) == 0 {
		return "every container ran"
	}
	var reasons []string
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var b strings.Builder
	for _, r := range reasons {
		fmt.Fprintf(&b, "%d never ran (%s): %s\n", len(byReason[r]), r, strings.Join(byReason[r], ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// Disagreements lists the verdicts whose API status is not the runtime's.
func Disagreements(verdicts []Verdict) []string {
	var out []string
	for _, v := range verdicts {
		if v.Disagreement != "" {
			out = append(out, fmt.Sprintf("pod %s container %s: %s", v.Pod, v.Container, v.Disagreement))
		}
	}
	return out
}
