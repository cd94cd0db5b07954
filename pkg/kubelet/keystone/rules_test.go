package keystone

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
	kubefeatures "k8s.io/kubernetes/pkg/features"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/features"
)

// allOn is a kubelet with every gate the decision reads on, as in our
// cluster.
var allOn = gates{lifecycle: true, restartRules: true, restartAll: true}

func onExitCodes(action v1.ContainerRestartRuleAction, op v1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) v1.ContainerRestartRule {
	return v1.ContainerRestartRule{Action: action, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
}

// issueRules are issue 20's: exit 42 restarts in place, anything else ends
// the pod.
var issueRules = []v1.ContainerRestartRule{
	onExitCodes(v1.ContainerRestartRuleActionRestart, v1.ContainerRestartRuleOnExitCodesOpIn, 42),
	onExitCodes(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpNotIn, 42),
}

// rulesPod is the Job's pod of issue 20: main with the rules, an ordinary
// sidecar, and a native sidecar that may restart all containers on exit 7.
func rulesPod(podPolicy v1.RestartPolicy, rules ...v1.ContainerRestartRule) *v1.Pod {
	return &v1.Pod{Spec: v1.PodSpec{
		RestartPolicy: podPolicy,
		InitContainers: []v1.Container{{
			Name: "native-sidecar", RestartPolicy: ptr.To(v1.ContainerRestartPolicyAlways),
			RestartPolicyRules: []v1.ContainerRestartRule{onExitCodes(v1.ContainerRestartRuleActionRestartAllContainers, v1.ContainerRestartRuleOnExitCodesOpIn, 7)},
		}},
		Containers: []v1.Container{
			{Name: "main", RestartPolicy: ptr.To(v1.ContainerRestartPolicyNever), RestartPolicyRules: rules},
			{Name: "sidecar"},
		},
	}}
}

func rtExited(name string, code int, at time.Time) *kubecontainer.Status {
	return &kubecontainer.Status{Name: name, State: kubecontainer.ContainerStateExited, ExitCode: code, FinishedAt: at}
}

func rtRunning(name string) *kubecontainer.Status {
	return &kubecontainer.Status{Name: name, State: kubecontainer.ContainerStateRunning}
}

func rt(statuses ...*kubecontainer.Status) *kubecontainer.PodStatus {
	return &kubecontainer.PodStatus{ContainerStatuses: statuses}
}

func TestPodShouldTerminateRestartRules(t *testing.T) {
	later := t0.Add(50 * time.Millisecond)
	tests := []struct {
		name   string
		policy v1.RestartPolicy
		rules  []v1.ContainerRestartRule
		status *kubecontainer.PodStatus
		g      gates
		want   bool
	}{
		{"exit 42: Restart rule, restart in place", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 42, t0), rtRunning("sidecar"), rtRunning("native-sidecar")), allOn, false},
		{"exit 0: TerminatePod", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 0, t0), rtRunning("sidecar"), rtRunning("native-sidecar")), allOn, true},
		{"exit 3: TerminatePod", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 3, t0), rtRunning("sidecar"), rtRunning("native-sidecar")), allOn, true},
		{"exit 0, pod restartPolicy Always: TerminatePod", v1.RestartPolicyAlways, issueRules,
			rt(rtExited("main", 0, t0), rtRunning("sidecar")), allOn, true},
		{"exit 3, pod restartPolicy OnFailure: TerminatePod", v1.RestartPolicyOnFailure, issueRules,
			rt(rtExited("main", 3, t0), rtRunning("sidecar")), allOn, true},
		{"main running", v1.RestartPolicyNever, issueRules,
			rt(rtRunning("main"), rtRunning("sidecar")), allOn, false},
		{"main never ran", v1.RestartPolicyNever, issueRules, rt(rtRunning("sidecar")), allOn, false},
		// First match wins: TerminatePod only for the codes it lists.
		{"TerminatePod In [0], exit 1: no match, container's Never", v1.RestartPolicyNever,
			[]v1.ContainerRestartRule{onExitCodes(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpIn, 0)},
			rt(rtExited("main", 1, t0), rtRunning("sidecar")), allOn, false},
		{"Restart NotIn [0] before TerminatePod NotIn []: exit 1 restarts", v1.RestartPolicyNever,
			[]v1.ContainerRestartRule{
				onExitCodes(v1.ContainerRestartRuleActionRestart, v1.ContainerRestartRuleOnExitCodesOpNotIn, 0),
				onExitCodes(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpNotIn),
			},
			rt(rtExited("main", 1, t0), rtRunning("sidecar")), allOn, false},
		// After the kill: the sidecars exited 137/143; no new sandbox.
		{"after the kill, everything exited", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 0, t0), rtExited("sidecar", 143, later), rtExited("native-sidecar", 137, later)), allOn, true},
		// RestartAllContainers (KEP-5532) beside TerminatePod: the earlier exit wins.
		{"native sidecar exited 7 first: the reset wins over main's 143", v1.RestartPolicyNever, issueRules,
			rt(rtExited("native-sidecar", 7, t0), rtExited("main", 143, later), rtRunning("sidecar")), allOn, false},
		{"main exited 0 first, native sidecar's 7 later: TerminatePod stands", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 0, t0), rtExited("native-sidecar", 7, later), rtRunning("sidecar")), allOn, true},
		{"reset source without a finish time: TerminatePod stands", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 0, t0), rtExited("native-sidecar", 7, time.Time{})), allOn, true},
		{"RestartAllContainers gate off: no reset, TerminatePod", v1.RestartPolicyNever, issueRules,
			rt(rtExited("native-sidecar", 7, t0), rtExited("main", 143, later)), gates{restartRules: true}, true},
		// Gates: each API is served by its own gate only.
		{"ContainerRestartRuleTerminatePod off: upstream", v1.RestartPolicyNever, issueRules,
			rt(rtExited("main", 0, t0), rtRunning("sidecar")), gates{lifecycle: true, restartAll: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podShouldTerminate(rulesPod(tt.policy, tt.rules...), tt.status, tt.g); got != tt.want {
				t.Errorf("podShouldTerminate = %v, want %v", got, tt.want)
			}
		})
	}
}

