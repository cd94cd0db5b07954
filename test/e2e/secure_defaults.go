package e2e

import (
	"context"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/feature"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
)

// The secure defaults of manifests/policies: strict supplemental groups
// (KEP-3619) by CEL admission policies (KEP-3962, KEP-3488) in namespaces
// that opt in with a label.
const (
	strictGroupsDefaultManifest = "manifests/policies/supplemental-groups-strict-default.yaml"
	strictGroupsDenyManifest    = "manifests/policies/supplemental-groups-deny-merge.yaml"
	strictGroupsLabel           = "kubenext.io/supplemental-groups"
	// The fix the deny policy's message must name.
	strictGroupsFix = "set it to Strict or remove the field"
)

// strictGroupsPod runs `id -G` as uid 1000 with primary group 2000 and
// supplemental group 5000, on the locally built test image (never pulled),
// with policy as its supplementalGroupsPolicy (nil: unset).
func strictGroupsPod(name string, policy *v1.SupplementalGroupsPolicy) *v1.Pod {
	pod := testPod(name, "", "id -G")
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	pod.Spec.SecurityContext = &v1.PodSecurityContext{
		RunAsUser:                ptr.To[int64](1000),
		RunAsGroup:               ptr.To[int64](2000),
		SupplementalGroups:       []int64{5000},
		SupplementalGroupsPolicy: policy,
	}
	return pod
}

func supplementalGroupsPolicyOf(pod *v1.Pod) *v1.SupplementalGroupsPolicy {
	if pod.Spec.SecurityContext == nil {
		return nil
	}
	return pod.Spec.SecurityContext.SupplementalGroupsPolicy
}

var _ = ginkgo.Describe("secure defaults: strict supplemental groups by admission policy",
	framework.WithFeatureGate(features.SupplementalGroupsPolicy), feature.SupplementalGroupsPolicy,
	framework.WithFeatureGate(genericfeatures.MutatingAdmissionPolicy), func() {
		f := framework.NewDefaultFramework("secure-defaults")
		f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

		ginkgo.It("the policy files apply as they are (server-side dry run)", func(ctx context.Context) {
			out, stderr, err := kubectl(ctx, "apply", "--dry-run=server",
				"-f", repoFile(strictGroupsDefaultManifest), "-f", repoFile(strictGroupsDenyManifest))
			framework.ExpectNoError(err, "%s%s", out, stderr)
			for _, kind := range []string{"mutatingadmissionpolicy", "mutatingadmissionpolicybinding", "validatingadmissionpolicy", "validatingadmissionpolicybinding"} {
				gomega.Expect(out).To(gomega.MatchRegexp(`(?m)^`+kind+`\.admissionregistration\.k8s\.io/supplemental-groups-`), "kubectl apply output")
			}
		})

		ginkgo.It("defaults pods to Strict and refuses Merge in labelled namespaces only", func(ctx context.Context) {
			ginkgo.By("applying both policy files, renamed and bound to this spec's namespaces only")
			objs := append(readManifests(strictGroupsDefaultManifest), readManifests(strictGroupsDenyManifest)...)
			scopeAdmissionObjects(objs, f.UniqueName)
			createAdmissionObjects(ctx, f, objs)

			ns := f.Namespace.Name
			labelNamespaceForAdmission(ctx, f, ns, map[string]string{strictGroupsLabel: "strict", admissionScopeLabel: f.UniqueName})
			other, err := f.CreateNamespace(ctx, "secure-defaults-unlabelled", map[string]string{admissionScopeLabel: f.UniqueName})
			framework.ExpectNoError(err)
			pods := f.ClientSet.CoreV1().Pods(ns)
			merge, strict := v1.SupplementalGroupsPolicyMerge, v1.SupplementalGroupsPolicyStrict

			ginkgo.By("waiting until an unset policy comes back Strict (server-side dry run)")
			gomega.Eventually(ctx, func(ctx context.Context) (*v1.SupplementalGroupsPolicy, error) {
				pod, err := pods.Create(ctx, strictGroupsPod("unset", nil), celDryRun)
				if err != nil {
					return nil, err
				}
				return supplementalGroupsPolicyOf(pod), nil
			}).WithTimeout(admissionPolicyTimeout).Should(gomega.HaveValue(gomega.Equal(strict)))

			ginkgo.By("waiting until Merge is refused, with the message naming the fix")
			expectDeniedEventually(ctx, "a pod asking for Merge", func(ctx context.Context) error {
				_, err := pods.Create(ctx, strictGroupsPod("merge", &merge), celDryRun)
				return err
			}, strictGroupsFix)

			ginkgo.By("a real pod without the field: stored as Strict, and its process has only runAsGroup and supplementalGroups")
			pod := e2epod.NewPodClient(f).Create(ctx, strictGroupsPod("unset", nil))
			gomega.Expect(supplementalGroupsPolicyOf(pod)).To(gomega.HaveValue(gomega.Equal(strict)))
			framework.ExpectNoError(e2epod.WaitForPodSuccessInNamespace(ctx, f.ClientSet, pod.Name, ns))
			out, err := e2epod.GetPodLogs(ctx, f.ClientSet, ns, pod.Name, "main")
			framework.ExpectNoError(err)
			gomega.Expect(strings.Fields(out)).To(gomega.ConsistOf("2000", "5000"), "id -G in the container")
			pod, err = pods.Get(ctx, pod.Name, metav1.GetOptions{})
			framework.ExpectNoError(err)
			gomega.Expect(pod.Status.ContainerStatuses).To(gomega.HaveLen(1))
			user := pod.Status.ContainerStatuses[0].User
			gomega.Expect(user).NotTo(gomega.BeNil(), "status.containerStatuses[0].user, the groups as the runtime applied them")
			gomega.Expect(user.Linux).NotTo(gomega.BeNil())
			gomega.Expect(user.Linux.SupplementalGroups).To(gomega.ConsistOf(int64(2000), int64(5000)))

			ginkgo.By("a real pod asking for Merge: refused as Forbidden, with the message")
			_, err = pods.Create(ctx, strictGroupsPod("merge", &merge), metav1.CreateOptions{})
			gomega.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrueBecause("got %v", err))
			gomega.Expect(err).To(gomega.MatchError(gomega.And(
				gomega.ContainSubstring("supplementalGroupsPolicy: Merge is not allowed in namespaces labelled kubenext.io/supplemental-groups=strict"),
				gomega.ContainSubstring(strictGroupsFix),
			)))

			ginkgo.By("a pod asking for Strict explicitly: admitted")
			created, err := pods.Create(ctx, strictGroupsPod("strict", &strict), celDryRun)
			framework.ExpectNoError(err)
			gomega.Expect(supplementalGroupsPolicyOf(created)).To(gomega.HaveValue(gomega.Equal(strict)))

			ginkgo.By("a namespace without the label: unset stays unset, Merge is admitted")
			otherPods := f.ClientSet.CoreV1().Pods(other.Name)
			created, err = otherPods.Create(ctx, strictGroupsPod("unset", nil), celDryRun)
			framework.ExpectNoError(err)
			gomega.Expect(supplementalGroupsPolicyOf(created)).To(gomega.BeNil())
			created, err = otherPods.Create(ctx, strictGroupsPod("merge", &merge), celDryRun)
			framework.ExpectNoError(err, "Merge outside the labelled namespaces")
			gomega.Expect(supplementalGroupsPolicyOf(created)).To(gomega.HaveValue(gomega.Equal(merge)))
		})
	})
