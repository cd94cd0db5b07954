package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefeatures "k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	e2ejob "k8s.io/kubernetes/test/e2e/framework/job"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/features"
)

// The TerminatePod restart rule action (issue 20): the keystone in the
// shape of upstream's restart rules, and upstream's RestartAllContainers
// (KEP-5532) beside it.

const workDir = "/work"

// countedRuns is a main container that exits with codes[n-1] on its n-th
// run (the last code from then on), counting runs in an emptyDir that
// survives in-place restarts. It sleeps first, so that every run is seen.
func countedRuns(codes ...int32) string {
	var cases strings.Builder
	for i, c := range codes[:len(codes)-1] {
		fmt.Fprintf(&cases, "%d) exit %d;; ", i+1, c)
	}
	return fmt.Sprintf(`n=$(cat %[1]s/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s/runs; sleep 2; case $n in %[2]s*) exit %[3]d;; esac`,
		workDir, cases.String(), codes[len(codes)-1])
}

func exitCodeRule(action v1.ContainerRestartRuleAction, op v1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) v1.ContainerRestartRule {
	return v1.ContainerRestartRule{Action: action, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
}

// issueRules are issue 20's: exit 42 restarts main in place, any other
// exit ends the pod.
var issueRules = []v1.ContainerRestartRule{
	exitCodeRule(v1.ContainerRestartRuleActionRestart, v1.ContainerRestartRuleOnExitCodesOpIn, 42),
	exitCodeRule(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpNotIn, 42),
}

// rulesPodOn builds a pod on node with a "main" container that runs script
// under restartPolicy Never and rules, and a native sidecar (an init
// container with restartPolicy Always) that runs sidecar.
func rulesPodOn(node, name, script, sidecar string, rules []v1.ContainerRestartRule) *v1.Pod {
	pod := testPod(name, node, script)
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	pod.Spec.Volumes = []v1.Volume{{Name: "work", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	main := &pod.Spec.Containers[0]
	main.RestartPolicy = ptr.To(v1.ContainerRestartPolicyNever)
	main.RestartPolicyRules = rules
	main.VolumeMounts = []v1.VolumeMount{{Name: "work", MountPath: workDir}}
	side := v1.Container{
		Name:            "sidecar",
		Image:           main.Image,
		ImagePullPolicy: main.ImagePullPolicy,
		Command:         []string{"sh", "-c", sidecar},
		RestartPolicy:   ptr.To(v1.ContainerRestartPolicyAlways),
	}
	pod.Spec.InitContainers = []v1.Container{side}
	return pod
}

// rulesJob wraps rulesPodOn's pod in a Job.
func rulesJob(node, name string, backoffLimit int32, grace int64, codes ...int32) *batchv1.Job {
	pod := rulesPodOn(node, name, countedRuns(codes...), sidecarIgnoresTerm, issueRules)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To(grace)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoffLimit),
			// e2ejob.GetJobPods finds a Job's pods by this label.
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{e2ejob.JobSelectorKey: name}}, Spec: pod.Spec},
		},
	}
}

// waitForRestartedInPlace waits until main of pod has restarted once in
// place, and returns the pod at that point.
func waitForRestartedInPlace(ctx context.Context, f *framework.Framework, name string, timeout time.Duration) *v1.Pod {
	var got *v1.Pod
	framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, name, "main restarted in place", timeout,
		func(p *v1.Pod) (bool, error) {
			got = p
			for _, s := range p.Status.ContainerStatuses {
				if s.Name == "main" {
					return s.RestartCount >= 1, nil
				}
			}
			return false, nil
		}))
	return got
}

// jobPod returns the Job's only pod.
func jobPod(ctx context.Context, f *framework.Framework, job string) v1.Pod {
	pods, err := e2ejob.GetJobPods(ctx, f.ClientSet, f.Namespace.Name, job)
	framework.ExpectNoError(err)
	gomega.Expect(pods.Items).To(gomega.HaveLen(1), "job %s", job)
	return pods.Items[0]
}

