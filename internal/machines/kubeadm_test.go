package machines

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/cluster"
)

func spec(host cluster.HostFacts) KubeadmSpec {
	return KubeadmSpec{
		Name: "machines", Version: "v1.37.2+kubenext.abc", ImageRepository: "172.30.1.2:5000/kubenext",
		ControlPlane: "machines-control-plane", ControlPlaneIP: netip.MustParseAddr("172.30.1.10"),
		Token: "abcdef.0123456789abcdef", Gates: map[string]bool{"KeystoneContainers": true, "EventedPLEG": true}, Host: host,
	}
}

func TestInitConfig(t *testing.T) {
	out, err := InitConfig(spec(cluster.HostFacts{CgroupV1: true}))
	if err != nil {
		t.Fatal(err)
	}
	config := string(out)
	for _, want := range []string{
		"kind: InitConfiguration", "kind: ClusterConfiguration", "kind: KubeletConfiguration", "kind: KubeProxyConfiguration",
		"kubernetesVersion: v1.37.2+kubenext.abc", "imageRepository: 172.30.1.2:5000/kubenext",
		"controlPlaneEndpoint: 172.30.1.10:6443", "advertiseAddress: 172.30.1.10",
		"podSubnet: " + cluster.PodSubnet, "serviceSubnet: " + cluster.ServiceSubnet,
		"value: EventedPLEG=true,KeystoneContainers=true", "criSocket: " + CRISocket,
		"enableSystemLogQuery: true", "imagefs.available: 0%", "failCgroupV1: false", "cgroupDriver: systemd", "token: abcdef.0123456789abcdef",
		"- SystemVerification", "maxPerCore: 0",
	} {
		if !strings.Contains(config, want) {
			t.Errorf("init config lacks %q:\n%s", want, config)
		}
	}
	// The gates go to all three control-plane components.
	if n := strings.Count(config, "value: EventedPLEG=true,KeystoneContainers=true"); n != 3 {
		t.Errorf("feature-gates on %d control-plane components, want 3", n)
	}
	v2, err := InitConfig(spec(cluster.HostFacts{}))
	if err != nil || strings.Contains(string(v2), "failCgroupV1") {
		t.Errorf("a cgroup v2 host must keep the kubelet's default (refuse v1): %v\n%s", err, v2)
	}
	bad := spec(cluster.HostFacts{})
	bad.Token = "not-a-token"
	if _, err := InitConfig(bad); err == nil {
		t.Error("a malformed bootstrap token was accepted")
	}
	bad = spec(cluster.HostFacts{})
	bad.ImageRepository = ""
	if _, err := InitConfig(bad); err == nil {
		t.Error("a config without an image repository was accepted")
	}
}

func TestJoinConfig(t *testing.T) {
	out, err := JoinConfig(spec(cluster.HostFacts{}), "machines-worker", netip.MustParseAddr("172.30.1.11"), "sha256:ab")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: JoinConfiguration", "apiServerEndpoint: 172.30.1.10:6443", "token: abcdef.0123456789abcdef",
		"- sha256:ab", "name: machines-worker", "value: 172.30.1.11"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("join config lacks %q:\n%s", want, out)
		}
	}
}

func TestCACertHash(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	got, err := CACertHash(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err != nil || got != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("CACertHash = %q, %v", got, err)
	}
	if _, err := CACertHash([]byte("garbage")); err == nil {
		t.Error("garbage accepted as a CA")
	}
}

func TestNewToken(t *testing.T) {
	a, err := NewToken()
	if err != nil || !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`).MatchString(a) {
		t.Fatalf("token %q, %v", a, err)
	}
	if b, _ := NewToken(); a == b {
		t.Error("two tokens alike")
	}
}

func TestContainerdSiteConfig(t *testing.T) {
	plain := string(ContainerdSiteConfig("r:5000/kubenext", "3.10.2", cluster.HostFacts{}))
	if !strings.Contains(plain, "version = 4") || !strings.Contains(plain, `sandbox = "r:5000/kubenext/pause:3.10.2"`) || strings.Contains(plain, "restrict_oom_score_adj") {
		t.Errorf("site config:\n%s", plain)
	}
	restricted := string(ContainerdSiteConfig("r:5000/kubenext", "3.10.2", cluster.HostFacts{CannotLowerOOMScore: true}))
	if !strings.Contains(restricted, "restrict_oom_score_adj = true") {
		t.Errorf("a host without CAP_SYS_RESOURCE needs restrict_oom_score_adj:\n%s", restricted)
	}
	if h := string(RegistryHosts("172.30.1.2:5000")); !strings.Contains(h, `server = "http://172.30.1.2:5000"`) || !strings.Contains(h, `[host."http://172.30.1.2:5000"]`) {
		t.Errorf("hosts.toml:\n%s", h)
	}
}

func TestInitConfigSaysOnlyWhatIsSet(t *testing.T) {
	out, err := InitConfig(spec(cluster.HostFacts{CgroupV1: true}))
	if err != nil {
		t.Fatal(err)
	}
	for _, noise := range []string{"syncFrequency", "cacheTTL", "qps: 0", "infoBufferSize", "taints: null", "dns: {}"} {
		if strings.Contains(string(out), noise) {
			t.Errorf("config carries the zero value %q:\n%s", noise, out)
		}
	}
}
