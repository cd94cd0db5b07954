package e2e

import (
	"context"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/common/node/framework/cgroups"
	"k8s.io/kubernetes/test/e2e/common/node/framework/podresize"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
)

// In-place resize (KEP-1287) is upstream's, GA in 1.37. These specs use
// upstream's resize helpers, which check the container's cgroup files on
// cgroup v1 and v2 alike, so they prove the feature on our nodes whichever
// hierarchy the host has.
var _ = ginkgo.Describe("In-place pod resize", framework.WithFeatureGate(features.InPlacePodVerticalScaling), func() {
	f := framework.NewDefaultFramework("resize")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	// startResizable runs a pod of one container with the given resources,
	// on the cluster's own test image (upstream's helpers name an image
	// from a registry this cluster never reaches).
	startResizable := func(ctx context.Context, c podresize.ResizableContainerInfo) *v1.Pod {
		pod := podresize.MakePodWithResizableContainers(f.Namespace.Name, "resize", "", []podresize.ResizableContainerInfo{c}, nil)
		for i := range pod.Spec.Containers {
			pod.Spec.Containers[i].Image = env().TestImage
			pod.Spec.Containers[i].ImagePullPolicy = v1.PullNever
		}
		return e2epod.NewPodClient(f).CreateSync(ctx, pod)
	}

	// resize patches the resize subresource from one container shape to
	// another, then waits for the kubelet to report it done.
	resize := func(ctx context.Context, pod *v1.Pod, from, to podresize.ResizableContainerInfo) *v1.Pod {
		patch := podresize.MakeResizePatch([]podresize.ResizableContainerInfo{from}, []podresize.ResizableContainerInfo{to}, nil, nil)
		_, err := f.ClientSet.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
		framework.ExpectNoError(err, "resize %s", patch)
		return podresize.WaitForPodResizeActuation(ctx, f, e2epod.NewPodClient(f), pod, []podresize.ResizableContainerInfo{to})
	}

	notRequired := v1.NotRequired
	restartContainer := v1.RestartContainer

	ginkgo.It("raises and lowers CPU and raises memory without restarting the container, and the cgroup follows", func(ctx context.Context) {
		start := podresize.ResizableContainerInfo{Name: "c", CPUPolicy: &notRequired, MemPolicy: &notRequired,
			Resources: &cgroups.ContainerResources{CPUReq: "100m", CPULim: "200m", MemReq: "64Mi", MemLim: "128Mi"}}
		pod := startResizable(ctx, start)
		podresize.ExpectPodResized(ctx, f, pod, []podresize.ResizableContainerInfo{start})

		cpuUp := start
		cpuUp.Resources = &cgroups.ContainerResources{CPUReq: "200m", CPULim: "400m", MemReq: "64Mi", MemLim: "128Mi"}
		ginkgo.By("raising CPU")
		podresize.ExpectPodResized(ctx, f, resize(ctx, pod, start, cpuUp), []podresize.ResizableContainerInfo{cpuUp})

		cpuDown := start
		cpuDown.Resources = &cgroups.ContainerResources{CPUReq: "50m", CPULim: "100m", MemReq: "64Mi", MemLim: "128Mi"}
		ginkgo.By("lowering CPU")
		podresize.ExpectPodResized(ctx, f, resize(ctx, pod, cpuUp, cpuDown), []podresize.ResizableContainerInfo{cpuDown})

		memUp := cpuDown
		memUp.Resources = &cgroups.ContainerResources{CPUReq: "50m", CPULim: "100m", MemReq: "96Mi", MemLim: "256Mi"}
		ginkgo.By("raising memory")
		podresize.ExpectPodResized(ctx, f, resize(ctx, pod, cpuDown, memUp), []podresize.ResizableContainerInfo{memUp})
	})

	ginkgo.It("restarts the container exactly once for a memory change under resizePolicy RestartContainer", func(ctx context.Context) {
		start := podresize.ResizableContainerInfo{Name: "c", CPUPolicy: &notRequired, MemPolicy: &restartContainer,
			Resources: &cgroups.ContainerResources{CPUReq: "100m", CPULim: "200m", MemReq: "64Mi", MemLim: "128Mi"}}
		pod := startResizable(ctx, start)

		memUp := start
		memUp.Resources = &cgroups.ContainerResources{CPUReq: "100m", CPULim: "200m", MemReq: "128Mi", MemLim: "256Mi"}
		memUp.RestartCount = 1 // ExpectPodResized checks the count exactly
		memUp = podresize.UpdateExpectedContainerRestarts(ctx, pod, []podresize.ResizableContainerInfo{memUp})[0]
		podresize.ExpectPodResized(ctx, f, resize(ctx, pod, start, memUp), []podresize.ResizableContainerInfo{memUp})
	})

	ginkgo.It("marks a resize the node cannot fit Infeasible and keeps the pod running as it was", func(ctx context.Context) {
		start := podresize.ResizableContainerInfo{Name: "c", CPUPolicy: &notRequired, MemPolicy: &notRequired,
			Resources: &cgroups.ContainerResources{CPUReq: "100m", CPULim: "200m", MemReq: "64Mi", MemLim: "128Mi"}}
		pod := startResizable(ctx, start)

		// No node here has a thousand cores.
		huge := start
		huge.Resources = &cgroups.ContainerResources{CPUReq: "1000", CPULim: "1000", MemReq: "64Mi", MemLim: "128Mi"}
		patch := podresize.MakeResizePatch([]podresize.ResizableContainerInfo{start}, []podresize.ResizableContainerInfo{huge}, nil, nil)
		_, err := f.ClientSet.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
		framework.ExpectNoError(err)

		gomega.Eventually(ctx, framework.GetObject(f.ClientSet.CoreV1().Pods(pod.Namespace).Get, pod.Name, metav1.GetOptions{})).
			WithTimeout(time.Minute).Should(framework.MakeMatcher(func(p *v1.Pod) (func() string, error) {
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodResizePending && c.Reason == v1.PodReasonInfeasible {
					return nil, nil
				}
			}
			return func() string { return "no PodResizePending condition with reason Infeasible yet" }, nil
		}))

		got, err := f.ClientSet.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(got.Status.Phase).To(gomega.Equal(v1.PodRunning))
		gomega.Expect(got.Status.ContainerStatuses[0].RestartCount).To(gomega.BeZero())
		gomega.Expect(got.Status.ContainerStatuses[0].Ready).To(gomega.BeTrueBecause("the container keeps running"))
		// Still the old shape, in the status and in the cgroup.
		framework.ExpectNoError(podresize.VerifyPodStatusResources(got, []podresize.ResizableContainerInfo{start}))
		framework.ExpectNoError(podresize.VerifyPodContainersCgroupValues(ctx, f, got, []podresize.ResizableContainerInfo{start}))
	})
})
