package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/test/e2e/framework"
	e2ejob "k8s.io/kubernetes/test/e2e/framework/job"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/features"
)

// Scripts for the busybox test image. The sidecars stand in for injected
// proxies: they run until told to stop.
const (
	sidecarExitsOnTerm = `trap 'exit 7' TERM; while true; do sleep 1; done`
	sidecarIgnoresTerm = `trap '' TERM; while true; do sleep 1; done`
	writePreStopMarker = `echo prestop-ran > /dev/termination-log`
)

func keystoneScript(afterSeconds, exitCode int) string {
	return fmt.Sprintf("sleep %d; exit %d", afterSeconds, exitCode)
}

// keystonePodOn builds a pod with a keystone "main" and an ordinary
// "sidecar" on node.
func keystonePodOn(node, name string, policy v1.RestartPolicy, keystone, sidecar string) *v1.Pod {
	pod := testPod(name, node, keystone)
	pod.Spec.RestartPolicy = policy
	pod.Spec.Containers[0].Lifecycle = &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}
	side := pod.Spec.Containers[0]
	side.Name, side.Lifecycle = "sidecar", nil
	side.Command = []string{"sh", "-c", sidecar}
	pod.Spec.Containers = append(pod.Spec.Containers, side)
	return pod
}

func containerStatus(pod *v1.Pod, name string) v1.ContainerStatus {
	for _, s := range append(append([]v1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.InitContainerStatuses...) {
		if s.Name == name {
			return s
		}
	}
	framework.Failf("pod %s has no status for container %s", pod.Name, name)
	return v1.ContainerStatus{}
}

func terminatedState(pod *v1.Pod, name string) *v1.ContainerStateTerminated {
	t := containerStatus(pod, name).State.Terminated
	gomega.Expect(t).NotTo(gomega.BeNil(), "container %s of pod %s has not terminated", name, pod.Name)
	return t
}

func waitForPhase(ctx context.Context, f *framework.Framework, pod *v1.Pod, phase v1.PodPhase, timeout time.Duration) *v1.Pod {
	if pod.Spec.NodeName != "" {
		// Starting a pod's containers on an emulated node takes minutes.
		timeout = nodeSlowdown(ctx, f.ClientSet, pod.Spec.NodeName).of(timeout)
	}
	framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "phase "+string(phase), timeout,
		func(p *v1.Pod) (bool, error) {
			if p.Status.Phase != phase && (p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed) {
				return false, fmt.Errorf("pod ended %s, want %s", p.Status.Phase, phase)
			}
			return p.Status.Phase == phase, nil
		}))
	got, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
	framework.ExpectNoError(err)
	return got
}

// keystoneNode is a ready worker whose kubelet has the gate on; the specs
// pin their pods to it so that kubelet restarts hit the pod's node.
func keystoneNode(ctx context.Context, f *framework.Framework) string {
	return nodeWithKeystoneGate(ctx, f, true)
}

