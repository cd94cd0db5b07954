package kubeletconfig

import (
	"strings"
	"testing"
)

func TestSetGate(t *testing.T) {
	in := []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  EventedPLEG: true\n  KeystoneContainers: true\nmaxPods: 110\n")
	out, err := SetGate(in, "EventedPLEG", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EventedPLEG: false", "KeystoneContainers: true", "maxPods: 110"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if _, err := SetGate([]byte("kind: Pod\n"), "EventedPLEG", true); err == nil {
		t.Error("a non-kubelet config was edited")
	}
}
