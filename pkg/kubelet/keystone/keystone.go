// Package keystone decides what the kubelet does when a pod's keystone
// container (KEP-2872, spec.containers[].lifecycle.type: Keystone) exits.
// It is pure: the kubelet's pod-actions and phase computations call it
// through small hooks, and table tests drive it without a cluster.
package keystone

import (
	v1 "k8s.io/api/core/v1"
)

// Exit is what the kubelet knows about the keystone's last run.
type Exit struct {
	// Exited is false while the keystone runs or has not started.
	Exited   bool
	ExitCode int32
}

// Outcome is the decision for the whole pod.
type Outcome struct {
	// TerminatePod: stop every other container, native sidecars
	// included, with their normal grace period and preStop hooks.
	TerminatePod bool
	// Phase is the pod's final phase when TerminatePod is set. It comes
	// from the keystone's exit code alone, whatever the stopped sidecars
	// report.
	Phase v1.PodPhase
}

// Decide applies the KEP's table:
//
//	keystone exit  restartPolicy        result
//	0              Never or OnFailure   terminate the pod, Succeeded
//	non-zero       Never                terminate the pod, Failed
//	non-zero       OnFailure            restart the keystone (upstream behaviour)
//	any            Always               restart the keystone (upstream behaviour)
//
// The zero Outcome means "do what upstream does".
func Decide(policy v1.RestartPolicy, exit Exit) Outcome {
	if !exit.Exited {
		return Outcome{}
	}
	switch policy {
	case v1.RestartPolicyNever:
		if exit.ExitCode == 0 {
			return Outcome{TerminatePod: true, Phase: v1.PodSucceeded}
		}
		return Outcome{TerminatePod: true, Phase: v1.PodFailed}
	case v1.RestartPolicyOnFailure:
		if exit.ExitCode == 0 {
			return Outcome{TerminatePod: true, Phase: v1.PodSucceeded}
		}
	}
	return Outcome{}
}

// Phase returns the pod phase once a terminating keystone pod has no
// container left running, and whether the keystone rule applies at all.
// While other containers still run, the pod stays Running: the phase
// changes only when the kubelet has stopped them, so a kubelet restart in
// between recomputes the same decision from the keystone's recorded exit.
func Phase(policy v1.RestartPolicy, exit Exit, othersRunning bool) (v1.PodPhase, bool) {
	out := Decide(policy, exit)
	if !out.TerminatePod {
		return "", false
	}
	if othersRunning {
		return v1.PodRunning, true
	}
	return out.Phase, true
}

// Find returns the pod's keystone container, if it has one.
func Find(pod *v1.Pod) (*v1.Container, bool) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.Lifecycle != nil && c.Lifecycle.Type == v1.LifecycleTypeKeystone {
			return c, true
		}
	}
	return nil, false
}

// restartPolicy is the policy that governs the keystone: its own
// container-level restartPolicy (KEP-5307) when set, else the pod's.
func restartPolicy(pod *v1.Pod, c *v1.Container) v1.RestartPolicy {
	if c.RestartPolicy != nil {
		switch *c.RestartPolicy {
		case v1.ContainerRestartPolicyAlways:
			return v1.RestartPolicyAlways
		case v1.ContainerRestartPolicyOnFailure:
			return v1.RestartPolicyOnFailure
		case v1.ContainerRestartPolicyNever:
			return v1.RestartPolicyNever
		}
	}
	return pod.Spec.RestartPolicy
}
