// Package kubeletconfig edits a node's KubeletConfiguration file, for the
// tools and tests that restart a kind node's kubelet with a gate flipped
// (make bench-pleg).
package kubeletconfig

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Path is where kubeadm (and so kind) writes the kubelet's configuration.
const Path = "/var/lib/kubelet/config.yaml"

// SetGate returns the KubeletConfiguration with featureGates[gate] = on,
// everything else unchanged in meaning.
func SetGate(config []byte, gate string, on bool) ([]byte, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(config, &obj); err != nil {
		return nil, fmt.Errorf("kubelet config: %w", err)
	}
	if kind, _ := obj["kind"].(string); kind != "KubeletConfiguration" {
		return nil, fmt.Errorf("kubelet config: kind %q, want KubeletConfiguration", obj["kind"])
	}
	gates, _ := obj["featureGates"].(map[string]any)
	if gates == nil {
		gates = map[string]any{}
	}
	gates[gate] = on
	obj["featureGates"] = gates
	return yaml.Marshal(obj)
}

// Gate reports featureGates[gate] of a KubeletConfiguration, and whether
// the file sets it at all.
func Gate(config []byte, gate string) (on, set bool, err error) {
	var obj struct {
		FeatureGates map[string]bool `json:"featureGates"`
	}
	if err := yaml.Unmarshal(config, &obj); err != nil {
		return false, false, fmt.Errorf("kubelet config: %w", err)
	}
	on, set = obj.FeatureGates[gate]
	return on, set, nil
}
