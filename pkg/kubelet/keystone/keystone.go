// Package keystone decides what the kubelet does when a pod's keystone
// container exits. A pod names its keystone through one of two APIs:
//
//   - lifecycle.type: Keystone (KEP-2872, gate KeystoneContainers): the pod
//     ends when the keystone exits and its restart policy would not
//     restart it;
//   - a TerminatePod restart rule (KEP-5307's restartPolicyRules, gate
//     ContainerRestartRuleTerminatePod): the pod ends when the container
//     exits and its first matching rule is TerminatePod.
//
// Both end the pod the same way, and one decision table (Decide) covers
// both. The package is pure: the kubelet's pod-actions and phase
// computations call it through small hooks, and table tests drive it
// without a cluster.
package keystone

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// API is the way a pod names its keystone.
type API string

const (
	// APINone: the pod has no keystone; upstream decides everything.
	APINone API = ""
	// APILifecycle: a regular container with lifecycle.type: Keystone.
	APILifecycle API = "lifecycle.type: Keystone"
	// APIRestartRules: a regular container with a TerminatePod restart rule.
	APIRestartRules API = "restartPolicyRules: TerminatePod"
)

// Exit is what the kubelet knows about a container's last run.
type Exit struct {
	// Exited is false while the container runs or has not started.
	Exited   bool
	ExitCode int32
	// FinishedAt orders this exit against a RestartAllContainers reset's;
	// zero when the runtime did not say (it then counts as the latest).
	FinishedAt time.Time
}

// Input is one row's key in the decision table.
type Input struct {
	API API
	// Policy governs an APILifecycle keystone: its own container-level
	// restartPolicy (KEP-5307) when set, else the pod's.
	Policy v1.RestartPolicy
	// Rule is the action of the first restart rule that matches the exit
	// of an APIRestartRules keystone, "" when no rule matches.
	Rule v1.ContainerRestartRuleAction
	Exit Exit
	// Resetting: another container's exit started a RestartAllContainers
	// reset (KEP-5532) before this exit. The reset stops and restarts
	// every container, the keystone included, so the keystone's exit is
	// not the pod's end.
	Resetting bool
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

// Decide applies the combined table. The zero Outcome means "do what
// upstream does".
//
//	API            keystone exit / first matching rule   policy               result
//	lifecycle      0                                     Never or OnFailure   terminate the pod, Succeeded
//	lifecycle      non-zero                              Never                terminate the pod, Failed
//	lifecycle      non-zero                              OnFailure            restart the keystone (upstream)
//	lifecycle      any                                   Always               restart the keystone (upstream)
//	restart rules  TerminatePod, exit 0                  any                  terminate the pod, Succeeded
//	restart rules  TerminatePod, exit non-zero           any                  terminate the pod, Failed
//	restart rules  Restart                               any                  restart in place (upstream)
//	restart rules  RestartAllContainers                  any                  restart every container (upstream)
//	restart rules  no rule matches                       container's policy   upstream
//	any            an earlier RestartAllContainers reset                      the reset (upstream)
//	any            still running or never ran                                 upstream
func Decide(in Input) Outcome {
	if !in.Exit.Exited || in.Resetting {
		return Outcome{}
	}
	switch in.API {
	case APILifecycle:
		switch in.Policy {
		case v1.RestartPolicyNever:
			return terminate(in.Exit.ExitCode)
		case v1.RestartPolicyOnFailure:
			if in.Exit.ExitCode == 0 {
				return terminate(0)
			}
		}
	case APIRestartRules:
		if in.Rule == v1.ContainerRestartRuleActionTerminatePod {
			return terminate(in.Exit.ExitCode)
		}
	}
	return Outcome{}
}

func terminate(exitCode int32) Outcome {
	if exitCode == 0 {
		return Outcome{TerminatePod: true, Phase: v1.PodSucceeded}
	}
	return Outcome{TerminatePod: true, Phase: v1.PodFailed}
}

// Phase returns the pod phase once a terminating keystone pod has no
// container left running, and whether the keystone decides it at all.
// While other containers still run, the pod stays Running: the phase
// changes only when the kubelet has stopped them, so a kubelet restart in
// between recomputes the same decision from the keystone's recorded exit.
func Phase(in Input, othersRunning bool) (v1.PodPhase, bool) {
	out := Decide(in)
	if !out.TerminatePod {
		return "", false
	}
	if othersRunning {
		return v1.PodRunning, true
	}
	return out.Phase, true
}

// Find returns the pod's lifecycle.type: Keystone container, if it has one.
func Find(pod *v1.Pod) (*v1.Container, bool) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.Lifecycle != nil && c.Lifecycle.Type == v1.LifecycleTypeKeystone {
			return c, true
		}
	}
	return nil, false
}

// FindTerminatePod returns the pod's regular container with a TerminatePod
// restart rule, if it has one. Validation allows one per pod; with more,
// the first is taken.
func FindTerminatePod(pod *v1.Pod) (*v1.Container, bool) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		for _, r := range c.RestartPolicyRules {
			if r.Action == v1.ContainerRestartRuleActionTerminatePod {
				return c, true
			}
		}
	}
	return nil, false
}

// Trigger returns the pod's keystone and the API that names it, each API
// only when its gate is on. Validation refuses a pod that uses both; if
// one did, lifecycle.type would win.
func Trigger(pod *v1.Pod, lifecycleOn, restartRulesOn bool) (*v1.Container, API) {
	if lifecycleOn {
		if c, ok := Find(pod); ok {
			return c, APILifecycle
		}
	}
	if restartRulesOn {
		if c, ok := FindTerminatePod(pod); ok {
			return c, APIRestartRules
		}
	}
	return nil, APINone
}

// restartPolicy is the policy that governs a lifecycle keystone: its own
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

// before reports whether exit a finished before exit b. An unknown (zero)
// finish time counts as the latest: such a record cannot claim to be first.
func before(a, b Exit) bool {
	if a.FinishedAt.IsZero() {
		return false
	}
	return b.FinishedAt.IsZero() || a.FinishedAt.Before(b.FinishedAt)
}
