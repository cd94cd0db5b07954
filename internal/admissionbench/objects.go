package admissionbench

import (
	"fmt"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Every cluster object the benchmark creates has a name with this prefix.
const namePrefix = "admission-bench-"

// PolicyName names policy i (0-based) of a kind; it is also the policy's
// deny value, so a denial message that names the policy proves which one
// denied.
func PolicyName(kind Kind, i int) string {
	switch kind {
	case Validating:
		return fmt.Sprintf("%svap-%03d", namePrefix, i)
	case Mutating:
		return fmt.Sprintf("%smap-%03d", namePrefix, i)
	case Webhook:
		return namePrefix + "webhook"
	}
	return ""
}

// MutationAnnotation is the annotation mutating policy i adds; a dry-run
// create that comes back with it shows the policy is enforced.
func MutationAnnotation(i int) string {
	return fmt.Sprintf("map-%03d.admission-bench.kubenext.io/checked", i)
}

var configMapCreates = &admissionregistrationv1.MatchResources{
	ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule: admissionregistrationv1.Rule{
				APIGroups:   []string{""},
				APIVersions: []string{"v1"},
				Resources:   []string{"configmaps"},
			},
		},
	}},
}

// The bindings and the webhook select the bench namespace by label, so the
// namespace lookup is part of every configuration's cost.
var benchNamespaces = &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceLabel: "true"}}

// ValidatingPolicy returns policy i and its binding.
func ValidatingPolicy(i int) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	name := PolicyName(Validating, i)
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: configMapCreates.DeepCopy(),
			Validations: []admissionregistrationv1.Validation{{
				Expression: CheckExpression(name),
				Message:    fmt.Sprintf("ConfigMaps here need the label %s (not %s) and at most %d data keys", CheckLabel, name, MaxDataKeys),
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: benchNamespaces.DeepCopy()},
		},
	}
	return policy, binding
}

// MutatingPolicy returns policy i and its binding. A mutating policy
// cannot deny, so the check is its match condition: the policy marks each
// ConfigMap that passes with its annotation.
func MutatingPolicy(i int) (*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	name := PolicyName(Mutating, i)
	policy := &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr.To(admissionregistrationv1.Fail),
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
			MatchConstraints:   configMapCreates.DeepCopy(),
			MatchConditions:    []admissionregistrationv1.MatchCondition{{Name: "passes-check", Expression: CheckExpression(name)}},
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
					Expression: fmt.Sprintf("Object{metadata: Object.metadata{annotations: {%q: %q}}}", MutationAnnotation(i), "true"),
				},
			}},
		},
	}
	binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     name,
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: benchNamespaces.DeepCopy()},
		},
	}
	return policy, binding
}

// WebhookConfiguration points the apiserver at the webhook served on url,
// whose serving certificate caBundle (PEM) signs.
func WebhookConfiguration(url string, caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	name := PolicyName(Webhook, 0)
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "check.admission-bench.kubenext.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url), CABundle: caBundle},
			Rules:                   []admissionregistrationv1.RuleWithOperations{*configMapCreates.ResourceRules[0].RuleWithOperations.DeepCopy()},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       benchNamespaces.DeepCopy(),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](10),
		}},
	}
}

// BenchConfigMap is the object every timed create sends: it passes the
// check with half of the allowed data keys.
func BenchConfigMap(name string) *corev1.ConfigMap {
	data := make(map[string]string, MaxDataKeys/2)
	for k := range MaxDataKeys / 2 {
		data["key-"+strconv.Itoa(k)] = "value-" + strconv.Itoa(k)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{CheckLabel: PassValue}},
		Data:       data,
	}
}

// ProbeConfigMap is a bench ConfigMap that the policy or webhook named
// denyValue (and only it) denies.
func ProbeConfigMap(denyValue string) *corev1.ConfigMap {
	cm := BenchConfigMap("")
	cm.GenerateName = namePrefix + "probe-"
	cm.Labels[CheckLabel] = denyValue
	return cm
}
