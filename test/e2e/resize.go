package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/common/node/framework/cgroups"
	"k8s.io/kubernetes/test/e2e/common/node/framework/podresize"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
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
			pod.Spec.Containers[i].ImagePullPolicy = env().PullPolicy
		}
		return e2epod.NewPodClient(f).CreateSync(ctx, placeOnSelectedNodes(pod))
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

	// In 1.37 the API server's podresize admission refuses a resize above
	// the node's allocatable (Forbidden, cause NodeCapacity) before the
	// kubelet sees it, so an over-size request never reaches the kubelet's
	// Infeasible. What reaches the kubelet is a request that fits the node
	// but not beside the pods already there: that one is Deferred.
	ginkgo.It("refuses a resize above the node's allocatable and defers one that does not fit now; the pod keeps running as it was", func(ctx context.Context) {
		start := podresize.ResizableContainerInfo{Name: "c", CPUPolicy: &notRequired, MemPolicy: &notRequired,
			Resources: &cgroups.ContainerResources{CPUReq: "100m", CPULim: "200m", MemReq: "64Mi", MemLim: "128Mi"}}
		pod := startResizable(ctx, start)
		node, err := f.ClientSet.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		framework.ExpectNoError(err)
		allocatable := node.Status.Allocatable.Cpu().MilliValue()

		resizeCPU := func(milli int64) error {
			patch := fmt.Sprintf(`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"%dm"},"limits":{"cpu":"%dm"}}}]}}`, milli, milli)
			_, err := f.ClientSet.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
			return err
		}
		expectUnchanged := func() {
			ginkgo.GinkgoHelper()
			got, err := f.ClientSet.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			framework.ExpectNoError(err)
			gomega.Expect(got.Status.Phase).To(gomega.Equal(v1.PodRunning))
			gomega.Expect(got.Status.ContainerStatuses[0].RestartCount).To(gomega.BeZero())
			gomega.Expect(got.Status.ContainerStatuses[0].Ready).To(gomega.BeTrueBecause("the container keeps running"))
			framework.ExpectNoError(podresize.VerifyPodStatusResources(got, []podresize.ResizableContainerInfo{start}))
			framework.ExpectNoError(podresize.VerifyPodContainersCgroupValues(ctx, f, got, []podresize.ResizableContainerInfo{start}))
		}

		ginkgo.By("asking for twice the node's allocatable CPU")
		err = resizeCPU(2 * allocatable)
		gomega.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrueBecause("got %v", err))
		gomega.Expect(err.Error()).To(gomega.ContainSubstring("node didn't have enough allocatable resources"))
		expectUnchanged()

		ginkgo.By("asking for all of it while another pod on the node holds some")
		filler := e2epod.NewPodClient(f).CreateSync(ctx, &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "filler"},
			Spec: v1.PodSpec{NodeName: node.Name, TerminationGracePeriodSeconds: ptr.To[int64](0),
				Containers: []v1.Container{{Name: "c", Image: env().TestImage, ImagePullPolicy: env().PullPolicy, Command: []string{"sleep", "3600"},
					Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}}}},
		})
		framework.ExpectNoError(resizeCPU(allocatable))
		gomega.Eventually(ctx, framework.GetObject(f.ClientSet.CoreV1().Pods(pod.Namespace).Get, pod.Name, metav1.GetOptions{})).
			WithTimeout(time.Minute).Should(framework.MakeMatcher(func(p *v1.Pod) (func() string, error) {
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodResizePending && c.Reason == v1.PodReasonDeferred {
					return nil, nil
				}
			}
			return func() string {
				return fmt.Sprintf("no PodResizePending condition with reason Deferred: %v", p.Status.Conditions)
			}, nil
		}))
		expectUnchanged()
		e2epod.NewPodClient(f).DeleteSync(ctx, filler.Name, metav1.DeleteOptions{}, f.Timeouts.PodDelete)
	})
})
