package machines

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	proxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	bootstraptokenv1 "k8s.io/kubernetes/cmd/kubeadm/app/apis/bootstraptoken/v1"
	kubeadmv1beta4 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubenext/kubenext/internal/cluster"
)

// CRISocket is where our containerd package listens.
const CRISocket = "unix:///run/containerd/containerd.sock"

// APIServerPort is the control plane's secure port.
const APIServerPort = 6443

// KubeadmSpec is what shapes the kubeadm configuration of the machines.
type KubeadmSpec struct {
	Name string // cluster name
	// Version is the kubernetesVersion, build metadata and all
	// (v1.37.2+kubenext.<commit>); kubeadm derives the image tags from it.
	Version string
	// ImageRepository is where every image comes from: the registry
	// make machines started, e.g. 172.30.1.2:5000/kubenext.
	ImageRepository string
	ControlPlane    string     // node name of the first machine
	ControlPlaneIP  netip.Addr // its address, which the others join
	Token           string     // bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}
	Gates           map[string]bool
	Host            cluster.HostFacts
}

// IgnoredPreflightErrors are the kubeadm checks that fail because these
// machines are containers on a shared kernel, not because of anything a
// real machine would get wrong: SystemVerification reads the kernel's
// config, which a container cannot see (and, on this host, finds cgroup
// v1). Everything else kubeadm checks is left on.
var IgnoredPreflightErrors = []string{"SystemVerification"}

// InitConfig renders the file given to `kubeadm init --config`: our gates
// on every component, every image from the registry, and the kubelet
// settings the features need (KEP-2258's log query, cgroup v1 where the
// host has it).
func InitConfig(spec KubeadmSpec) ([]byte, error) {
	if spec.Version == "" || spec.ImageRepository == "" || spec.ControlPlane == "" || !spec.ControlPlaneIP.IsValid() {
		return nil, fmt.Errorf("kubeadm config needs a version, an image repository and the control plane's name and address")
	}
	gates := []kubeadmv1beta4.Arg{{Name: "feature-gates", Value: cluster.FormatGates(spec.Gates)}}
	endpoint := netip.AddrPortFrom(spec.ControlPlaneIP, APIServerPort).String()
	token, err := bootstraptokenv1.NewBootstrapTokenString(spec.Token)
	if err != nil {
		return nil, fmt.Errorf("bootstrap token: %w", err)
	}
	init := kubeadmv1beta4.InitConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubeadm.k8s.io/v1beta4", Kind: "InitConfiguration"},
		BootstrapTokens: []bootstraptokenv1.BootstrapToken{{
			Token:  token,
			Groups: []string{"system:bootstrappers:kubeadm:default-node-token"},
			Usages: []string{"signing", "authentication"},
			TTL:    &metav1.Duration{Duration: 24 * time.Hour},
		}},
		NodeRegistration: kubeadmv1beta4.NodeRegistrationOptions{
			Name:                  spec.ControlPlane,
			CRISocket:             CRISocket,
			IgnorePreflightErrors: IgnoredPreflightErrors,
			KubeletExtraArgs:      []kubeadmv1beta4.Arg{{Name: "node-ip", Value: spec.ControlPlaneIP.String()}},
		},
		LocalAPIEndpoint: kubeadmv1beta4.APIEndpoint{AdvertiseAddress: spec.ControlPlaneIP.String(), BindPort: APIServerPort},
	}
	clusterConfig := kubeadmv1beta4.ClusterConfiguration{
		TypeMeta:             metav1.TypeMeta{APIVersion: "kubeadm.k8s.io/v1beta4", Kind: "ClusterConfiguration"},
		ClusterName:          spec.Name,
		KubernetesVersion:    spec.Version,
		ImageRepository:      spec.ImageRepository,
		ControlPlaneEndpoint: endpoint,
		Networking:           kubeadmv1beta4.Networking{PodSubnet: cluster.PodSubnet, ServiceSubnet: cluster.ServiceSubnet, DNSDomain: "cluster.local"},
		APIServer:            kubeadmv1beta4.APIServer{ControlPlaneComponent: kubeadmv1beta4.ControlPlaneComponent{ExtraArgs: gates}},
		ControllerManager:    kubeadmv1beta4.ControlPlaneComponent{ExtraArgs: gates},
		Scheduler:            kubeadmv1beta4.ControlPlaneComponent{ExtraArgs: gates},
	}
	kubelet := kubeletv1beta1.KubeletConfiguration{
		TypeMeta:             metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		FeatureGates:         spec.Gates,
		CgroupDriver:         "systemd",
		EnableSystemLogQuery: ptr.To(true),
		// The machines share this host's filesystem, so the default
		// thresholds (imagefs 15% free) measure the host's disk and taint
		// every machine disk-pressure when the host fills; kind's nodes
		// turn them off for the same reason.
		EvictionHard: map[string]string{"nodefs.available": "0%", "nodefs.inodesFree": "0%", "imagefs.available": "0%"},
	}
	if spec.Host.CgroupV1 {
		kubelet.FailCgroupV1 = ptr.To(false)
	}
	proxy := proxyv1alpha1.KubeProxyConfiguration{
		TypeMeta:     metav1.TypeMeta{APIVersion: "kubeproxy.config.k8s.io/v1alpha1", Kind: "KubeProxyConfiguration"},
		FeatureGates: spec.Gates,
		Mode:         "iptables",
		// The machines share this host's kernel: kube-proxy must not
		// resize its conntrack table, which is not the machine's to set.
		Conntrack: proxyv1alpha1.KubeProxyConntrackConfiguration{MaxPerCore: ptr.To[int32](0)},
	}
	return joinYAML(init, clusterConfig, kubelet, proxy)
}