func terminatedAt(name string, code int32, at time.Time) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(at)}}}
}

func TestPodPhaseRestartRules(t *testing.T) {
	later := t0.Add(time.Second)
	tests := []struct {
		name      string
		statuses  []v1.ContainerStatus
		g         gates
		want      v1.PodPhase
		wantApply bool
	}{
		{"main 0, sidecars stopping: Running", []v1.ContainerStatus{
			terminatedAt("main", 0, t0), apiStatus("sidecar", running), apiStatus("native-sidecar", running)}, allOn, v1.PodRunning, true},
		{"main 0, sidecar killed, native sidecar stopping: Running", []v1.ContainerStatus{
			terminatedAt("main", 0, t0), terminatedAt("sidecar", 137, later), apiStatus("native-sidecar", running)}, allOn, v1.PodRunning, true},
		{"main 0, all stopped with 137/143: Succeeded", []v1.ContainerStatus{
			terminatedAt("main", 0, t0), terminatedAt("sidecar", 137, later), terminatedAt("native-sidecar", 143, later)}, allOn, v1.PodSucceeded, true},
		{"main 3, all stopped: Failed", []v1.ContainerStatus{
			terminatedAt("main", 3, t0), terminatedAt("sidecar", 0, later), terminatedAt("native-sidecar", 143, later)}, allOn, v1.PodFailed, true},
		{"main 42: restarts, upstream decides", []v1.ContainerStatus{
			terminatedAt("main", 42, t0), apiStatus("sidecar", running)}, allOn, "", false},
		{"main running: upstream decides", []v1.ContainerStatus{
			apiStatus("main", running), terminatedAt("sidecar", 1, t0)}, allOn, "", false},
		{"reset first (native sidecar 7, then main killed): upstream decides", []v1.ContainerStatus{
			terminatedAt("native-sidecar", 7, t0), terminatedAt("main", 137, later), terminatedAt("sidecar", 137, later)}, allOn, "", false},
		{"gate off: upstream decides", []v1.ContainerStatus{
			terminatedAt("main", 0, t0), terminatedAt("sidecar", 137, later)}, gates{lifecycle: true}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, applies := podPhase(rulesPod(v1.RestartPolicyNever, issueRules...), tt.statuses, tt.g)
			if got != tt.want || applies != tt.wantApply {
				t.Errorf("podPhase = %q, %v; want %q, %v", got, applies, tt.want, tt.wantApply)
			}
		})
	}
}