// firstJobPod waits for the Job's first pod to exist and returns its name.
func firstJobPod(ctx context.Context, f *framework.Framework, job string) string {
	var name string
	gomega.Eventually(ctx, func(ctx context.Context) (int, error) {
		pods, err := e2ejob.GetJobPods(ctx, f.ClientSet, f.Namespace.Name, job)
		if err != nil {
			return 0, err
		}
		if len(pods.Items) > 0 {
			name = pods.Items[0].Name
		}
		return len(pods.Items), nil
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(gomega.BeNumerically(">=", 1), "job %s creates a pod", job)
	return name
}

var _ = ginkgo.Describe("TerminatePod restart rules", framework.WithFeatureGate(features.ContainerRestartRuleTerminatePod), needsOurKubelet, func() {
	f := framework.NewDefaultFramework("terminatepod")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("restarts main in place on exit 42, then completes the Job on exit 0 within the grace period", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		const grace = 5
		job, err := e2ejob.CreateJob(ctx, f.ClientSet, f.Namespace.Name, rulesJob(node, "terminatepod-job", 0, grace, 42, 0))
		framework.ExpectNoError(err)

		ginkgo.By("waiting for exit 42 to restart main in place")
		restarted := waitForRestartedInPlace(ctx, f, firstJobPod(ctx, f, job.Name), waitTimeout(ctx, f, node, 2*time.Minute))
		last := containerStatus(restarted, "main").LastTerminationState.Terminated
		gomega.Expect(last).NotTo(gomega.BeNil(), "main's last termination")
		gomega.Expect(last.ExitCode).To(gomega.Equal(int32(42)))

		ginkgo.By("waiting for exit 0 to complete the Job")
		framework.ExpectNoError(e2ejob.WaitForJobComplete(ctx, f.ClientSet, f.Namespace.Name, job.Name, batchv1.JobReasonCompletionsReached, 1))
		pod := jobPod(ctx, f, job.Name)
		gomega.Expect(pod.UID).To(gomega.Equal(restarted.UID), "the same pod throughout")
		gomega.Expect(pod.Status.Phase).To(gomega.Equal(v1.PodSucceeded))
		main := containerStatus(&pod, "main")
		gomega.Expect(main.RestartCount).To(gomega.Equal(int32(1)))
		gomega.Expect(terminatedState(&pod, "main").ExitCode).To(gomega.BeZero())
		gomega.Expect(terminatedState(&pod, "sidecar").ExitCode).To(gomega.Equal(int32(137)), "the sidecar ignores SIGTERM: SIGKILL")

		// The sidecar was asked to stop at once, and killed when its grace
		// period ended; the Job completed right after.
		stop := measureStop(ctx, f, node, &pod, "sidecar", "main")
		expectKubeletStopped(stop, kubeletStopBound, grace*time.Second)
		gomega.Expect(stop.runtime()).To(gomega.BeNumerically(">=", stop.timeout), "killed before its grace period ended: %s", stop)
		expectStoppedWithin(stop, (grace+10)*time.Second)
		job, err = e2ejob.GetJob(ctx, f.ClientSet, f.Namespace.Name, job.Name)
		framework.ExpectNoError(err)
		gomega.Expect(job.Status.CompletionTime).NotTo(gomega.BeNil())
		// API times have whole seconds: one more on each side.
		took := job.Status.CompletionTime.Sub(terminatedState(&pod, "main").FinishedAt.Time)
		gomega.Expect(took).To(gomega.BeNumerically("<=", stop.slowdown.of((grace+10)*time.Second)),
			"the Job completed %v after main exited; grace period %ds", took, grace)
		gomega.Expect(job.Status.Succeeded).To(gomega.Equal(int32(1)))
		gomega.Expect(job.Status.Failed).To(gomega.BeZero())
	})

	ginkgo.It("fails the pod on a final exit 3, and the Job counts it against backoffLimit", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		job, err := e2ejob.CreateJob(ctx, f.ClientSet, f.Namespace.Name, rulesJob(node, "terminatepod-job-fails", 1, 5, 42, 3))
		framework.ExpectNoError(err)
		framework.ExpectNoError(e2ejob.WaitForJobFailed(ctx, f.ClientSet, f.Namespace.Name, job.Name))
		job, err = e2ejob.GetJob(ctx, f.ClientSet, f.Namespace.Name, job.Name)
		framework.ExpectNoError(err)
		// backoffLimit 1: two failed pods. The in-place restarts on 42 are
		// not failures: each pod restarted main once and failed once.
		gomega.Expect(job.Status.Failed).To(gomega.Equal(int32(2)), "backoffLimit 1: two failed pods")
		gomega.Expect(jobFailedReason(job)).To(gomega.Equal(batchv1.JobReasonBackoffLimitExceeded))
		pods, err := e2ejob.GetJobPods(ctx, f.ClientSet, f.Namespace.Name, job.Name)
		framework.ExpectNoError(err)
		gomega.Expect(pods.Items).To(gomega.HaveLen(2))
		for i := range pods.Items {
			pod := &pods.Items[i]
			gomega.Expect(pod.Status.Phase).To(gomega.Equal(v1.PodFailed), "pod %s", pod.Name)
			gomega.Expect(containerStatus(pod, "main").RestartCount).To(gomega.Equal(int32(1)), "pod %s", pod.Name)
			gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.Equal(int32(3)), "pod %s", pod.Name)
			gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(137)), "pod %s", pod.Name)
		}
	})

	ginkgo.It("ends the pod correctly when the kubelet restarts during termination", framework.WithDisruptive(), framework.WithSerial(), func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		leaveNodesClean(f, node)
		pod := rulesPodOn(node, "terminatepod-restart", countedRuns(42, 0), sidecarIgnoresTerm, issueRules)
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		ginkgo.By("waiting for the kubelet to start stopping the sidecar")
		gomega.Eventually(ctx, func(ctx context.Context) bool {
			events, err := f.ClientSet.CoreV1().Events(f.Namespace.Name).List(ctx, metav1.ListOptions{
				FieldSelector: "involvedObject.name=" + pod.Name + ",reason=Killing"})
			return err == nil && len(events.Items) > 0
		}).WithTimeout(waitTimeout(ctx, f, node, 2*time.Minute)).WithPolling(200 * time.Millisecond).
			Should(gomega.BeTrueBecause("the kubelet must kill the sidecar after main's TerminatePod exit"))
		ginkgo.By("restarting the kubelet on " + node)
		restartKubeletAndWaitReady(ctx, f, node)
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, 2*time.Minute)
		gomega.Expect(containerStatus(pod, "main").RestartCount).To(gomega.Equal(int32(1)))
		gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.BeZero())
		gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(137)))
		// The restarted kubelet takes over the termination; SIGKILL comes
		// within two grace periods of main's exit.
		stop := measureStop(ctx, f, node, pod, "sidecar", "main")
		expectKubeletStopped(stop, kubeletStopBound, 20*time.Second)
		expectStoppedWithin(stop, 40*time.Second)
	})

	ginkgo.It("leaves pods to upstream's rules on a kubelet with the gate off", func(ctx context.Context) {
		node := nodeWithKeystoneGate(ctx, f, false)
		gomega.Expect(kubeletFeatureGates(ctx, f, node)).To(gomega.HaveKeyWithValue(string(features.ContainerRestartRuleTerminatePod), false), "the kubelet on %s", node)
		pod := rulesPodOn(node, "terminatepod-gate-off", countedRuns(42, 0), sidecarExitsOnTerm, issueRules)
		// A second regular container that runs until stopped: upstream
		// ends a pod only when all of its regular containers are done, so
		// main's TerminatePod exit is what would end this one.
		pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Name: "other", Image: pod.Spec.Containers[0].Image,
			ImagePullPolicy: pod.Spec.Containers[0].ImagePullPolicy, Command: []string{"sh", "-c", sidecarExitsOnTerm}})
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		ginkgo.By("the kubelet admits the pod, and exit 42 restarts main in place (upstream's Restart rule)")
		waitForRestartedInPlace(ctx, f, pod.Name, waitTimeout(ctx, f, node, 2*time.Minute))
		ginkgo.By("exit 0: upstream falls back to main's restartPolicy Never; the other container and the sidecar keep the pod Running")
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "main exited 0", waitTimeout(ctx, f, node, time.Minute),
			func(p *v1.Pod) (bool, error) {
				t := containerStatus(p, "main").State.Terminated
				return t != nil && t.ExitCode == 0, nil
			}))
		gomega.Consistently(ctx, func(ctx context.Context) error {
			p, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			main, other, side := containerStatus(p, "main"), containerStatus(p, "other"), containerStatus(p, "sidecar")
			if p.Status.Phase != v1.PodRunning || side.State.Running == nil || other.State.Running == nil || main.State.Terminated == nil || main.RestartCount != 1 {
				return fmt.Errorf("phase %s, sidecar %+v, other %+v, main %+v restarted %d times", p.Status.Phase, side.State, other.State, main.State, main.RestartCount)
			}
			return nil
		}).WithTimeout(10*time.Second).WithPolling(time.Second).Should(gomega.Succeed(), "with the gate off, main's exit 0 does not end the pod")
	})

	ginkgo.It("combines RestartAllContainers, Restart and TerminatePod on one container", framework.WithFeatureGate(kubefeatures.RestartAllContainersOnContainerExits), func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		rules := []v1.ContainerRestartRule{
			exitCodeRule(v1.ContainerRestartRuleActionRestartAllContainers, v1.ContainerRestartRuleOnExitCodesOpIn, 7),
			exitCodeRule(v1.ContainerRestartRuleActionRestart, v1.ContainerRestartRuleOnExitCodesOpIn, 42),
			exitCodeRule(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpNotIn, 7, 42),
		}
		pod := rulesPodOn(node, "terminatepod-all-three", countedRuns(7, 42, 0), sidecarExitsOnTerm, rules)
		pod.Spec.InitContainers = append([]v1.Container{initCounter(pod)}, pod.Spec.InitContainers...)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, 3*time.Minute)
		gomega.Expect(terminatedState(pod, "main").ExitCode).To(gomega.BeZero())
		// 7 reset the pod (the init container ran again), 42 restarted main
		// in place, 0 ended the pod.
		gomega.Expect(containerStatus(pod, "init").RestartCount).To(gomega.BeNumerically(">=", 1), "the reset reran the init container")
		gomega.Expect(containerStatus(pod, "main").RestartCount).To(gomega.BeNumerically(">=", 2))
		gomega.Expect(terminatedState(pod, "sidecar").ExitCode).To(gomega.Equal(int32(7)), "the sidecar stopped with SIGTERM")
	})
})

