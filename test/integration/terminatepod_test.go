package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
)

// terminatePodPod is issue 20's pod: main restarts in place on 42 and ends
// the pod on any other exit.
func terminatePodPod(name string) *v1.Pod {
	main := container("main", nil)
	main.RestartPolicy = ptr.To(v1.ContainerRestartPolicyNever)
	main.RestartPolicyRules = []v1.ContainerRestartRule{
		{Action: v1.ContainerRestartRuleActionRestart, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}},
		{Action: v1.ContainerRestartRuleActionTerminatePod, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpNotIn, Values: []int32{42}}},
	}
	sidecar := container("sidecar", nil)
	sidecar.RestartPolicy = ptr.To(v1.ContainerRestartPolicyAlways)
	pod := keystonePod(name, main)
	pod.Spec.InitContainers = []v1.Container{sidecar}
	return pod
}

func TestIntegrationTerminatePodAPI(t *testing.T) {
	ctx := context.Background()
	client := adminClient(t, cluster, true)
	ns := newNamespace(t, client, "terminatepod-api")

	t.Run("the action round-trips through protobuf and etcd", func(t *testing.T) {
		if _, err := client.CoreV1().Pods(ns).Create(ctx, terminatePodPod("roundtrip"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := client.CoreV1().Pods(ns).Get(ctx, "roundtrip", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rules := got.Spec.Containers[0].RestartPolicyRules; len(rules) != 2 || rules[1].Action != v1.ContainerRestartRuleActionTerminatePod {
			t.Errorf("stored rules = %+v", rules)
		}
	})

	t.Run("server-side apply", func(t *testing.T) {
		rule := corev1ac.ContainerRestartRule().WithAction(v1.ContainerRestartRuleActionTerminatePod).
			WithExitCodes(corev1ac.ContainerRestartRuleOnExitCodes().WithOperator(v1.ContainerRestartRuleOnExitCodesOpIn).WithValues(0))
		pod := corev1ac.Pod("applied", ns).WithSpec(corev1ac.PodSpec().
			WithRestartPolicy(v1.RestartPolicyNever).
			WithContainers(corev1ac.Container().WithName("main").WithImage("kubenext.invalid/never-pulled").
				WithRestartPolicy(v1.ContainerRestartPolicyNever).WithRestartPolicyRules(rule)))
		got, err := client.CoreV1().Pods(ns).Apply(ctx, pod, metav1.ApplyOptions{FieldManager: "integration", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if rules := got.Spec.Containers[0].RestartPolicyRules; len(rules) != 1 || rules[0].Action != v1.ContainerRestartRuleActionTerminatePod {
			t.Errorf("applied rules = %+v", rules)
		}
	})

	t.Run("the OpenAPI v3 document lists the action", func(t *testing.T) {
		prop, ok := coreV1Property(ctx, t, client, "io.k8s.api.core.v1.ContainerRestartRule", "action")
		if !ok || !slices.Equal(prop.Enum, []string{"Restart", "RestartAllContainers", "TerminatePod"}) ||
			!strings.Contains(prop.Description, "ContainerRestartRuleTerminatePod") {
			t.Errorf("ContainerRestartRule.action in /openapi/v3 = %+v (present %v)", prop, ok)
		}
	})

	t.Run("validation", func(t *testing.T) {
		sidecar := terminatePodPod("sidecar")
		sidecar.Spec.InitContainers[0].RestartPolicyRules = sidecar.Spec.Containers[0].RestartPolicyRules[1:]
		both := terminatePodPod("both")
		both.Spec.Containers[0].Lifecycle = keystone
		for _, tt := range []struct {
			pod  *v1.Pod
			want string
		}{
			{sidecar, "spec.initContainers[0].restartPolicyRules[0].action: Forbidden: TerminatePod is not valid on sidecar containers"},
			{both, "spec.containers[0].restartPolicyRules[1].action: Forbidden: a pod uses lifecycle.type: Keystone"},
		} {
			_, err := client.CoreV1().Pods(ns).Create(ctx, tt.pod, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v; want an Invalid error containing %q", tt.pod.Name, err, tt.want)
			}
		}
	})
}

// TestIntegrationTerminatePodGateOff runs a control plane with the gate off:
// the action is upstream's unsupported value on create.
func TestIntegrationTerminatePodGateOff(t *testing.T) {
	client := gateOffClient(t, "ContainerRestartRuleTerminatePod")
	ns := newNamespace(t, client, "terminatepod-off")
	_, err := client.CoreV1().Pods(ns).Create(context.Background(), terminatePodPod("off"), metav1.CreateOptions{})
	const want = `spec.containers[0].restartPolicyRules[1].action: Unsupported value: "TerminatePod": supported values: "Restart", "RestartAllContainers"`
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("create: %v; want an Invalid error containing %q", err, want)
	}
}
