package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefeatures "k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/podtruth"
)

// kubeletMetric reads one unlabelled sample from node's kubelet /metrics.
func kubeletMetric(ctx context.Context, f *framework.Framework, node, name string) float64 {
	raw, err := f.ClientSet.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/metrics").DoRaw(ctx)
	framework.ExpectNoError(err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			framework.ExpectNoError(err)
			return n
		}
	}
	framework.Failf("kubelet on %s has no metric %s", node, name)
	return 0
}

func expectEventMode(ctx context.Context, f *framework.Framework, node string) {
	gomega.Eventually(ctx, func(ctx context.Context) float64 {
		return kubeletMetric(ctx, f, node, "kubelet_evented_pleg_mode")
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(gomega.Equal(1.0), "the kubelet on %s must be in event mode", node)
}

func shortPod(node, name, script string) *v1.Pod {
	pod := testPod(name, node, script)
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	return pod
}

// waitSettled waits until every named pod has ended (Succeeded or
// Failed) and returns them as the API shows them then.
func waitSettled(ctx context.Context, f *framework.Framework, names []string, timeout time.Duration) []*v1.Pod {
	var pods []*v1.Pod
	for _, name := range names {
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, name, "ended", timeout,
			func(p *v1.Pod) (bool, error) {
				return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed, nil
			}))
		p, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, name, metav1.GetOptions{})
		framework.ExpectNoError(err)
		pods = append(pods, p)
	}
	return pods
}

// checkAgainstRuntime compares each settled pod's status with the records
// of node's runtime and fails the spec on any disagreement. A container the
// runtime could not start (runc's "unable to freeze" StartError on cgroup
// v1 under load, or one lost by a containerd restart between create and
// start) is the runtime's truth: it is counted and reported, and fails the
// spec only if the API says otherwise. For pods whose container ran, the
// termination message must be the pod's own.
func checkAgainstRuntime(ctx context.Context, node string, pods []*v1.Pod) []podtruth.Verdict {
	rt := nodeRuntime(node)
	var verdicts []podtruth.Verdict
	for _, p := range pods {
		statuses, err := rt.PodStatuses(ctx, string(p.UID))
		framework.ExpectNoError(err)
		v := podtruth.Check(p, "main", statuses)
		if v.Disagreement == "" && !v.NeverRan {
			if msg := strings.TrimSpace(p.Status.ContainerStatuses[0].State.Terminated.Message); msg != p.Name {
				v.Disagreement = fmt.Sprintf("termination message %q is not the pod's own", msg)
			}
		}
		verdicts = append(verdicts, v)
	}
	framework.Logf("runtime on %s: %s", node, podtruth.Summary(verdicts))
	gomega.Expect(podtruth.Disagreements(verdicts)).To(gomega.BeEmpty(), "the API must show what the runtime on %s recorded", node)
	return verdicts
}

// duplicateContainers lists sandboxes on node holding two containers with
// the same name and attempt, the failure of k/k#121003 and #121349.
func duplicateContainers(ctx context.Context, node string) []string {
	listed, err := nodeRuntime(node).Containers(ctx, nil)
	framework.ExpectNoError(err)
	seen := map[string]int{}
	var dups []string
	for _, c := range listed {
		key := fmt.Sprintf("%s/%s#%d", c.PodSandboxID, c.Metadata.Name, c.Metadata.Attempt)
		if seen[key]++; seen[key] == 2 {
			dups = append(dups, key)
		}
	}
	return dups
}

type plegCounters struct{ reconnects, fallbacks float64 }

func readPLEGCounters(ctx context.Context, f *framework.Framework, node string) plegCounters {
	return plegCounters{
		reconnects: kubeletMetric(ctx, f, node, "kubelet_evented_pleg_reconnects_total"),
		fallbacks:  kubeletMetric(ctx, f, node, "kubelet_evented_pleg_fallbacks_total"),
	}
}

// scriptWritingName exits 0 after writing the pod's name as its
// termination message, so a status can be told apart from another pod's.
func scriptWritingName(name string) string {
	return fmt.Sprintf("sleep 2; echo %s > /dev/termination-log", name)
}

