package keystone

import (
	v1 "k8s.io/api/core/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
	kubefeatures "k8s.io/kubernetes/pkg/features"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"

	"github.com/kubenext/kubenext/pkg/features"
)

// gates is the kubelet's view of the gates the decision depends on.
type gates struct {
	lifecycle    bool // KeystoneContainers
	restartRules bool // ContainerRestartRuleTerminatePod
	restartAll   bool // upstream's RestartAllContainersOnContainerExits
}

func currentGates() gates {
	return gates{
		lifecycle:    utilfeature.DefaultFeatureGate.Enabled(features.KeystoneContainers),
		restartRules: utilfeature.DefaultFeatureGate.Enabled(features.ContainerRestartRuleTerminatePod),
		restartAll:   utilfeature.DefaultFeatureGate.Enabled(kubefeatures.RestartAllContainersOnContainerExits),
	}
}

// Enabled reports whether this kubelet serves either keystone API
// (KeystoneContainers or ContainerRestartRuleTerminatePod on). The hooks
// check it first: with both gates off the kubelet is upstream's, even for
// pods that carry lifecycle.type or a TerminatePod rule. With one on, the
// other API is still upstream's (Trigger).
func Enabled() bool {
	g := currentGates()
	return g.lifecycle || g.restartRules
}

// These adapters are what the kubelet's hooks call: they read the kubelet's
// own view of the pod (runtime status for pod actions, API status for the
// phase) and reduce it to Decide's inputs. Both views are rebuilt from the
// runtime on every sync, so a restarted kubelet reaches the same decision.

// PodShouldTerminate tells computePodActions to stop the whole pod and
// start nothing: the keystone has exited and the table says the pod ends.
// Stopping goes through the kubelet's normal pod kill, so every container
// gets its grace period and preStop hook, native sidecars last.
func PodShouldTerminate(pod *v1.Pod, status *kubecontainer.PodStatus) bool {
	return podShouldTerminate(pod, status, currentGates())
}

func podShouldTerminate(pod *v1.Pod, status *kubecontainer.PodStatus, g gates) bool {
	if status == nil {
		return false
	}
	exitOf := func(name string) Exit { return runtimeExit(status.FindContainerStatusByName(name)) }
	in, ok := input(pod, exitOf, g)
	return ok && Decide(in).TerminatePod
}

// runtimeExit reads a container's most recent run, as the runtime reports it.
func runtimeExit(s *kubecontainer.Status) Exit {
	if s == nil || s.State != kubecontainer.ContainerStateExited {
		return Exit{}
	}
	return Exit{Exited: true, ExitCode: int32(s.ExitCode), FinishedAt: s.FinishedAt}
}

// PodPhase returns the pod's phase when the keystone decides it, and
// false when upstream's phase computation applies: no keystone, keystone
// still running, or a keystone that the table restarts. statuses are the
// regular and init containers' statuses that getPhase receives.
func PodPhase(pod *v1.Pod, statuses []v1.ContainerStatus) (v1.PodPhase, bool) {
	return podPhase(pod, statuses, currentGates())
}

func podPhase(pod *v1.Pod, statuses []v1.ContainerStatus, g gates) (v1.PodPhase, bool) {
	exits := make(map[string]Exit, len(statuses))
	running := make(map[string]bool, len(statuses))
	for i := range statuses {
		s := &statuses[i]
		if t := s.State.Terminated; t != nil {
			exits[s.Name] = Exit{Exited: true, ExitCode: t.ExitCode, FinishedAt: t.FinishedAt.Time}
		}
		running[s.Name] = s.State.Running != nil
	}
	in, ok := input(pod, func(name string) Exit { return exits[name] }, g)
	if !ok {
		return "", false
	}
	c, _ := Trigger(pod, g.lifecycle, g.restartRules)
	othersRunning := false
	for name, r := range running {
		if r && name != c.Name {
			othersRunning = true
		}
	}
	return Phase(in, othersRunning)
}

// input builds the table's key for pod from exitOf, which reads a
// container's latest exit from one of the kubelet's views. It is false
// when the pod has no keystone this kubelet serves.
func input(pod *v1.Pod, exitOf func(name string) Exit, g gates) (Input, bool) {
	c, api := Trigger(pod, g.lifecycle, g.restartRules)
	if api == APINone {
		return Input{}, false
	}
	in := Input{API: api, Exit: exitOf(c.Name)}
	switch api {
	case APILifecycle:
		in.Policy = restartPolicy(pod, c)
	case APIRestartRules:
		if in.Exit.Exited {
			if rule, ok := podutil.FindMatchingContainerRestartRule(*c, in.Exit.ExitCode); ok {
				in.Rule = rule.Action
			}
		}
	}
	if g.restartAll && in.Exit.Exited {
		in.Resetting = resetFirst(pod, c.Name, in.Exit, exitOf)
	}
	return in, true
}

// resetFirst reports whether another container's exit matched a
// RestartAllContainers rule before the keystone's exit: upstream then
// stops, removes and restarts every container, and the keystone's exit
// (often 137 or 143 from that stop) is not the pod's end. A reset whose
// source exited after the keystone comes too late: the keystone's decision
// stands, and the stopped container's exit is one more the kill caused.
func resetFirst(pod *v1.Pod, keystone string, exit Exit, exitOf func(name string) Exit) bool {
	for c := range podutil.ContainerIter(&pod.Spec, podutil.InitContainers|podutil.Containers) {
		if c == nil || c.Name == keystone || len(c.RestartPolicyRules) == 0 {
			continue
		}
		other := exitOf(c.Name)
		if !other.Exited || !before(other, exit) {
			continue
		}
		if rule, ok := podutil.FindMatchingContainerRestartRule(*c, other.ExitCode); ok &&
			rule.Action == v1.ContainerRestartRuleActionRestartAllContainers {
			return true
		}
	}
	return false
}