// initCounter is a regular init container that counts its runs in pod's
// work volume.
func initCounter(pod *v1.Pod) v1.Container {
	main := pod.Spec.Containers[0]
	return v1.Container{
		Name:            "init",
		Image:           main.Image,
		ImagePullPolicy: main.ImagePullPolicy,
		Command:         []string{"sh", "-c", "echo ran >> " + workDir + "/init-runs"},
		VolumeMounts:    main.VolumeMounts,
	}
}

// waitTimeout scales a timeout by node's slowdown.
func waitTimeout(ctx context.Context, f *framework.Framework, node string, d time.Duration) time.Duration {
	return nodeSlowdown(ctx, f.ClientSet, node).of(d)
}

var _ = ginkgo.Describe("RestartAllContainers (KEP-5532)", framework.WithFeatureGate(kubefeatures.RestartAllContainersOnContainerExits), func() {
	f := framework.NewDefaultFramework("restart-all")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	// Upstream's feature on upstream's code: any kubelet of 1.37 passes it,
	// so the scheduler picks the node.
	ginkgo.It("restarts every container in place with the same pod UID and IP", func(ctx context.Context) {
		rules := []v1.ContainerRestartRule{exitCodeRule(v1.ContainerRestartRuleActionRestartAllContainers, v1.ContainerRestartRuleOnExitCodesOpIn, 7)}
		// main exits 7 on its first run and then keeps running.
		script := fmt.Sprintf(`if [ -f %[1]s/reset ]; then trap 'exit 0' TERM; while true; do sleep 1; done; else touch %[1]s/reset; sleep 2; exit 7; fi`, workDir)
		pod := rulesPodOn("", "restart-all", script, sidecarExitsOnTerm, rules)
		pod.Spec.InitContainers = append([]v1.Container{initCounter(pod)}, pod.Spec.InitContainers...)
		other := v1.Container{Name: "other", Image: pod.Spec.Containers[0].Image, ImagePullPolicy: pod.Spec.Containers[0].ImagePullPolicy,
			Command: []string{"sh", "-c", sidecarExitsOnTerm}}
		pod.Spec.Containers = append(pod.Spec.Containers, other)
		pod = e2epod.NewPodClient(f).Create(ctx, pod)

		ginkgo.By("recording the pod's UID and IP before the reset")
		var uid types.UID
		var ip, node string
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "pod IP assigned", framework.PodStartTimeout,
			func(p *v1.Pod) (bool, error) {
				uid, ip, node = p.UID, p.Status.PodIP, p.Spec.NodeName
				return ip != "", nil
			}))

		ginkgo.By("waiting for every container to have restarted and to run again")
		containers := []string{"init", "sidecar", "main", "other"}
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "all containers restarted", waitTimeout(ctx, f, node, 3*time.Minute),
			func(p *v1.Pod) (bool, error) {
				if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
					return false, fmt.Errorf("pod ended %s", p.Status.Phase)
				}
				if len(p.Status.ContainerStatuses) != 2 || len(p.Status.InitContainerStatuses) != 2 {
					return false, nil
				}
				for _, name := range containers {
					s := containerStatus(p, name)
					if s.RestartCount < 1 {
						return false, nil
					}
					if name != "init" && s.State.Running == nil {
						return false, nil
					}
				}
				return true, nil
			}))
		got, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(got.UID).To(gomega.Equal(uid), "the same pod")
		gomega.Expect(got.Status.PodIP).To(gomega.Equal(ip), "the same sandbox keeps the pod's IP")
		gomega.Expect(got.Status.Phase).To(gomega.Equal(v1.PodRunning))
		runs, stderr, err := e2epod.ExecCommandInContainerWithFullOutput(f, pod.Name, "main", "cat", workDir+"/init-runs")
		framework.ExpectNoError(err, stderr)
		gomega.Expect(strings.Count(runs, "ran")).To(gomega.Equal(2), "the init container ran again, with the volume kept")
	})
})

