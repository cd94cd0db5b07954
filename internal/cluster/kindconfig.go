package cluster

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Spec is everything that shapes a cluster's kind configuration.
type Spec struct {
	Name          string
	Workers       int
	Gates         map[string]bool
	PodSubnet     string
	ServiceSubnet string
	Host          HostFacts
}

// The subset of kind's v1alpha4 Cluster that we set. Depending on kind's
// Go types would pull kind's module graph into ours for a dozen fields.
type kindCluster struct {
	Kind                    string            `json:"kind"`
	APIVersion              string            `json:"apiVersion"`
	Name                    string            `json:"name"`
	Nodes                   []kindNode        `json:"nodes"`
	Networking              kindNetworking    `json:"networking"`
	FeatureGates            map[string]bool   `json:"featureGates,omitempty"`
	RuntimeConfig           map[string]string `json:"runtimeConfig,omitempty"`
	KubeadmConfigPatches    []string          `json:"kubeadmConfigPatches,omitempty"`
	ContainerdConfigPatches []string          `json:"containerdConfigPatches,omitempty"`
}

type kindNode struct {
	Role string `json:"role"`
}

type kindNetworking struct {
	IPFamily      string `json:"ipFamily"`
	PodSubnet     string `json:"podSubnet"`
	ServiceSubnet string `json:"serviceSubnet"`
}

// KindConfig renders the kind configuration for spec.
//
// Gates go in kind's top-level featureGates, which kind copies into the
// apiserver, controller-manager and scheduler flags, the
// KubeletConfiguration and the KubeProxyConfiguration. That is safe only
// because every one of our binaries registers every gate of ours.
func KindConfig(spec Spec) ([]byte, error) {
	if spec.Workers < 0 {
		return nil, fmt.Errorf("WORKERS=%d: a cluster has zero or more workers", spec.Workers)
	}
	c := kindCluster{
		Kind:         "Cluster",
		APIVersion:   "kind.x-k8s.io/v1alpha4",
		Name:         spec.Name,
		Nodes:        []kindNode{{Role: "control-plane"}},
		FeatureGates: spec.Gates,
		Networking: kindNetworking{
			IPFamily:      "ipv4",
			PodSubnet:     spec.PodSubnet,
			ServiceSubnet: spec.ServiceSubnet,
		},
		KubeadmConfigPatches: []string{kubeletPatch(spec.Host)},
	}
	for range spec.Workers {
		c.Nodes = append(c.Nodes, kindNode{Role: "worker"})
	}
	if spec.Host.CannotLowerOOMScore {
		c.ContainerdConfigPatches = append(c.ContainerdConfigPatches,
			"[plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n")
	}
	return yaml.Marshal(c)
}

// kubeletPatch is applied at cluster level, so that kubeadm's kubelet-config
// ConfigMap, which joining nodes read, carries it too.
func kubeletPatch(host HostFacts) string {
	patch := "kind: KubeletConfiguration\n" +
		"# KEP-2258: serve journal and /var/log queries on /logs/.\n" +
		"enableSystemLogQuery: true\n"
	if host.CgroupV1 {
		patch += "# This host uses cgroup v1, which 1.35+ kubelets refuse by default.\n" +
			"failCgroupV1: false\n"
	}
	return patch
}
