package cluster

import (
	"fmt"

	"sigs.k8s.io/yaml"

	kubenextfeatures "github.com/kubenext/kubenext/pkg/features"
)

// Spec is everything that shapes a cluster's kind configuration.
type Spec struct {
	Name    string
	Workers int
	// GateOffWorkers are added after Workers. Their kubelet runs with
	// KeystoneContainers=false and ContainerRestartRuleTerminatePod=false
	// while the API server and every other node have Gates, so that the
	// e2e suite can show that a pod with a keystone (either API) gets
	// upstream's behaviour from such a kubelet.
	GateOffWorkers int
	// NodeImage is every node's image but the upstream workers'. It goes
	// in the config rather than kind's --image, which would override the
	// upstream workers' image too.
	NodeImage string
	// UpstreamWorkers come last and run UpstreamImage: our node image
	// with upstream's kubelet (see upstream.go), labelled
	// KubeletLabel=KubeletLabelUpstream.
	UpstreamWorkers int
	UpstreamImage   string
	Gates           map[string]bool
	PodSubnet       string
	ServiceSubnet   string
	Host            HostFacts
}

// GateOffLabel, set to GateOffLabelValue, marks the GateOffWorkers, so
// that tests can find them and keep keystone pods that expect the feature
// off them.
const (
	GateOffLabel      = "kubenext.io/keystone"
	GateOffLabelValue = "off"
)

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
	Role                 string            `json:"role"`
	Image                string            `json:"image,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	KubeadmConfigPatches []string          `json:"kubeadmConfigPatches,omitempty"`
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
	if spec.GateOffWorkers < 0 {
		return nil, fmt.Errorf("GATE_OFF_WORKERS=%d: want 0 or more", spec.GateOffWorkers)
	}
	c := kindCluster{
		Kind:         "Cluster",
		APIVersion:   "kind.x-k8s.io/v1alpha4",
		Name:         spec.Name,
		Nodes:        []kindNode{{Role: "control-plane", Image: spec.NodeImage}},
		FeatureGates: spec.Gates,
		Networking: kindNetworking{
			IPFamily:      "ipv4",
			PodSubnet:     spec.PodSubnet,
			ServiceSubnet: spec.ServiceSubnet,
		},
		KubeadmConfigPatches: []string{kubeletPatch(spec.Host), etcdOnTmpfsPatch},
	}
	for range spec.Workers {
		c.Nodes = append(c.Nodes, kindNode{Role: "worker", Image: spec.NodeImage})
	}
	// Last, so that <cluster>-worker, which make bench-pleg uses, stays a
	// worker with every gate of the cluster whenever WORKERS > 0.
	for range spec.GateOffWorkers {
		c.Nodes = append(c.Nodes, kindNode{
			Role:                 "worker",
			Image:                spec.NodeImage,
			Labels:               map[string]string{GateOffLabel: GateOffLabelValue},
			KubeadmConfigPatches: []string{keystoneOffJoinPatch},
		})
	}
	if spec.UpstreamWorkers < 0 {
		return nil, fmt.Errorf("UPSTREAM_WORKERS=%d: want 0 or more", spec.UpstreamWorkers)
	}
	if spec.UpstreamWorkers > 0 && spec.UpstreamImage == "" {
		return nil, fmt.Errorf("UPSTREAM_WORKERS=%d needs the upstream-kubelet node image: make cluster builds it (make node-image-upstream)", spec.UpstreamWorkers)
	}
	for range spec.UpstreamWorkers {
		c.Nodes = append(c.Nodes, kindNode{
			Role:                 "worker",
			Image:                spec.UpstreamImage,
			Labels:               map[string]string{KubeletLabel: KubeletLabelUpstream},
			KubeadmConfigPatches: []string{upstreamJoinPatch},
		})
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

// etcdOnTmpfsPatch keeps etcd's data in the control-plane node's /tmp,
// which kind mounts as tmpfs. On /var, a volume on the host's disk, every
// write waits for an fsync that a disk shared with the image builds and
// 200 pods of churn can stall for seconds, and a stalled etcd stalls the
// apiserver. A test cluster loses nothing it needs: its etcd dies with
// its node container either way.
const etcdOnTmpfsPatch = "kind: ClusterConfiguration\n" +
	"etcd:\n" +
	"  local:\n" +
	"    dataDir: /tmp/etcd\n"

// keystoneOffJoinPatch turns both keystone gates (KeystoneContainers and
// ContainerRestartRuleTerminatePod) off on one joining node's kubelet. The cluster's featureGates cannot: every kubelet that joins
// reads the same KubeletConfiguration from kubeadm's kubelet-config
// ConfigMap. A kubelet --feature-gates flag can, because the kubelet lets
// a flag win over its config file gate by gate, so the node keeps every
// other gate of the cluster. kubeadm writes the flag to that node's
// /var/lib/kubelet/kubeadm-flags.env.
//
// kubeadm v1beta4 lists kubeletExtraArgs as {name, value}. The patch names
// no apiVersion on purpose: kind then merges the list by name into its
// v1beta4 JoinConfiguration (node-ip, provider-id and node-labels stay),
// and kubeadm would refuse the list if kind ever rendered another version.
// A patch with an apiVersion that no longer matched kind's template would
// instead be skipped without a word, leaving the gate on.
var keystoneOffJoinPatch = "kind: JoinConfiguration\n" +
	"nodeRegistration:\n" +
	"  kubeletExtraArgs:\n" +
	"  - name: feature-gates\n" +
	"    value: " + string(kubenextfeatures.KeystoneContainers) + "=false," +
	string(kubenextfeatures.ContainerRestartRuleTerminatePod) + "=false\n"