// terminatePodJobManifest is issue 20's Job, kept in manifests/ as the
// example docs/keystone.md shows. go test runs the suite in its package
// directory.
var terminatePodJobManifest = filepath.Join("..", "..", "manifests", "examples", "keystone", "terminatepod-job.yaml")

var _ = ginkgo.Describe("kubectl and TerminatePod restart rules", framework.WithFeatureGate(features.ContainerRestartRuleTerminatePod), func() {
	f := framework.NewDefaultFramework("terminatepod-kubectl")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("explains pod.spec.containers.restartPolicyRules.action with TerminatePod", func(ctx context.Context) {
		out, stderr, err := kubectl(ctx, "explain", "pod.spec.containers.restartPolicyRules.action")
		framework.ExpectNoError(err, stderr)
		gomega.Expect(out).To(gomega.ContainSubstring("FIELD: action <string>"))
		gomega.Expect(out).To(gomega.ContainSubstring(`"TerminatePod"`))
		gomega.Expect(out).To(gomega.ContainSubstring("ContainerRestartRuleTerminatePod"))
	})

	// The Job's image is a placeholder that would be pulled from the
	// internet: it is applied suspended, so that no pod is created. The
	// client-side apply creates it, the server-side apply takes it over
	// unchanged, and both go through validation, defaulting and the merge.
	ginkgo.It("applies issue 20's Job client-side and server-side", func(ctx context.Context) {
		const rules = "{.spec.template.spec.containers[0].restartPolicyRules[*].action}"
		for _, mode := range [][]string{
			{"apply"},
			{"apply", "--server-side"},
		} {
			args := append(mode, "-n", f.Namespace.Name, "-f", terminatePodJobManifest, "-o", "jsonpath="+rules)
			out, stderr, err := kubectl(ctx, args...)
			framework.ExpectNoError(err, "kubectl %v: %s", mode, stderr)
			gomega.Expect(out).To(gomega.Equal("Restart TerminatePod"), "kubectl %v", mode)
		}
		job, err := f.ClientSet.BatchV1().Jobs(f.Namespace.Name).Get(ctx, "training", metav1.GetOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(job.Spec.Suspend).To(gomega.HaveValue(gomega.BeTrue()), "the example is suspended: nothing runs")
		rule := job.Spec.Template.Spec.Containers[0].RestartPolicyRules[1]
		gomega.Expect(rule.Action).To(gomega.Equal(v1.ContainerRestartRuleActionTerminatePod))
		gomega.Expect(rule.ExitCodes.Operator).To(gomega.Equal(v1.ContainerRestartRuleOnExitCodesOpNotIn))
		gomega.Expect(rule.ExitCodes.Values).To(gomega.Equal([]int32{42}))
	})

	ginkgo.It("refuses TerminatePod where it has no meaning, naming the fix", framework.WithFeatureGate(features.KeystoneContainers), func(ctx context.Context) {
		create := func(pod *v1.Pod) error {
			_, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}
		sidecar := rulesPodOn("", "sidecar", "true", "true", nil)
		sidecar.Spec.InitContainers[0].RestartPolicyRules = issueRules[1:]
		initCtr := rulesPodOn("", "init", "true", "true", nil)
		initCtr.Spec.InitContainers = append(initCtr.Spec.InitContainers, initCounter(initCtr))
		initCtr.Spec.InitContainers[1].RestartPolicy = ptr.To(v1.ContainerRestartPolicyNever)
		initCtr.Spec.InitContainers[1].RestartPolicyRules = issueRules[1:]
		both := rulesPodOn("", "both", "true", "true", issueRules)
		both.Spec.Containers[0].Lifecycle = &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}
		for _, tc := range []struct {
			pod  *v1.Pod
			want string
		}{
			{sidecar, "spec.initContainers[0].restartPolicyRules[0].action: Forbidden: TerminatePod is not valid on sidecar containers"},
			{initCtr, "spec.initContainers[1].restartPolicyRules[0].action: Forbidden: TerminatePod is only valid on regular containers"},
			{both, "spec.containers[0].restartPolicyRules[1].action: Forbidden: a pod uses lifecycle.type: Keystone"},
		} {
			err := create(tc.pod)
			gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("pod %s: %v", tc.pod.Name, err))
			gomega.Expect(err.Error()).To(gomega.ContainSubstring(tc.want))
		}
	})
})
