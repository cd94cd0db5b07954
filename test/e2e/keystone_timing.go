package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/test/e2e/framework"

	"github.com/kubenext/kubenext/internal/nodecri"
	"github.com/kubenext/kubenext/internal/nodejournal"
)

// The kubelet never passes a stop timeout below 2 s
// (minimumGracePeriodInSeconds in kuberuntime).
const minimumStopTimeout = 2 * time.Second

// kubeletStopBound is how long the kubelet may take, from the event that
// calls for it (the keystone's exit, or the last regular container's for
// a native sidecar), to ask the runtime to stop a container.
const kubeletStopBound = time.Second

// stopTiming is how one container was stopped after the keystone exited,
// from the node's own records: the runtime's finish times at full
// resolution and containerd's log of the kubelet's StopContainer request.
type stopTiming struct {
	container string
	after     string    // what the stop waited for: "the keystone" or a container
	from      time.Time // when that finished
	requested time.Time // containerd received StopContainer
	timeout   time.Duration
	finished  time.Time
	slowdown  slowdown // of the node, for the bounds
}

func (s stopTiming) kubelet() time.Duration { return s.requested.Sub(s.from) }
func (s stopTiming) runtime() time.Duration { return s.finished.Sub(s.requested) }
func (s stopTiming) total() time.Duration   { return s.finished.Sub(s.from) }

func (s stopTiming) String() string {
	return fmt.Sprintf("%s stopped %v after %s finished: the kubelet asked the runtime to stop it after %v (timeout %v), the runtime took %v",
		s.container, s.total().Round(time.Millisecond), s.after, s.kubelet().Round(time.Millisecond), s.timeout, s.runtime().Round(time.Millisecond))
}

// runtimeStatuses is the runtime's latest record of each container of pod.
func runtimeStatuses(ctx context.Context, node string, pod *v1.Pod) map[string]nodecri.Status {
	statuses, err := nodeRuntime(node).PodStatuses(ctx, string(pod.UID))
	framework.ExpectNoError(err)
	latest := map[string]nodecri.Status{}
	for _, s := range statuses {
		if have, ok := latest[s.Metadata.Name]; !ok || s.Metadata.Attempt > have.Metadata.Attempt {
			latest[s.Metadata.Name] = s
		}
	}
	return latest
}

// stopRequests are containerd's first StopContainer request for each
// container since the pod was created, by container ID.
func stopRequests(ctx context.Context, node string, pod *v1.Pod) map[string]nodecri.StopRequest {
	entries, err := nodejournal.Read(ctx, provider.Node(node), nodejournal.Query{
		Unit: "containerd", Since: pod.CreationTimestamp.Add(-time.Second), Grep: nodecri.StopRequestGrep})
	framework.ExpectNoError(err)
	return nodecri.FirstStopRequests(entries)
}

// measureStop reads how container was stopped after the container named
// after had finished ("main" is the keystone).
func measureStop(ctx context.Context, f *framework.Framework, node string, pod *v1.Pod, container, after string) stopTiming {
	statuses := runtimeStatuses(ctx, node, pod)
	c, ok := statuses[container]
	gomega.Expect(ok).To(gomega.BeTrueBecause("the runtime on %s has no container %s of pod %s", node, container, pod.Name))
	prev, ok := statuses[after]
	gomega.Expect(ok).To(gomega.BeTrueBecause("the runtime on %s has no container %s of pod %s", node, after, pod.Name))
	t := stopTiming{container: container, after: after, from: prev.FinishedAt.Time, finished: c.FinishedAt.Time,
		slowdown: nodeSlowdown(ctx, f.ClientSet, node)}
	if after == "main" {
		t.after = "the keystone"
	}
	req, ok := stopRequests(ctx, node, pod)[c.ID]
	gomega.Expect(ok).To(gomega.BeTrueBecause("containerd on %s logged no StopContainer for %s (%s): the kubelet never asked it to stop", node, container, c.ID))
	t.requested, t.timeout = req.At, req.Timeout
	framework.Logf("%s", t)
	return t
}

// stopTimeout is the timeout the kubelet passes for a container without a
// preStop hook: the pod's grace period, at least 2 s.
func stopTimeout(pod *v1.Pod) time.Duration {
	grace := 30 * time.Second
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return max(grace, minimumStopTimeout)
}

// expectKubeletStopped checks the kubelet's own part: it asked promptly,
// with the grace period it should.
func expectKubeletStopped(t stopTiming, bound, timeout time.Duration) {
	bound = t.slowdown.of(bound)
	gomega.Expect(t.kubelet()).To(gomega.BeNumerically("<=", bound), "the kubelet's part is too slow: %s", t)
	gomega.Expect(t.timeout).To(gomega.Equal(timeout), "the grace period the kubelet passed: %s", t)
}

// expectStoppedWithin is the end-to-end check; its message says which
// side took the time. On a slow node only the part beyond the grace
// period grows: the runtime waits that out at any speed.
func expectStoppedWithin(t stopTiming, bound time.Duration) {
	if bound > t.timeout {
		bound = t.timeout + t.slowdown.of(bound-t.timeout)
	}
	side := "the runtime"
	if t.kubelet() > t.runtime() {
		side = "the kubelet"
	}
	gomega.Expect(t.total()).To(gomega.BeNumerically("<=", bound), "%s took most of it: %s", side, t)
}