var _ = ginkgo.Describe("Keystone containers", framework.WithFeatureGate(features.KeystoneContainers), needsOurKubelet, func() {
	f := framework.NewDefaultFramework("keystone")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.DescribeTable("end the pod by the KEP's table",
		func(ctx context.Context, policy v1.RestartPolicy, exitCode int32, want v1.PodPhase) {
			node := keystoneNode(ctx, f)
			pod := keystonePodOn(node, "keystone", policy, keystoneScript(2, int(exitCode)), sidecarExitsOnTerm)
			pod = e2epod.NewPodClient(f).Create(ctx, pod)
			pod = waitForPhase(ctx, f, pod, want, 2*time.Minute)
			gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.Equal(exitCode))
			// The sidecar got SIGTERM and exited 7: the phase ignores it.
			gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(7)))
			stop := measureStop(ctx, f, node, pod, "sidecar", "main")
			expectKubeletStopped(stop, kubeletStopBound, stopTimeout(pod))
			expectStoppedWithin(stop, 3*time.Second)
		},
		ginkgo.Entry("exit 0, restartPolicy Never: Succeeded", v1.RestartPolicyNever, int32(0), v1.PodSucceeded),
		ginkgo.Entry("exit 0, restartPolicy OnFailure: Succeeded", v1.RestartPolicyOnFailure, int32(0), v1.PodSucceeded),
		ginkgo.Entry("exit 3, restartPolicy Never: Failed", v1.RestartPolicyNever, int32(3), v1.PodFailed),
	)

	ginkgo.DescribeTable("restart the keystone when its policy says so",
		func(ctx context.Context, policy v1.RestartPolicy, exitCode int) {
			node := keystoneNode(ctx, f)
			pod := keystonePodOn(node, "keystone", policy, keystoneScript(1, exitCode), sidecarExitsOnTerm)
			pod = e2epod.NewPodClient(f).Create(ctx, pod)
			framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "keystone restarted", 2*time.Minute,
				func(p *v1.Pod) (bool, error) {
					return len(p.Status.ContainerStatuses) == 2 && containerStatus(p, "main").RestartCount >= 1, nil
				}))
			pod, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
			framework.ExpectNoError(err)
			gomega.Expect(pod.Status.Phase).To(gomega.Equal(v1.PodRunning))
			side := containerStatus(pod, "sidecar")
			gomega.Expect(side.State.Running).NotTo(gomega.BeNil(), "the sidecar keeps running")
			gomega.Expect(side.RestartCount).To(gomega.BeZero())
		},
		ginkgo.Entry("exit 3, restartPolicy OnFailure", v1.RestartPolicyOnFailure, 3),
		ginkgo.Entry("exit 0, restartPolicy Always", v1.RestartPolicyAlways, 0),
	)

	ginkgo.It("stops native and ordinary sidecars with their preStop hooks", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		pod := keystonePodOn(node, "keystone-prestop", v1.RestartPolicyNever, keystoneScript(3, 0), `trap 'exit 0' TERM; while true; do sleep 1; done`)
		preStop := &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", writePreStopMarker}}}
		pod.Spec.Containers[1].Lifecycle = &v1.Lifecycle{PreStop: preStop}
		native := pod.Spec.Containers[1]
		native.Name = "native-sidecar"
		native.RestartPolicy = ptr.To(v1.ContainerRestartPolicyAlways)
		pod.Spec.InitContainers = []v1.Container{native}
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, 2*time.Minute)
		for _, c := range []string{"sidecar", "native-sidecar"} {
			t := terminatedState(pod, c)
			gomega.Expect(t.Message).To(gomega.ContainSubstring("prestop-ran"), "the preStop hook of %s", c)
		}
		// The kubelet runs each preStop hook before it asks for the stop,
		// so its part includes the hook's exec; the timeout is what is left
		// of the grace period, at least 2 s.
		const withPreStop = kubeletStopBound + time.Second
		regular := measureStop(ctx, f, node, pod, "sidecar", "main")
		expectKubeletStopped(regular, withPreStop, stopTimeout(pod))
		expectStoppedWithin(regular, 5*time.Second)
		// Native sidecars stop after the regular containers have: by the
		// runtime's finish times, at full resolution.
		nativeStop := measureStop(ctx, f, node, pod, "native-sidecar", "sidecar")
		gomega.Expect(nativeStop.finished.After(regular.finished)).To(gomega.BeTrueBecause(
			"the native sidecar must finish after the regular one: %s; %s", nativeStop, regular))
		expectKubeletStopped(nativeStop, withPreStop, stopTimeout(pod))
		expectStoppedWithin(nativeStop, 5*time.Second)
	})

	ginkgo.It("kills a sidecar that ignores SIGTERM at the end of its grace period", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		pod := keystonePodOn(node, "keystone-stubborn", v1.RestartPolicyNever, keystoneScript(2, 0), sidecarIgnoresTerm)
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, 2*time.Minute)
		gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.BeZero())
		gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(137)), "SIGKILL")
		stop := measureStop(ctx, f, node, pod, "sidecar", "main")
		expectKubeletStopped(stop, kubeletStopBound, 5*time.Second)
		// SIGKILL comes at the end of the grace period, not before.
		gomega.Expect(stop.runtime()).To(gomega.BeNumerically(">=", stop.timeout), "killed before its grace period ended: %s", stop)
		expectStoppedWithin(stop, 15*time.Second)
	})

	ginkgo.It("ends the pod correctly when the kubelet restarts during termination", framework.WithDisruptive(), framework.WithSerial(), func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		leaveNodesClean(f, node)
		pod := keystonePodOn(node, "keystone-restart", v1.RestartPolicyNever, keystoneScript(2, 0), sidecarIgnoresTerm)
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		ginkgo.By("waiting for the kubelet to start stopping the sidecar")
		gomega.Eventually(ctx, func(ctx context.Context) bool {
			events, err := f.ClientSet.CoreV1().Events(f.Namespace.Name).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod.Name + ",reason=Killing"})
			return err == nil && len(events.Items) > 0
		}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(gomega.BeTrueBecause("the kubelet must kill the sidecar after the keystone exits"))
		ginkgo.By("restarting the kubelet on " + node)
		restartKubeletAndWaitReady(ctx, f, node)
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, 2*time.Minute)
		gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.BeZero())
		gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(137)))
		// The first kubelet asked in time with the pod's grace period; the
		// restarted one takes over the termination, and SIGKILL comes
		// within two grace periods of the keystone's exit.
		stop := measureStop(ctx, f, node, pod, "sidecar", "main")
		expectKubeletStopped(stop, kubeletStopBound, 20*time.Second)
		expectStoppedWithin(stop, 40*time.Second)
	})

	ginkgo.It("completes a Job whose sidecar never exits, and counts a failed keystone like a failed pod", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		job := func(name string, exitCode, backoffLimit int32) *batchv1.Job {
			pod := keystonePodOn(node, name, v1.RestartPolicyNever, keystoneScript(1, int(exitCode)), sidecarExitsOnTerm)
			return &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: batchv1.JobSpec{
					BackoffLimit: ptr.To(backoffLimit),
					Template:     v1.PodTemplateSpec{Spec: pod.Spec},
				},
			}
		}
		ok, err := e2ejob.CreateJob(ctx, f.ClientSet, f.Namespace.Name, job("keystone-job", 0, 0))
		framework.ExpectNoError(err)
		framework.ExpectNoError(e2ejob.WaitForJobComplete(ctx, f.ClientSet, f.Namespace.Name, ok.Name, batchv1.JobReasonCompletionsReached, 1))

		failing, err := e2ejob.CreateJob(ctx, f.ClientSet, f.Namespace.Name, job("keystone-job-fails", 1, 1))
		framework.ExpectNoError(err)
		framework.ExpectNoError(e2ejob.WaitForJobFailed(ctx, f.ClientSet, f.Namespace.Name, failing.Name))
		failing, err = e2ejob.GetJob(ctx, f.ClientSet, f.Namespace.Name, failing.Name)
		framework.ExpectNoError(err)
		gomega.Expect(failing.Status.Failed).To(gomega.Equal(int32(2)), "backoffLimit 1: two failed pods")
		gomega.Expect(jobFailedReason(failing)).To(gomega.Equal(batchv1.JobReasonBackoffLimitExceeded))
	})

	ginkgo.It("leaves pods to upstream's rules on a kubelet with the gate off", func(ctx context.Context) {
		node := nodeWithKeystoneGate(ctx, f, false)
		gomega.Expect(kubeletFeatureGates(ctx, f, node)).To(gomega.HaveKeyWithValue(string(features.KeystoneContainers), false), "the kubelet on %s", node)
		pod := keystonePodOn(node, "keystone-gate-off", v1.RestartPolicyNever, keystoneScript(1, 0), sidecarExitsOnTerm)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "keystone exited", time.Minute,
			func(p *v1.Pod) (bool, error) {
				return len(p.Status.ContainerStatuses) == 2 && containerStatus(p, "main").State.Terminated != nil, nil
			}))
		gomega.Consistently(ctx, func(ctx context.Context) error {
			p, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != v1.PodRunning || containerStatus(p, "sidecar").State.Running == nil || containerStatus(p, "main").RestartCount != 0 {
				return fmt.Errorf("phase %s, sidecar %+v, keystone restarts %d", p.Status.Phase, containerStatus(p, "sidecar").State, containerStatus(p, "main").RestartCount)
			}
			return nil
		}).WithTimeout(10*time.Second).WithPolling(time.Second).Should(gomega.Succeed(), "with the gate off the sidecar keeps the pod Running")
	})

	ginkgo.It("rejects invalid keystone specs with clear messages", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		create := func(pod *v1.Pod) error {
			_, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}
		two := keystonePodOn(node, "two", v1.RestartPolicyNever, "true", "true")
		two.Spec.Containers[1].Lifecycle = &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}
		unknown := keystonePodOn(node, "unknown", v1.RestartPolicyNever, "true", "true")
		unknown.Spec.Containers[0].Lifecycle.Type = "Sidecar"
		initKeystone := keystonePodOn(node, "init", v1.RestartPolicyNever, "true", "true")
		initKeystone.Spec.InitContainers = []v1.Container{initKeystone.Spec.Containers[0]}
		initKeystone.Spec.InitContainers[0].Name = "setup"
		for _, tc := range []struct {
			pod  *v1.Pod
			want string
		}{
			{two, "spec.containers[1].lifecycle.type: Invalid value: \"Keystone\": a pod may have at most one keystone container"},
			{unknown, `spec.containers[0].lifecycle.type: Unsupported value: "Sidecar": supported values: "Keystone"`},
			{initKeystone, "spec.initContainers[0].lifecycle.type: Forbidden: only regular containers"},
		} {
			err := create(tc.pod)
			gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("pod %s: %v", tc.pod.Name, err))
			gomega.Expect(err.Error()).To(gomega.ContainSubstring(tc.want))
		}
	})
})

// jobFailedReason is the reason of job's true Failed condition, "" without one.
func jobFailedReason(job *batchv1.Job) string {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == v1.ConditionTrue {
			return c.Reason
		}
	}
	return ""
}
