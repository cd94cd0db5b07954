package admissionbench

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/cel/environment"
)

// evalCEL evaluates the policies' expression the way the apiserver's CEL
// environment would, with object as the ConfigMap in its JSON form.
func evalCEL(t *testing.T, expression string, cm *corev1.ConfigMap) bool {
	t.Helper()
	env, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).NewExpressionsEnv().Extend(cel.Variable("object", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	ast, issues := env.Compile(expression)
	if issues.Err() != nil {
		t.Fatalf("%s: %v", expression, issues.Err())
	}
	program, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	object, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := program.Eval(map[string]any{"object": object})
	if err != nil {
		t.Fatalf("%s: %v", expression, err)
	}
	return out.Value().(bool)
}

// The webhook's Go check and the policies' CEL expression must agree on
// every case, or the configurations would not be doing the same work.
func TestCheckAndCELAgree(t *testing.T) {
	const deny = "admission-bench-vap-007"
	tooMany := BenchConfigMap("too-many")
	for k := range MaxDataKeys + 1 {
		tooMany.Data["extra-"+strconv.Itoa(k)] = "v"
	}
	atLimit := BenchConfigMap("at-limit")
	for k := len(atLimit.Data); k < MaxDataKeys; k++ {
		atLimit.Data["extra-"+strconv.Itoa(k)] = "v"
	}
	noLabels := BenchConfigMap("no-labels")
	noLabels.Labels = nil
	otherLabel := BenchConfigMap("other-label")
	otherLabel.Labels = map[string]string{"app": "x"}
	noData := BenchConfigMap("no-data")
	noData.Data = nil
	cases := []struct {
		name string
		cm   *corev1.ConfigMap
		pass bool
	}{
		{"bench object", BenchConfigMap("cm"), true},
		{"no data", noData, true},
		{"exactly MaxDataKeys", atLimit, true},
		{"too many keys", tooMany, false},
		{"no labels", noLabels, false},
		{"check label missing", otherLabel, false},
		{"this policy's probe", ProbeConfigMap(deny), false},
		{"another policy's probe", ProbeConfigMap("admission-bench-vap-008"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			goErr := Check(tc.cm, deny)
			if (goErr == nil) != tc.pass {
				t.Errorf("Check: err %v, want pass=%v", goErr, tc.pass)
			}
			if got := evalCEL(t, CheckExpression(deny), tc.cm); got != tc.pass {
				t.Errorf("CEL %s = %v, want %v", CheckExpression(deny), got, tc.pass)
			}
		})
	}
}

func TestPoliciesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 100 {
		policy, binding := ValidatingPolicy(i)
		if seen[policy.Name] {
			t.Fatalf("policy name %s repeated", policy.Name)
		}
		seen[policy.Name] = true
		if binding.Spec.PolicyName != policy.Name {
			t.Errorf("binding %s points at %s, want %s", binding.Name, binding.Spec.PolicyName, policy.Name)
		}
		if !strings.Contains(policy.Spec.Validations[0].Expression, policy.Name) {
			t.Errorf("policy %s does not deny its own probe: %s", policy.Name, policy.Spec.Validations[0].Expression)
		}
	}
	m0, _ := MutatingPolicy(0)
	m1, b1 := MutatingPolicy(1)
	if m0.Name == m1.Name || b1.Spec.PolicyName != m1.Name {
		t.Errorf("mutating policies %s, %s, binding of the second -> %s", m0.Name, m1.Name, b1.Spec.PolicyName)
	}
	if !strings.Contains(m1.Spec.Mutations[0].ApplyConfiguration.Expression, MutationAnnotation(1)) {
		t.Errorf("mutating policy 1 does not add %s: %s", MutationAnnotation(1), m1.Spec.Mutations[0].ApplyConfiguration.Expression)
	}
}