// The exported adapters read the kubelet's gates.
func TestAdaptersFollowTheGates(t *testing.T) {
	pod := rulesPod(v1.RestartPolicyNever, issueRules...)
	status := rt(rtExited("main", 0, t0), rtRunning("sidecar"))
	statuses := []v1.ContainerStatus{terminatedAt("main", 0, t0), terminatedAt("sidecar", 143, t0.Add(time.Second))}
	for _, on := range []bool{false, true} {
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ContainerRestartRuleTerminatePod, on)
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.KeystoneContainers, false)
		if got := Enabled(); got != on {
			t.Errorf("gate %v: Enabled() = %v", on, got)
		}
		if got := PodShouldTerminate(pod, status); got != on {
			t.Errorf("gate %v: PodShouldTerminate = %v", on, got)
		}
		phase, applies := PodPhase(pod, statuses)
		if applies != on || (on && phase != v1.PodSucceeded) {
			t.Errorf("gate %v: PodPhase = %q, %v", on, phase, applies)
		}
	}
	// RestartAllContainersOnContainerExits is upstream's beta gate, on by
	// default: the reset rule reads it.
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ContainerRestartRuleTerminatePod, true)
	reset := rt(rtExited("native-sidecar", 7, t0), rtExited("main", 143, t0.Add(time.Second)))
	if PodShouldTerminate(pod, reset) {
		t.Error("with RestartAllContainersOnContainerExits at its default (on), an earlier reset must win")
	}
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, kubefeatures.RestartAllContainersOnContainerExits, false)
	if !PodShouldTerminate(pod, reset) {
		t.Error("with RestartAllContainersOnContainerExits off, nothing resets: TerminatePod")
	}
}

// docs/keystone.md's migration: a lifecycle.type keystone and the restart
// rules that replace it decide the same for every exit.
func TestMigrationToRestartRulesDecidesTheSame(t *testing.T) {
	migrations := []struct {
		podPolicy       v1.RestartPolicy
		containerPolicy v1.ContainerRestartPolicy
		rule            v1.ContainerRestartRule
	}{
		{v1.RestartPolicyNever, v1.ContainerRestartPolicyNever,
			onExitCodes(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpNotIn)},
		{v1.RestartPolicyOnFailure, v1.ContainerRestartPolicyOnFailure,
			onExitCodes(v1.ContainerRestartRuleActionTerminatePod, v1.ContainerRestartRuleOnExitCodesOpIn, 0)},
	}
	for _, m := range migrations {
		keystonePod := &v1.Pod{Spec: v1.PodSpec{RestartPolicy: m.podPolicy, Containers: []v1.Container{
			{Name: "main", Lifecycle: &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}}, {Name: "sidecar"}}}}
		rulesPod := &v1.Pod{Spec: v1.PodSpec{RestartPolicy: m.podPolicy, Containers: []v1.Container{
			{Name: "main", RestartPolicy: ptr.To(m.containerPolicy), RestartPolicyRules: []v1.ContainerRestartRule{m.rule}}, {Name: "sidecar"}}}}
		for _, code := range []int{0, 1, 42, 137} {
			status := rt(rtExited("main", code, t0), rtRunning("sidecar"))
			before := podShouldTerminate(keystonePod, status, allOn)
			after := podShouldTerminate(rulesPod, status, allOn)
			if before != after {
				t.Errorf("pod %s, exit %d: keystone terminates %v, restart rules %v", m.podPolicy, code, before, after)
			}
		}
	}
}
