package celadmission

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Namespace is where every request of the workload is made; its labels are
// what the bindings' namespace selectors and the validations read.
const Namespace = "bench"

// ParamName is the ConfigMap that policies with params read.
const ParamName = "limits"

// BaseObjects are what every workload needs besides its policies: the
// namespace and the param ConfigMap (labelled for the selector paramRefs).
func BaseObjects() []runtime.Object {
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Labels: map[string]string{"team": "bench", "env": "prod"}}},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ParamName, Namespace: Namespace, Labels: map[string]string{"kind": "limits"}},
			Data:       map[string]string{"maxLen": "32", "prefix": "pod-"},
		},
	}
}

// BindingSelectors are the selectors of every binding of the benchmark: a
// namespace selector with matchLabels and an In expression, an object
// selector with Exists. Every request of the benchmark matches them.
func BindingSelectors() admissionregistrationv1.MatchResources {
	return admissionregistrationv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"team": "bench"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "staging"}}},
		},
		ObjectSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}},
		},
	}
}

// podConstraints are a policy's matchConstraints: pod creates, any
// namespace and object (the API server defaults both selectors to {}; the
// fake client does not, and a nil selector is a configuration error).
func podConstraints() *admissionregistrationv1.MatchResources {
	return &admissionregistrationv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{},
		ObjectSelector:    &metav1.LabelSelector{},
		MatchPolicy:       ptr.To(admissionregistrationv1.Equivalent),
		ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			},
		}},
	}
}

// paramRefFor gives one policy in four a ConfigMap param: by name, or by
// selector for one in eight.
func paramRefFor(i int) (*admissionregistrationv1.ParamKind, *admissionregistrationv1.ParamRef) {
	if i%4 != 3 {
		return nil, nil
	}
	kind := &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	ref := &admissionregistrationv1.ParamRef{Namespace: Namespace, ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)}
	if i%8 == 7 {
		ref.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"kind": "limits"}}
	} else {
		ref.Name = ParamName
	}
	return kind, ref
}

// ValidatingPolicy is policy i of the benchmark: one match condition, two
// variables, two validations (three with params, one in ten more with an
// authorizer check), one messageExpression and one audit annotation. All
// of it passes for the benchmark's request, so every expression runs.
func ValidatingPolicy(i int) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	name := fmt.Sprintf("policy-%04d", i)
	paramKind, paramRef := paramRefFor(i)
	validations := []admissionregistrationv1.Validation{
		{Expression: `variables.team == "bench" && namespaceObject.metadata.labels["env"] in ["prod", "staging"]`, Reason: ptr.To(metav1.StatusReasonForbidden)},
		{Expression: `variables.name.startsWith("pod-")`, MessageExpression: `"pod name " + variables.name + " must start with pod-"`},
	}
	if paramKind != nil {
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: `size(variables.name) <= int(params.data.maxLen) && variables.name.startsWith(params.data.prefix)`,
			Message:    "name too long",
		})
	}
	if i%10 == 9 {
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: `authorizer.group("").resource("pods").namespace(request.namespace).check("create").allowed()`,
		})
	}
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind:        paramKind,
			MatchConstraints: podConstraints(),
			FailurePolicy:    ptr.To(admissionregistrationv1.Fail),
			MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "not-nobody", Expression: `request.userInfo.username != "nobody"`}},
			Variables: []admissionregistrationv1.Variable{
				{Name: "name", Expression: `object.metadata.name`},
				{Name: "team", Expression: `namespaceObject.metadata.labels["team"]`},
			},
			Validations:      validations,
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "checked", ValueExpression: `"checked " + variables.name`}},
		},
	}
	selectors := BindingSelectors()
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-binding"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ParamRef:          paramRef,
			MatchResources:    &selectors,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return policy, binding
}

// MutatingPolicy is policy i of the mutating benchmark: the same match
// condition, variables, selectors and params, and one mutation that adds
// the annotation AnnotationKey(i): ApplyConfiguration for even i, JSONPatch
// for odd i.
func MutatingPolicy(i int) (*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	name := fmt.Sprintf("policy-%04d", i)
	paramKind, paramRef := paramRefFor(i)
	value := `variables.team`
	if paramKind != nil {
		value = `params.data.prefix + variables.team`
	}
	var mutation admissionregistrationv1.Mutation
	if i%2 == 0 {
		mutation = admissionregistrationv1.Mutation{
			PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
			ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
				Expression: fmt.Sprintf(`Object{metadata: Object.metadata{annotations: {%q: %s}}}`, AnnotationKey(i), value),
			},
		}
	} else {
		mutation = admissionregistrationv1.Mutation{
			PatchType: admissionregistrationv1.PatchTypeJSONPatch,
			JSONPatch: &admissionregistrationv1.JSONPatch{
				Expression: fmt.Sprintf(`[JSONPatch{op: "add", path: "/metadata/annotations/%s", value: %s}]`, AnnotationKey(i), value),
			},
		}
	}
	policy := &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			ParamKind:          paramKind,
			MatchConstraints:   podConstraints(),
			FailurePolicy:      ptr.To(admissionregistrationv1.Fail),
			MatchConditions:    []admissionregistrationv1.MatchCondition{{Name: "not-nobody", Expression: `request.userInfo.username != "nobody"`}},
			Variables:          []admissionregistrationv1.Variable{{Name: "name", Expression: `object.metadata.name`}, {Name: "team", Expression: `namespaceObject.metadata.labels["team"]`}},
			Mutations:          []admissionregistrationv1.Mutation{mutation},
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	}
	selectors := BindingSelectors()
	binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-binding"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     name,
			ParamRef:       paramRef,
			MatchResources: &selectors,
		},
	}
	return policy, binding
}

// AnnotationKey is the annotation mutating policy i adds.
func AnnotationKey(i int) string { return fmt.Sprintf("policy-%04d", i) }

// ValidatingWorkload is n validating policies and n bindings plus BaseObjects.
func ValidatingWorkload(n int) []runtime.Object {
	objs := BaseObjects()
	for i := 0; i < n; i++ {
		p, b := ValidatingPolicy(i)
		objs = append(objs, p, b)
	}
	return objs
}

// MutatingWorkload is n mutating policies and n bindings plus BaseObjects.
func MutatingWorkload(n int) []runtime.Object {
	objs := BaseObjects()
	for i := 0; i < n; i++ {
		p, b := MutatingPolicy(i)
		objs = append(objs, p, b)
	}
	return objs
}

// Pod is the object of the benchmark's request; every policy admits it.
func Pod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "pod-web-1", Namespace: Namespace,
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"seed": "x"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}