var _ = ginkgo.Describe("Evented PLEG", framework.WithFeatureGate(kubefeatures.EventedPLEG), needsOurKubelet, func() {
	f := framework.NewDefaultFramework("evented-pleg")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("follows pod churn from CRI events, without the 1 s relist", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		leaveNodesClean(f, node)
		expectEventMode(ctx, f, node)
		relistsBefore := kubeletMetric(ctx, f, node, "kubelet_pleg_relist_duration_seconds_count")
		start := time.Now()
		slow := nodeSlowdown(ctx, f.ClientSet, node)
		// An emulated node takes the 20 pods in batches of 5: 20 sandboxes
		// started at once there outlast the runtime's request timeout.
		batch := 20
		if slow > 1 {
			batch = 5
		}
		var names []string
		for first := 0; first < 20; first += batch {
			var created []string
			for i := first; i < first+batch; i++ {
				name := fmt.Sprintf("churn-%d", i)
				e2epod.NewPodClient(f).Create(ctx, shortPod(node, name, scriptWritingName(name)))
				created = append(created, name)
			}
			checkAgainstRuntime(ctx, node, waitSettled(ctx, f, created, slow.of(2*time.Minute)))
			names = append(names, created...)
		}
		for _, name := range names {
			framework.ExpectNoError(f.ClientSet.CoreV1().Pods(f.Namespace.Name).Delete(ctx, name, metav1.DeleteOptions{}))
		}
		for _, name := range names {
			framework.ExpectNoError(e2epod.WaitForPodNotFoundInNamespace(ctx, f.ClientSet, name, f.Namespace.Name, slow.of(time.Minute)))
		}
		elapsed := time.Since(start)
		relists := kubeletMetric(ctx, f, node, "kubelet_pleg_relist_duration_seconds_count") - relistsBefore
		// Generic relisting would have run about once a second.
		gomega.Expect(relists).To(gomega.BeNumerically("<", elapsed.Seconds()/4),
			"%v full relists in %v: the 1 s relist must be off while events flow", relists, elapsed)
		expectEventMode(ctx, f, node)
	})

	ginkgo.It("sees a crashing container and restarts it", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		expectEventMode(ctx, f, node)
		pod := testPod("crasher", node, "sleep 1; exit 3")
		pod.Spec.RestartPolicy = v1.RestartPolicyAlways
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "restarted twice", 2*time.Minute,
			func(p *v1.Pod) (bool, error) {
				if len(p.Status.ContainerStatuses) == 0 {
					return false, nil
				}
				s := p.Status.ContainerStatuses[0]
				return s.RestartCount >= 2 && s.LastTerminationState.Terminated != nil && s.LastTerminationState.Terminated.ExitCode == 3, nil
			}))
	})

	ginkgo.It("clears readiness as soon as a container terminates (k/k#128820)", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		pod := shortPod(node, "ready-then-gone", "touch /tmp/ready; sleep 5")
		pod.Spec.Containers[0].ReadinessProbe = &v1.Probe{
			ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
			PeriodSeconds: 1,
		}
		pod = e2epod.NewPodClient(f).Create(ctx, pod)
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "ready", time.Minute,
			func(p *v1.Pod) (bool, error) {
				return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready, nil
			}))
		pod = waitForPhase(ctx, f, pod, v1.PodSucceeded, time.Minute)
		s := pod.Status.ContainerStatuses[0]
		gomega.Expect(s.Ready).To(gomega.BeFalse(), "a terminated container is not ready")
		for _, c := range pod.Status.Conditions {
			if c.Type == v1.PodReady || c.Type == v1.ContainersReady {
				gomega.Expect(c.Status).To(gomega.Equal(v1.ConditionFalse), "%s after termination", c.Type)
			}
		}
	})

	ginkgo.It("shows an in-place resize as complete within 2 s (k/k#129829)", func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		expectEventMode(ctx, f, node)
		pod := testPod("resized", node, "exec sleep 100000")
		pod.Spec.Containers[0].Resources = v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")},
			Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")},
		}
		pod = e2epod.NewPodClient(f).CreateSync(ctx, pod)
		patch := []byte(`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"150m"},"limits":{"cpu":"300m"}}}]}}`)
		start := time.Now()
		_, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
		framework.ExpectNoError(err)
		// Polled every 50 ms: WaitForPodCondition's 2 s interval would
		// measure itself.
		var took time.Duration
		gomega.Eventually(ctx, func(ctx context.Context) bool {
			p, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			took = time.Since(start)
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodResizePending || c.Type == v1.PodResizeInProgress {
					return false
				}
			}
			r := p.Status.ContainerStatuses[0].Resources
			return r != nil && r.Limits.Cpu().MilliValue() == 300 && r.Requests.Cpu().MilliValue() == 150
		}).WithTimeout(30 * time.Second).WithPolling(50 * time.Millisecond).Should(gomega.BeTrueBecause("the resize must be actuated"))
		gomega.Expect(took).To(gomega.BeNumerically("<", 2*time.Second), "resize seen complete after %v", took)
	})

	ginkgo.It("starts and stops static pods (k/k#123087)", framework.WithSerial(), func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		name := "kubenext-static-" + f.Namespace.Name
		manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: %s
    command: ["sh", "-c", "exec sleep 100000"]
`, name, f.Namespace.Name, env().TestImage, env().PullPolicy)
		path := "/etc/kubernetes/manifests/" + name + ".yaml"
		framework.ExpectNoError(provider.Node(node).WriteFile(ctx, path, strings.NewReader(manifest)))
		ginkgo.DeferCleanup(func(ctx context.Context) { nodeExec(ctx, node, "rm", "-f", path) })
		mirror := name + "-" + node
		framework.ExpectNoError(e2epod.WaitForPodCondition(ctx, f.ClientSet, f.Namespace.Name, mirror, "Running", 2*time.Minute,
			func(p *v1.Pod) (bool, error) { return p.Status.Phase == v1.PodRunning, nil }))
		nodeExec(ctx, node, "rm", "-f", path)
		framework.ExpectNoError(e2epod.WaitForPodNotFoundInNamespace(ctx, f.ClientSet, mirror, f.Namespace.Name, 2*time.Minute))
	})

	ginkgo.It("survives 5 containerd restarts during churn of 200 pods", framework.WithDisruptive(), framework.WithSerial(), func(ctx context.Context) {
		node := keystoneNode(ctx, f)
		leaveNodesClean(f, node)
		expectEventMode(ctx, f, node)
		const waves, perWave, restarts = 10, 20, 5
		restarted := 0
		var all []podtruth.Verdict
		for w := range waves {
			restart := w%2 == 1 && restarted < restarts
			var before plegCounters
			if restart {
				// From event mode, so that the restart is a fallback of its own.
				expectEventMode(ctx, f, node)
				before = readPLEGCounters(ctx, f, node)
			}
			var names []string
			for i := range perWave {
				name := fmt.Sprintf("wave-%d-%d", w, i)
				e2epod.NewPodClient(f).Create(ctx, shortPod(node, name, scriptWritingName(name)))
				names = append(names, name)
			}
			if restart {
				ginkgo.By(fmt.Sprintf("restarting containerd on %s (%d of %d)", node, restarted+1, restarts))
				nodeExec(ctx, node, "systemctl", "restart", "containerd")
				restarted++
			}
			all = append(all, checkAgainstRuntime(ctx, node, waitSettled(ctx, f, names, 3*time.Minute))...)
			gomega.Expect(duplicateContainers(ctx, node)).To(gomega.BeEmpty(), "no sandbox may hold two containers of one name and attempt")
			if restart {
				expectEventMode(ctx, f, node)
				after := readPLEGCounters(ctx, f, node)
				gomega.Expect(after.reconnects-before.reconnects).To(gomega.Equal(1.0),
					"one containerd restart is one reconnect of the event stream (wave %d)", w)
				// Late events under load are fallbacks too, so at least one.
				gomega.Expect(after.fallbacks-before.fallbacks).To(gomega.BeNumerically(">=", 1),
					"a containerd restart must make the kubelet fall back to polling (wave %d)", w)
			}
			for _, name := range names {
				framework.ExpectNoError(f.ClientSet.CoreV1().Pods(f.Namespace.Name).Delete(ctx, name, metav1.DeleteOptions{}))
			}
		}
		gomega.Expect(restarted).To(gomega.Equal(restarts))
		framework.Logf("%d pods over %d containerd restarts: %s", len(all), restarted, podtruth.Summary(all))
	})
})
