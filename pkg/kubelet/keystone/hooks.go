package keystone

import (
	v1 "k8s.io/api/core/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"

	"github.com/kubenext/kubenext/pkg/features"
)

// Enabled reports whether this kubelet runs with KeystoneContainers on. The
// hooks check it first: with the gate off the kubelet is upstream's, even
// for pods that carry lifecycle.type.
func Enabled() bool {
	return utilfeature.DefaultFeatureGate.Enabled(features.KeystoneContainers)
}

// These adapters are what the kubelet's hooks call: they read the kubelet's
// own view of the pod (runtime status for pod actions, API status for the
// phase) and reduce it to Decide's inputs. Both views are rebuilt from the
// runtime on every sync, so a restarted kubelet reaches the same decision.

// PodShouldTerminate tells computePodActions to stop the whole pod and
// start nothing: the keystone has exited and its restart policy would not
// restart it. Stopping goes through the kubelet's normal pod kill, so every
// container gets its grace period and preStop hook, native sidecars last.
func PodShouldTerminate(pod *v1.Pod, status *kubecontainer.PodStatus) bool {
	c, ok := Find(pod)
	if !ok || status == nil {
		return false
	}
	return Decide(restartPolicy(pod, c), runtimeExit(status.FindContainerStatusByName(c.Name))).TerminatePod
}

// runtimeExit reads the keystone's most recent run, as the runtime reports it.
func runtimeExit(s *kubecontainer.Status) Exit {
	if s == nil || s.State != kubecontainer.ContainerStateExited {
		return Exit{}
	}
	return Exit{Exited: true, ExitCode: int32(s.ExitCode)}
}

// PodPhase returns the pod's phase when the keystone rule decides it, and
// false when upstream's phase computation applies: no keystone, keystone
// still running, or a keystone its restart policy restarts.
func PodPhase(pod *v1.Pod, statuses []v1.ContainerStatus) (v1.PodPhase, bool) {
	c, ok := Find(pod)
	if !ok {
		return "", false
	}
	exit := Exit{}
	othersRunning := false
	for i := range statuses {
		s := &statuses[i]
		if s.Name == c.Name {
			if t := s.State.Terminated; t != nil {
				exit = Exit{Exited: true, ExitCode: t.ExitCode}
			}
			continue
		}
		if s.State.Running != nil {
			othersRunning = true
		}
	}
	return Phase(restartPolicy(pod, c), exit, othersRunning)
}
