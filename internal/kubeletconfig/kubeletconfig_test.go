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

func TestGate(t *testing.T) {
	config := []byte("kind: KubeletConfiguration\nfeatureGates:\n  EventedPLEG: true\n  NodeLogQuery: false\n")
	for _, c := range []struct {
		gate    string
		on, set bool
	}{{"EventedPLEG", true, true}, {"NodeLogQuery", false, true}, {"Other", false, false}} {
		on, set, err := Gate(config, c.gate)
		if err != nil || on != c.on || set != c.set {
			t.Errorf("Gate(%s) = %t, %t, %v; want %t, %t", c.gate, on, set, err, c.on, c.set)
		}
	}
	if _, _, err := Gate([]byte("featureGates: [not, a, map]"), "EventedPLEG"); err == nil {
		t.Error("a config whose featureGates is not a map must be an error")
	}
}
