package features

import (
	"strings"
	"testing"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/featuregate"
	kubefeatures "k8s.io/kubernetes/pkg/features"
)

func TestKeystoneContainersIsAlphaAndOff(t *testing.T) {
	spec, ok := utilfeature.DefaultMutableFeatureGate.GetAll()[KeystoneContainers]
	if !ok {
		t.Fatal("KeystoneContainers is not registered")
	}
	if spec.PreRelease != featuregate.Alpha || spec.Default || spec.LockToDefault {
		t.Errorf("KeystoneContainers = %+v, want alpha, off by default, not locked", spec)
	}
	if utilfeature.DefaultFeatureGate.Enabled(KeystoneContainers) {
		t.Error("KeystoneContainers must be off unless enabled")
	}
}

func TestCELAdmissionCacheIsAlphaAndOff(t *testing.T) {
	spec, ok := utilfeature.DefaultMutableFeatureGate.GetAll()[CELAdmissionCache]
	if !ok {
		t.Fatal("CELAdmissionCache is not registered")
	}
	if spec.PreRelease != featuregate.Alpha || spec.Default || spec.LockToDefault {
		t.Errorf("CELAdmissionCache = %+v, want alpha, off by default, not locked", spec)
	}
	if linkedGates == "" && utilfeature.DefaultFeatureGate.Enabled(CELAdmissionCache) {
		t.Error("CELAdmissionCache must be off unless enabled")
	}
}

// TestLinkedGates runs in make unit beside upstream's plugin tests with the
// same -ldflags, so it shows that those binaries ran with the gates on.
func TestLinkedGates(t *testing.T) {
	if linkedGates == "" {
		t.Skip("no gates linked in (make unit links CELAdmissionCache=true)")
	}
	for _, item := range strings.Split(linkedGates, ",") {
		name, value, _ := strings.Cut(item, "=")
		if got, want := utilfeature.DefaultFeatureGate.Enabled(featuregate.Feature(name)), value == "true"; got != want {
			t.Errorf("linked %s: enabled %v, want %v", item, got, want)
		}
	}
}

func TestGatesCanBeEnabledByFlag(t *testing.T) {
	gate := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := gate.Set("KeystoneContainers=true,EventedPLEG=true"); err != nil {
		t.Fatal(err)
	}
	if !gate.Enabled(KeystoneContainers) || !gate.Enabled(kubefeatures.EventedPLEG) {
		t.Error("gates set by flag are not enabled")
	}
}

func TestUnknownGateIsRejected(t *testing.T) {
	gate := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	err := gate.Set("KeystoneContainer=true")
	if err == nil || !strings.Contains(err.Error(), "unrecognized feature gate: KeystoneContainer") {
		t.Errorf("got %v, want upstream's unrecognized feature gate error", err)
	}
}

func TestGatesListsEveryRegisteredGate(t *testing.T) {
	all := utilfeature.DefaultMutableFeatureGate.GetAll()
	for _, g := range Gates() {
		if _, ok := all[g]; !ok {
			t.Errorf("Gates() lists %s, which is not registered", g)
		}
	}
	if len(Gates()) != len(versionedGates) {
		t.Errorf("Gates() = %v, want every gate in versionedGates", Gates())
	}
}

func TestContainerRestartRuleTerminatePodIsAlphaAndOff(t *testing.T) {
	spec, ok := utilfeature.DefaultMutableFeatureGate.GetAll()[ContainerRestartRuleTerminatePod]
	if !ok {
		t.Fatal("ContainerRestartRuleTerminatePod is not registered")
	}
	if spec.PreRelease != featuregate.Alpha || spec.Default || spec.LockToDefault {
		t.Errorf("ContainerRestartRuleTerminatePod = %+v, want alpha, off by default, not locked", spec)
	}
	if utilfeature.DefaultFeatureGate.Enabled(ContainerRestartRuleTerminatePod) {
		t.Error("ContainerRestartRuleTerminatePod must be off unless enabled")
	}
}

// TerminatePod is an action of upstream's restart rules: the registry
// refuses it on while ContainerRestartRules is off.
func TestContainerRestartRuleTerminatePodNeedsContainerRestartRules(t *testing.T) {
	gate := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := gate.Set("ContainerRestartRuleTerminatePod=true,ContainerRestartRules=false"); err == nil {
		t.Error("ContainerRestartRuleTerminatePod=true with ContainerRestartRules=false was accepted")
	}
	gate = utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := gate.Set("ContainerRestartRuleTerminatePod=true"); err != nil {
		t.Errorf("with upstream's ContainerRestartRules at its default (on): %v", err)
	}
	if !gate.Enabled(ContainerRestartRuleTerminatePod) || !gate.Enabled(kubefeatures.ContainerRestartRules) {
		t.Error("gates set by flag are not enabled")
	}
}
