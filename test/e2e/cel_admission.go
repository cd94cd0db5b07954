package e2e

import (
	"context"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclientset "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
)

// CEL admission: ValidatingAdmissionPolicy (KEP-3488, GA, no gate) and
// MutatingAdmissionPolicy (KEP-3962, GA in 1.36, gate on by default).
// Every policy here is bound only to this spec's namespaces (see
// admission_manifests.go), so the specs need not be Serial.

// The talk's ReplicaLimit example and a MutatingAdmissionPolicy, the same
// files test/integration applies.
const (
	replicaLimitManifest     = "manifests/examples/cel-admission/replicalimit.yaml"
	defaultTeamLabelManifest = "manifests/examples/cel-admission/default-team-label.yaml"
)

// celDeployment is a Deployment of the test image that never runs a pod:
// it is created paused, so the deployment controller makes no ReplicaSet.
// Admission is what these specs look at.
func celDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Paused:   true,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: v1.PodSpec{Containers: []v1.Container{{
					Name: "main", Image: env().TestImage, ImagePullPolicy: env().PullPolicy,
					Command: []string{"sleep", "3600"},
				}}},
			},
		},
	}
}

func celConfigMap(name string, labels map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Data:       map[string]string{"present": "yes"},
	}
}

var celDryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// scopedValidatingPolicy is a policy on ConfigMap creation whose binding
// selects this spec's namespace and, when objectLabels is not empty, only
// ConfigMaps with those labels.
func scopedValidatingPolicy(ctx context.Context, f *framework.Framework, name string, failurePolicy admissionregistrationv1.FailurePolicyType,
	objectLabels map[string]string, validations ...admissionregistrationv1.Validation) {
	client := f.ClientSet.AdmissionregistrationV1()
	policy, err := client.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: f.UniqueName + "." + name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &failurePolicy,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
					},
				}},
			},
			Validations: validations,
		},
	}, metav1.CreateOptions{})
	framework.ExpectNoError(err, "creating policy %s", name)
	ginkgo.DeferCleanup(framework.IgnoreNotFound(client.ValidatingAdmissionPolicies().Delete), policy.Name, metav1.DeleteOptions{})

	binding, err := client.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1.LabelMetadataName: f.Namespace.Name}},
				ObjectSelector:    &metav1.LabelSelector{MatchLabels: objectLabels},
			},
		},
	}, metav1.CreateOptions{})
	framework.ExpectNoError(err, "creating binding %s", name)
	ginkgo.DeferCleanup(framework.IgnoreNotFound(client.ValidatingAdmissionPolicyBindings().Delete), binding.Name, metav1.DeleteOptions{})
}

// expectDeniedEventually retries create until it fails with a message
// containing want: the policy has reached admission. Dry runs store nothing.
func expectDeniedEventually(ctx context.Context, what string, create func(ctx context.Context) error, want string) {
	gomega.Eventually(ctx, create).WithTimeout(admissionPolicyTimeout).
		Should(gomega.MatchError(gomega.ContainSubstring(want)), "%s must be denied with %q once the policy is in effect", what, want)
}

