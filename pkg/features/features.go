// Package features registers kubenext's own feature gates with the gate
// registry that every Kubernetes component already parses
// (--feature-gates, KubeletConfiguration.featureGates, kubeadm extraArgs).
//
// Registration happens by import, the way containerd registers plugins:
// every component main under cmd/ (not the kubectl plugins or netd, which
// take no gates) imports this package for its side effect, so every
// component knows every gate and none of them rejects a cluster-wide gate
// list.
//
// How our gates relate to upstream's is documented in docs/feature-gates.md.
package features

import (
	"k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/featuregate"
	// Upstream's gates must be registered first: our dependencies name them,
	// and AddDependencies rejects gates it does not know yet.
	kubefeatures "k8s.io/kubernetes/pkg/features"
)

const (
	// KeystoneContainers lets a regular container be marked
	// lifecycle.type: Keystone. When it exits and the pod's restartPolicy
	// would not restart it, the kubelet stops every other container and
	// the pod takes its phase from the keystone's exit code.
	//
	// kep: https://kep.k8s.io/2872 (never merged upstream)
	KeystoneContainers featuregate.Feature = "KeystoneContainers"

	// ContainerRestartRuleTerminatePod adds TerminatePod to the actions of a
	// regular container's restartPolicyRules (KEP-5307): when the
	// container exits and its first matching rule is TerminatePod, the
	// kubelet stops every other container, native sidecars included, and
	// the pod takes its phase from that container's exit code, whatever the
	// pod's restartPolicy. It is the keystone of KEP-2872 in the shape of
	// upstream's restart rules, served by the same kubelet decision
	// (pkg/kubelet/keystone). Needs upstream's ContainerRestartRules.
	//
	// kep: https://kep.k8s.io/5307 (TerminatePod is named there as a
	// possible future action; no upstream release implements it)
	ContainerRestartRuleTerminatePod featuregate.Feature = "ContainerRestartRuleTerminatePod"

	// NodeLogQueryInProcess makes the kubelet answer node log queries for
	// services by reading the journal itself (sd-journal, through cgo)
	// instead of starting journalctl for every query, bounds how many
	// queries run at once and how much one may write, and lets a query
	// follow the journal. File queries under /var/log are unchanged.
	//
	// kep: https://kep.k8s.io/2258 (upstream shells out to journalctl)
	NodeLogQueryInProcess featuregate.Feature = "NodeLogQueryInProcess"

	// CELAdmissionCache makes ValidatingAdmissionPolicy and
	// MutatingAdmissionPolicy parse each binding's and policy's label
	// selectors once per object instead of once per request, and build the
	// request-level CEL inputs (request, namespaceObject, authorizer) once
	// per admission request instead of once per policy and expression list.
	// Off, the apiserver runs upstream's code path. Logic and the reason it
	// cannot change a result: pkg/apiserver/celcache.
	//
	// upstream: kubernetes#133383 (open; its fix closed unmerged)
	CELAdmissionCache featuregate.Feature = "CELAdmissionCache"
)

// forkBase is the upstream minor release our gates were introduced against.
// Downstream gates carry the version of the k8s.io modules they ship with,
// so that --emulated-version treats them like upstream gates of that release.
var forkBase = version.MustParse("1.37")

var versionedGates = map[featuregate.Feature]featuregate.VersionedSpecs{
	KeystoneContainers: {
		{Version: forkBase, Default: false, PreRelease: featuregate.Alpha},
	},
	ContainerRestartRuleTerminatePod: {
		{Version: forkBase, Default: false, PreRelease: featuregate.Alpha},
	},
	NodeLogQueryInProcess: {
		{Version: forkBase, Default: false, PreRelease: featuregate.Alpha},
	},
	CELAdmissionCache: {
		{Version: forkBase, Default: false, PreRelease: featuregate.Alpha},
	},
}

// linkedGates is set only by the linker, for test binaries
// (-ldflags '-X github.com/kubenext/kubenext/pkg/features.linkedGates=A=true'):
// make test runs upstream's own package tests with a gate on this way,
// without adding a file to each of their packages. No build target sets it.
var linkedGates string

// dependencies are checked by the registry: a gate of ours cannot be on
// while a gate it needs is off (Set refuses the combination).
var dependencies = map[featuregate.Feature][]featuregate.Feature{
	// TerminatePod is an action of upstream's restart rules, which
	// ContainerRestartRules drops entirely while it is off.
	ContainerRestartRuleTerminatePod: {kubefeatures.ContainerRestartRules},
}

func init() {
	runtime.Must(utilfeature.DefaultMutableFeatureGate.AddVersioned(versionedGates))
	runtime.Must(utilfeature.DefaultMutableFeatureGate.AddDependencies(dependencies))
	if linkedGates != "" {
		runtime.Must(utilfeature.DefaultMutableFeatureGate.Set(linkedGates))
	}
}

// Gates lists the gates this package registers, for tooling that must
// know them without parsing flags (cluster configs, docs, e2e labels).
func Gates() []featuregate.Feature {
	gates := make([]featuregate.Feature, 0, len(versionedGates))
	for name := range versionedGates {
		gates = append(gates, name)
	}
	return gates
}