// JoinConfig renders the file for `kubeadm join --config` on node, which
// trusts the control plane by the hash of its CA's public key.
func JoinConfig(spec KubeadmSpec, node string, nodeIP netip.Addr, caCertHash string) ([]byte, error) {
	return RenderConfig(JoinConfiguration(spec, node, nodeIP, caCertHash))
}

// JoinConfiguration is JoinConfig's object, for a caller that adds to it
// (a virtual machine's kubelet patches and labels).
func JoinConfiguration(spec KubeadmSpec, node string, nodeIP netip.Addr, caCertHash string) kubeadmv1beta4.JoinConfiguration {
	return kubeadmv1beta4.JoinConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubeadm.k8s.io/v1beta4", Kind: "JoinConfiguration"},
		NodeRegistration: kubeadmv1beta4.NodeRegistrationOptions{
			Name:                  node,
			CRISocket:             CRISocket,
			IgnorePreflightErrors: IgnoredPreflightErrors,
			KubeletExtraArgs:      []kubeadmv1beta4.Arg{{Name: "node-ip", Value: nodeIP.String()}},
		},
		Discovery: kubeadmv1beta4.Discovery{BootstrapToken: &kubeadmv1beta4.BootstrapTokenDiscovery{
			Token:             spec.Token,
			APIServerEndpoint: netip.AddrPortFrom(spec.ControlPlaneIP, APIServerPort).String(),
			CACertHashes:      []string{caCertHash},
		}},
	}
}

// RenderConfig renders kubeadm configuration objects as one file.
func RenderConfig(objs ...any) ([]byte, error) { return joinYAML(objs...) }

// joinYAML renders docs as one multi-document file. The typed structs
// catch a misspelt field at compile time, but marshal every unset field as
// its zero value; sparse drops those, so that the file says only what we
// set and kubeadm defaults the rest.
func joinYAML(docs ...any) ([]byte, error) {
	var out bytes.Buffer
	for i, d := range docs {
		tree, err := sparse(reflect.ValueOf(d))
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(tree)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// sparse is v as JSON would render it, without the fields that hold their
// type's zero value. A pointer that is set is kept even when it points at
// a zero (maxPerCore: 0, failCgroupV1: false): setting it was the point.
func sparse(v reflect.Value) (any, error) {
	switch {
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return sparse(v.Elem())
	case v.Type().Implements(jsonMarshaler):
		// Durations, quantities, token strings: their own rendering.
		raw, err := json.Marshal(v.Interface())
		if err != nil {
			return nil, err
		}
		var out any
		return out, json.Unmarshal(raw, &out)
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			field := v.Type().Field(i)
			name, opts, _ := strings.Cut(field.Tag.Get("json"), ",")
			if !field.IsExported() || name == "-" {
				continue
			}
			value := v.Field(i)
			if value.Kind() != reflect.Pointer && value.IsZero() {
				continue
			}
			child, err := sparse(value)
			if err != nil {
				return nil, err
			}
			if child == nil {
				continue
			}
			if strings.Contains(opts, "inline") || (field.Anonymous && name == "") {
				if m, ok := child.(map[string]any); ok {
					maps.Copy(out, m)
				}
				continue
			}
			if name == "" {
				name = field.Name
			}
			out[name] = child
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return nil, nil
		}
		raw, err := json.Marshal(v.Interface())
		if err != nil {
			return nil, err
		}
		var out any
		return out, json.Unmarshal(raw, &out)
	}
	return v.Interface(), nil
}

// CACertHash is kubeadm's pin of a CA: sha256 of its public key info.
func CACertHash(caPEM []byte) (string, error) {
	block, _ := pem.Decode(caPEM)
	if block == nil {
		return "", fmt.Errorf("the control plane's ca.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// NewToken makes a bootstrap token from crypto/rand.
func NewToken() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 23)
	for i := range b {
		if i == 6 {
			b[i] = '.'
			continue
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// ContainerdSiteConfig is the drop-in for /etc/containerd/conf.d that a
// site writes next to the package's config: the sandbox image from the
// site's registry, and restrict_oom_score_adj where the host cannot let
// runc lower oom_score_adj.
func ContainerdSiteConfig(imageRepository, pauseTag string, host cluster.HostFacts) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by make machines: this site's registry and host.\nversion = 4\n\n")
	fmt.Fprintf(&b, "[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = %s\n", strconv.Quote(imageRepository+"/pause:"+pauseTag))
	if host.CannotLowerOOMScore {
		b.WriteString("\n# The host's bounding set lacks CAP_SYS_RESOURCE.\n[plugins.'io.containerd.cri.v1.runtime']\n  restrict_oom_score_adj = true\n")
	}
	return b.Bytes()
}

// RegistryHosts is containerd's hosts.toml for a registry that speaks
// plain HTTP on the project's own network.
func RegistryHosts(registry string) []byte {
	return fmt.Appendf(nil, "server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", registry, registry)
}