var _ = ginkgo.Describe("CEL admission", func() {
	f := framework.NewDefaultFramework("cel-admission")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("enforces the talk's ReplicaLimit policy with a params CRD in namespaces labelled environment=test", func(ctx context.Context) {
		ginkgo.By("applying " + replicaLimitManifest + ", its binding scoped to this spec")
		objs := readManifests(replicaLimitManifest)
		scopeAdmissionObjects(objs, f.UniqueName)
		createAdmissionObjects(ctx, f, objs)

		testNS := f.Namespace.Name
		labelNamespaceForAdmission(ctx, f, testNS, map[string]string{"environment": "test", admissionScopeLabel: f.UniqueName})
		otherNS, err := f.CreateNamespace(ctx, "cel-admission-unlabelled", map[string]string{admissionScopeLabel: f.UniqueName})
		framework.ExpectNoError(err)

		// The messageExpression, with params.maxReplicas = 3 from the
		// ReplicaLimit object. Until the binding sees its params it denies
		// with another message (parameterNotFoundAction: Deny).
		const wantMessage = "object.spec.replicas must be no greater than 3"
		deployments := f.ClientSet.AppsV1().Deployments(testNS)
		expectDeniedEventually(ctx, "a Deployment of 4 replicas", func(ctx context.Context) error {
			_, err := deployments.Create(ctx, celDeployment("four", 4), celDryRun)
			return err
		}, wantMessage)

		ginkgo.By("4 replicas: denied as Invalid, with the messageExpression's text")
		_, err = deployments.Create(ctx, celDeployment("four", 4), metav1.CreateOptions{})
		gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("reason: Invalid in the policy; got %v", err))
		gomega.Expect(err).To(gomega.MatchError(gomega.ContainSubstring(wantMessage)))

		ginkgo.By("3 replicas: admitted and stored")
		three, err := deployments.Create(ctx, celDeployment("three", 3), metav1.CreateOptions{})
		framework.ExpectNoError(err, "3 replicas must be admitted")

		ginkgo.By("scaling the stored Deployment to 4 by UPDATE: denied")
		// A patch is an UPDATE to admission and, unlike an update, does not
		// race the deployment controller's writes.
		_, err = deployments.Patch(ctx, three.Name, types.MergePatchType, []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{})
		gomega.Expect(err).To(gomega.MatchError(gomega.ContainSubstring(wantMessage)))

		ginkgo.By("4 replicas in a namespace without environment=test: admitted")
		_, err = f.ClientSet.AppsV1().Deployments(otherNS.Name).Create(ctx, celDeployment("four", 4), metav1.CreateOptions{})
		framework.ExpectNoError(err, "the binding selects environment=test only")
	})

	ginkgo.It("sets a default label with a MutatingAdmissionPolicy, seen on stored objects", framework.WithFeatureGate(genericfeatures.MutatingAdmissionPolicy), func(ctx context.Context) {
		ginkgo.By("applying " + defaultTeamLabelManifest + ", its binding scoped to this spec")
		objs := readManifests(defaultTeamLabelManifest)
		scopeAdmissionObjects(objs, f.UniqueName)
		createAdmissionObjects(ctx, f, objs)

		ns := f.Namespace.Name
		labelNamespaceForAdmission(ctx, f, ns, map[string]string{"kubenext.io/default-team-label": "true", admissionScopeLabel: f.UniqueName})
		otherNS, err := f.CreateNamespace(ctx, "cel-admission-unlabelled", map[string]string{admissionScopeLabel: f.UniqueName})
		framework.ExpectNoError(err)

		configMaps := f.ClientSet.CoreV1().ConfigMaps(ns)
		gomega.Eventually(ctx, func(ctx context.Context) (map[string]string, error) {
			cm, err := configMaps.Create(ctx, celConfigMap("marker", nil), celDryRun)
			if err != nil {
				return nil, err
			}
			return cm.Labels, nil
		}).WithTimeout(admissionPolicyTimeout).Should(gomega.HaveKeyWithValue("team", "unassigned"), "the policy must reach admission")

		ginkgo.By("a ConfigMap without a team label is stored with team=unassigned")
		stored, err := configMaps.Create(ctx, celConfigMap("no-team", nil), metav1.CreateOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(stored.Labels).To(gomega.HaveKeyWithValue("team", "unassigned"))
		stored, err = configMaps.Get(ctx, stored.Name, metav1.GetOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(stored.Labels).To(gomega.HaveKeyWithValue("team", "unassigned"), "read back from the apiserver")

		ginkgo.By("an explicit team label is kept (matchConditions)")
		stored, err = configMaps.Create(ctx, celConfigMap("storage-team", map[string]string{"team": "storage"}), metav1.CreateOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(stored.Labels).To(gomega.Equal(map[string]string{"team": "storage"}))

		ginkgo.By("a namespace without kubenext.io/default-team-label is not mutated")
		stored, err = f.ClientSet.CoreV1().ConfigMaps(otherNS.Name).Create(ctx, celConfigMap("no-team", nil), metav1.CreateOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(stored.Labels).To(gomega.BeEmpty())
	})

	ginkgo.It("rejects policies whose CEL does not compile, naming the field and the error", func(ctx context.Context) {
		client := f.ClientSet.AdmissionregistrationV1()
		rules := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			},
		}}}

		ginkgo.By("a ValidatingAdmissionPolicy with a syntax error and an unknown function")
		_, err := client.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: f.UniqueName + ".invalid-vap.example.com"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: rules,
				Validations: []admissionregistrationv1.Validation{
					{Expression: "object.metadata.name.startsWith('x') &&"},
					{Expression: "object.metadata.name.noSuchFunction()"},
				},
			},
		}, metav1.CreateOptions{})
		gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("the create must fail as Invalid; got %v", err))
		gomega.Expect(err).To(gomega.MatchError(gomega.And(
			gomega.ContainSubstring("spec.validations[0].expression: Invalid value"),
			gomega.ContainSubstring("compilation failed: ERROR: <input>:1:40: Syntax error"),
			gomega.ContainSubstring("spec.validations[1].expression: Invalid value"),
			gomega.ContainSubstring("undeclared reference to 'noSuchFunction'"),
		)))

		ginkgo.By("a MutatingAdmissionPolicy whose apply configuration does not compile")
		_, err = client.MutatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: f.UniqueName + ".invalid-map.example.com"},
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
				MatchConstraints:   rules,
				ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
				Mutations: []admissionregistrationv1.Mutation{{
					PatchType:          admissionregistrationv1.PatchTypeApplyConfiguration,
					ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: "Object{metadata: Object.metadata{labels: {'team': }}}"},
				}},
			},
		}, metav1.CreateOptions{})
		gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("the create must fail as Invalid; got %v", err))
		gomega.Expect(err).To(gomega.MatchError(gomega.And(
			gomega.ContainSubstring("spec.mutations[0].applyConfiguration.expression"),
			gomega.ContainSubstring("compilation failed"),
			gomega.ContainSubstring("Syntax error"),
		)))

		ginkgo.By("neither was stored")
		_, err = client.ValidatingAdmissionPolicies().Get(ctx, f.UniqueName+".invalid-vap.example.com", metav1.GetOptions{})
		gomega.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrueBecause("got %v", err))
		_, err = client.MutatingAdmissionPolicies().Get(ctx, f.UniqueName+".invalid-map.example.com", metav1.GetOptions{})
		gomega.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrueBecause("got %v", err))
	})

	// A policy's expressions are not cost-estimated when it is created (its
	// objects' sizes are unknown then); the apiserver stops an expression at
	// run time once it passes the per-call limit. Estimated cost is checked
	// at create time for CEL whose input sizes a schema bounds: a CRD's
	// x-kubernetes-validations, the next spec.
	ginkgo.It("denies a request whose expression passes the per-expression cost limit at run time", func(ctx context.Context) {
		// Upstream's own cost-limit expression (test/integration/apiserver/cel):
		// 10^7 iterations of a regex find.
		loop := "int('1'.find('[0-9]*')) < 100"
		for _, v := range []string{"z5", "z4", "z3", "z2", "z", "y", "x"} {
			loop = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(" + v + ", " + loop + ")"
		}
		scopedValidatingPolicy(ctx, f, "cost-limit.example.com", admissionregistrationv1.Fail, nil,
			admissionregistrationv1.Validation{Expression: loop})

		expectDeniedEventually(ctx, "a ConfigMap", func(ctx context.Context) error {
			_, err := f.ClientSet.CoreV1().ConfigMaps(f.Namespace.Name).Create(ctx, celConfigMap("costly", nil), celDryRun)
			return err
		}, "operation cancelled: actual cost limit exceeded")
	})

	ginkgo.It("rejects a CRD validation rule whose estimated cost exceeds the limit at create", func(ctx context.Context) {
		client, err := apiextensionsclientset.NewForConfig(f.ClientConfig())
		framework.ExpectNoError(err)
		group := f.UniqueName + ".example.com"
		// Unbounded lists of unbounded strings: the estimate multiplies
		// their worst-case sizes.
		stringList := apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}}
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "costlies." + group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: group,
				Scope: apiextensionsv1.ClusterScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "costlies", Singular: "costly", Kind: "Costly", ListKind: "CostlyList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object",
						Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"spec": {
								Type:       "object",
								Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": stringList, "b": stringList},
								XValidations: apiextensionsv1.ValidationRules{{
									Rule: "self.a.all(x, self.b.all(y, x.contains(y)))",
								}},
							},
						},
					}},
				}},
			},
		}
		// A dry run: the whole validation runs and nothing is stored.
		_, err = client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, celDryRun)
		gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("the create must fail as Invalid; got %v", err))
		gomega.Expect(err).To(gomega.MatchError(gomega.And(
			gomega.ContainSubstring("x-kubernetes-validations[0].rule"),
			gomega.ContainSubstring("estimated rule cost exceeds budget"),
		)))
	})

	ginkgo.It("denies on a runtime expression error under failurePolicy Fail and admits under Ignore", func(ctx context.Context) {
		const selector = "e2e.kubenext.io/failure-policy"
		// The ConfigMaps carry data["present"] only, so the second
		// expression always fails with "no such key". The first denies a
		// ConfigMap named marker without error: under Ignore that denial
		// shows the policy is in effect.
		validations := []admissionregistrationv1.Validation{
			{Expression: "object.metadata.name != 'marker'", Message: "marker denied"},
			{Expression: "object.data['absent'] == 'x'"},
		}
		scopedValidatingPolicy(ctx, f, "runtime-error-fail.example.com", admissionregistrationv1.Fail,
			map[string]string{selector: "Fail"}, validations...)
		scopedValidatingPolicy(ctx, f, "runtime-error-ignore.example.com", admissionregistrationv1.Ignore,
			map[string]string{selector: "Ignore"}, validations...)
		configMaps := f.ClientSet.CoreV1().ConfigMaps(f.Namespace.Name)

		ginkgo.By("failurePolicy Fail: the error denies the request")
		expectDeniedEventually(ctx, "a ConfigMap under Fail", func(ctx context.Context) error {
			_, err := configMaps.Create(ctx, celConfigMap("fail", map[string]string{selector: "Fail"}), celDryRun)
			return err
		}, "expression 'object.data['absent'] == 'x'' resulted in error: no such key: absent")
		_, err := configMaps.Create(ctx, celConfigMap("fail", map[string]string{selector: "Fail"}), metav1.CreateOptions{})
		// A denial without a reason of its own is reported as Invalid.
		gomega.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrueBecause("got %v", err))
		gomega.Expect(err).To(gomega.MatchError(gomega.ContainSubstring("ValidatingAdmissionPolicy '" + f.UniqueName + ".runtime-error-fail.example.com'")))

		ginkgo.By("failurePolicy Ignore: once the policy denies its marker, the error is ignored and the request admitted")
		expectDeniedEventually(ctx, "the marker under Ignore", func(ctx context.Context) error {
			_, err := configMaps.Create(ctx, celConfigMap("marker", map[string]string{selector: "Ignore"}), celDryRun)
			return err
		}, "marker denied")
		_, err = configMaps.Create(ctx, celConfigMap("ignore", map[string]string{selector: "Ignore"}), metav1.CreateOptions{})
		framework.ExpectNoError(err, "under Ignore the expression's error must not deny")
	})
})
