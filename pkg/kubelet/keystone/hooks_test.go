package keystone

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"
	"k8s.io/utils/ptr"
)

// lifecycleOnly is a kubelet with KeystoneContainers on and the other
// gates off, as the keystone's tests were written for.
var lifecycleOnly = gates{lifecycle: true}

func keystonePod(policy v1.RestartPolicy) *v1.Pod {
	return &v1.Pod{Spec: v1.PodSpec{
		RestartPolicy:  policy,
		InitContainers: []v1.Container{{Name: "native-sidecar", RestartPolicy: ptr.To(v1.ContainerRestartPolicyAlways)}},
		Containers: []v1.Container{
			{Name: "main", Lifecycle: &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}},
			{Name: "sidecar"},
		},
	}}
}

func runtimeStatus(keystone kubecontainer.State, exitCode int) *kubecontainer.PodStatus {
	return &kubecontainer.PodStatus{ContainerStatuses: []*kubecontainer.Status{
		{Name: "main", State: keystone, ExitCode: exitCode},
		{Name: "sidecar", State: kubecontainer.ContainerStateRunning},
	}}
}

// Every row of the KEP's table, through the hook computePodActions calls.
func TestPodShouldTerminate(t *testing.T) {
	tests := []struct {
		name     string
		policy   v1.RestartPolicy
		state    kubecontainer.State
		exitCode int
		want     bool
	}{
		{"exit 0, Never", v1.RestartPolicyNever, kubecontainer.ContainerStateExited, 0, true},
		{"exit 0, OnFailure", v1.RestartPolicyOnFailure, kubecontainer.ContainerStateExited, 0, true},
		{"exit 2, Never", v1.RestartPolicyNever, kubecontainer.ContainerStateExited, 2, true},
		{"exit 2, OnFailure: restarts", v1.RestartPolicyOnFailure, kubecontainer.ContainerStateExited, 2, false},
		{"exit 0, Always: restarts", v1.RestartPolicyAlways, kubecontainer.ContainerStateExited, 0, false},
		{"exit 2, Always: restarts", v1.RestartPolicyAlways, kubecontainer.ContainerStateExited, 2, false},
		{"running", v1.RestartPolicyNever, kubecontainer.ContainerStateRunning, 0, false},
		{"created, not started", v1.RestartPolicyNever, kubecontainer.ContainerStateCreated, 0, false},
		{"unknown state", v1.RestartPolicyNever, kubecontainer.ContainerStateUnknown, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podShouldTerminate(keystonePod(tt.policy), runtimeStatus(tt.state, tt.exitCode), lifecycleOnly); got != tt.want {
				t.Errorf("PodShouldTerminate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPodShouldTerminateNeedsAKeystone(t *testing.T) {
	pod := keystonePod(v1.RestartPolicyNever)
	pod.Spec.Containers[0].Lifecycle = nil
	if podShouldTerminate(pod, runtimeStatus(kubecontainer.ContainerStateExited, 0), lifecycleOnly) {
		t.Error("a pod without a keystone follows upstream")
	}
	if podShouldTerminate(keystonePod(v1.RestartPolicyNever), &kubecontainer.PodStatus{}, lifecycleOnly) {
		t.Error("a keystone that never ran decides nothing")
	}
}

// A container-level restartPolicy governs the keystone, as it governs
// restarts upstream.
func TestContainerRestartPolicyOverridesThePods(t *testing.T) {
	pod := keystonePod(v1.RestartPolicyAlways)
	pod.Spec.Containers[0].RestartPolicy = ptr.To(v1.ContainerRestartPolicyNever)
	if !podShouldTerminate(pod, runtimeStatus(kubecontainer.ContainerStateExited, 1), lifecycleOnly) {
		t.Error("keystone with restartPolicy Never in an Always pod: want terminate")
	}
	pod = keystonePod(v1.RestartPolicyNever)
	pod.Spec.Containers[0].RestartPolicy = ptr.To(v1.ContainerRestartPolicyAlways)
	if podShouldTerminate(pod, runtimeStatus(kubecontainer.ContainerStateExited, 0), lifecycleOnly) {
		t.Error("keystone with restartPolicy Always in a Never pod: want restart")
	}
}

func apiStatus(name string, state v1.ContainerState) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: state}
}

var (
	running = v1.ContainerState{Running: &v1.ContainerStateRunning{}}
	exited  = func(code int32) v1.ContainerState {
		return v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}
	}
	killedBySigkill = exited(137)
)

func TestPodPhase(t *testing.T) {
	tests := []struct {
		name      string
		policy    v1.RestartPolicy
		statuses  []v1.ContainerStatus
		want      v1.PodPhase
		wantApply bool
	}{
		{"keystone done, sidecars stopping: Running", v1.RestartPolicyNever,
			[]v1.ContainerStatus{apiStatus("main", exited(0)), apiStatus("sidecar", running), apiStatus("native-sidecar", running)},
			v1.PodRunning, true},
		{"native sidecar still stopping: Running", v1.RestartPolicyNever,
			[]v1.ContainerStatus{apiStatus("main", exited(0)), apiStatus("sidecar", exited(143)), apiStatus("native-sidecar", running)},
			v1.PodRunning, true},
		{"all stopped, sidecars killed: Succeeded from the keystone", v1.RestartPolicyNever,
			[]v1.ContainerStatus{apiStatus("main", exited(0)), apiStatus("sidecar", killedBySigkill), apiStatus("native-sidecar", exited(143))},
			v1.PodSucceeded, true},
		{"OnFailure, keystone 0: Succeeded", v1.RestartPolicyOnFailure,
			[]v1.ContainerStatus{apiStatus("main", exited(0)), apiStatus("sidecar", exited(143))},
			v1.PodSucceeded, true},
		{"Never, keystone 3, sidecar exited 0: Failed", v1.RestartPolicyNever,
			[]v1.ContainerStatus{apiStatus("main", exited(3)), apiStatus("sidecar", exited(0))},
			v1.PodFailed, true},
		{"OnFailure, keystone 3: upstream decides", v1.RestartPolicyOnFailure,
			[]v1.ContainerStatus{apiStatus("main", exited(3)), apiStatus("sidecar", running)},
			"", false},
		{"Always: upstream decides", v1.RestartPolicyAlways,
			[]v1.ContainerStatus{apiStatus("main", exited(0)), apiStatus("sidecar", running)},
			"", false},
		{"keystone running: upstream decides", v1.RestartPolicyNever,
			[]v1.ContainerStatus{apiStatus("main", running), apiStatus("sidecar", exited(1))},
			"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, applies := podPhase(keystonePod(tt.policy), tt.statuses, lifecycleOnly)
			if got != tt.want || applies != tt.wantApply {
				t.Errorf("PodPhase = %q, %v; want %q, %v", got, applies, tt.want, tt.wantApply)
			}
		})
	}
}
