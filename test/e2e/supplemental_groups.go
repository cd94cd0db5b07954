package e2e

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
)

// supplementalGroupsImage is the image make images builds for KEP-3619:
// the test image plus an /etc/group putting uid 1000 in groups 3000 and
// 4000. It carries the test image's tag.
func supplementalGroupsImage() string { return env().siblingImage("supplementalgroups") }

// talkPod is the talk's example: uid 1000, primary group 2000,
// supplementalGroups [5000], on an image that adds 3000 and 4000.
func talkPod(name string, policy v1.SupplementalGroupsPolicy) *v1.Pod {
	return placeOnSelectedNodes(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			SecurityContext: &v1.PodSecurityContext{
				RunAsUser:                ptr.To[int64](1000),
				RunAsGroup:               ptr.To[int64](2000),
				SupplementalGroups:       []int64{5000},
				SupplementalGroupsPolicy: &policy,
			},
			Containers: []v1.Container{{
				Name: "id", Image: supplementalGroupsImage(), ImagePullPolicy: env().PullPolicy,
				Command: []string{"id", "-G"},
			}},
		},
	})
}

func groupSet(ids []int64) []int64 {
	s := append([]int64(nil), ids...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func parseGroups(out string) []int64 {
	var ids []int64
	for _, f := range strings.Fields(out) {
		id, err := strconv.ParseInt(f, 10, 64)
		framework.ExpectNoError(err, "id -G printed %q", out)
		ids = append(ids, id)
	}
	return groupSet(ids)
}

var _ = ginkgo.Describe("Strict supplemental groups", framework.WithFeatureGate(features.SupplementalGroupsPolicy), func() {
	f := framework.NewDefaultFramework("supplemental-groups")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("every node advertises the feature", func(ctx context.Context) {
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		for _, n := range nodes.Items {
			gomega.Expect(n.Status.Features).NotTo(gomega.BeNil(), "node %s reports no features", n.Name)
			gomega.Expect(n.Status.Features.SupplementalGroupsPolicy).To(gomega.HaveValue(gomega.BeTrue()), "node %s", n.Name)
		}
	})

	ginkgo.DescribeTable("the process gets the groups its policy allows, and the status says so",
		func(ctx context.Context, policy v1.SupplementalGroupsPolicy, want []int64) {
			pod := e2epod.NewPodClient(f).Create(ctx, talkPod("id-"+strings.ToLower(string(policy)), policy))
			framework.ExpectNoError(e2epod.WaitForPodSuccessInNamespaceTimeout(ctx, f.ClientSet, pod.Name, f.Namespace.Name,
				selectedSlowdown(ctx, f.ClientSet).of(framework.PodStartTimeout)))
			out, err := e2epod.GetPodLogs(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "id")
			framework.ExpectNoError(err)
			gomega.Expect(parseGroups(out)).To(gomega.Equal(want), "id -G in the container")

			pod, err = f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
			framework.ExpectNoError(err)
			user := pod.Status.ContainerStatuses[0].User
			gomega.Expect(user).NotTo(gomega.BeNil(), "status.containerStatuses[0].user")
			gomega.Expect(user.Linux).NotTo(gomega.BeNil(), "status.containerStatuses[0].user.linux")
			gomega.Expect(user.Linux.UID).To(gomega.Equal(int64(1000)))
			gomega.Expect(user.Linux.GID).To(gomega.Equal(int64(2000)))
			gomega.Expect(groupSet(user.Linux.SupplementalGroups)).To(gomega.Equal(want), "the status matches what the process has")
		},
		ginkgo.Entry("Merge adds the image's groups 3000 and 4000", v1.SupplementalGroupsPolicyMerge, []int64{2000, 3000, 4000, 5000}),
		ginkgo.Entry("Strict keeps only runAsGroup and supplementalGroups", v1.SupplementalGroupsPolicyStrict, []int64{2000, 5000}),
	)
})
