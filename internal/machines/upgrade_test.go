package machines

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const storedClusterConfiguration = `apiServer:
  extraArgs:
  - name: authorization-mode
    value: Node,RBAC
apiVersion: kubeadm.k8s.io/v1beta4
clusterName: machines
controlPlaneEndpoint: 172.30.1.10:6443
controllerManager: {}
imageRepository: 172.30.1.2:5000/kubenext
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  podSubnet: 10.244.0.0/16
scheduler: {}
`

func TestWithControlPlaneGates(t *testing.T) {
	on, err := WithControlPlaneGates([]byte(storedClusterConfiguration), map[string]bool{"KeystoneContainers": true})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(on), "value: KeystoneContainers=true"); n != 3 {
		t.Errorf("gates on %d components, want 3:\n%s", n, on)
	}
	if !strings.Contains(string(on), "value: Node,RBAC") || !strings.Contains(string(on), "kubernetesVersion: v1.37.2") {
		t.Errorf("other settings lost:\n%s", on)
	}
	off, err := WithControlPlaneGates(on, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(off), "feature-gates") || !strings.Contains(string(off), "authorization-mode") {
		t.Errorf("gates not removed, or more than gates removed:\n%s", off)
	}
	if _, err := WithControlPlaneGates([]byte("apiServer: {extraArgz: []}\n"), nil); err == nil {
		t.Error("a misspelt field in the stored configuration was accepted")
	}
}

func TestWithKubeletGates(t *testing.T) {
	stored := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nfailCgroupV1: false\n"
	on, err := WithKubeletGates([]byte(stored), map[string]bool{"KeystoneContainers": true})
	if err != nil || !strings.Contains(string(on), "KeystoneContainers: true") || !strings.Contains(string(on), "failCgroupV1: false") {
		t.Fatalf("%v\n%s", err, on)
	}
	off, err := WithKubeletGates(on, nil)
	if err != nil || strings.Contains(string(off), "featureGates") || !strings.Contains(string(off), "cgroupDriver: systemd") {
		t.Errorf("%v\n%s", err, off)
	}
	if _, err := WithKubeletGates([]byte("kind: Pod\n"), nil); err == nil {
		t.Error("a ConfigMap that holds something else was accepted")
	}
}

func TestKubeletVersion(t *testing.T) {
	for deb, want := range map[string]string{
		"1.37.2-1.1": "v1.37.2",
		"1.37.2-1.1+kubenext.20261201140448.a5f819ca26":       "v1.37.2+kubenext.a5f819ca26",
		"1.37.2-1.1+kubenext.20261201140448.a5f819ca26.dirty": "v1.37.2+kubenext.a5f819ca26.dirty",
	} {
		if got := KubeletVersion(deb); got != want {
			t.Errorf("KubeletVersion(%q) = %q, want %q", deb, got, want)
		}
	}
}

func TestPinnedPackages(t *testing.T) {
	release := t.TempDir()
	debs := filepath.Join(release, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range Packages {
		if err := os.WriteFile(filepath.Join(debs, p+"_1.0-1.1_amd64.deb"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pins, err := PinnedPackages(release)
	if err != nil || len(pins) != len(Packages) || pins[0] != Packages[0]+"=1.0-1.1" {
		t.Fatalf("PinnedPackages = %v, %v", pins, err)
	}
	os.Remove(filepath.Join(debs, "kubelet_1.0-1.1_amd64.deb"))
	if _, err := PinnedPackages(release); err == nil || !strings.Contains(err.Error(), "kubelet") {
		t.Errorf("a release without kubelet: %v", err)
	}
	if _, err := PinnedPackages(t.TempDir()); err == nil {
		t.Error("an empty release was accepted")
	}
}

// The manifests are YAML a real apiserver gets; they must at least decode
// into the types they name, with the fields the roll depends on.
func TestManifestsDecode(t *testing.T) {
	docs := strings.Split(WorkloadManifest("upgrade", "r/busybox:t"), "\n---\n")
	var deploy appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &deploy); err != nil {
		t.Fatal(err)
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	if *deploy.Spec.Replicas != 3 || c.ReadinessProbe == nil || c.Lifecycle.PreStop == nil || c.Image != "r/busybox:t" {
		t.Errorf("deployment %+v", deploy.Spec)
	}
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(KeystoneJobManifest("upgrade", "r/busybox:t", true)), &job); err != nil {
		t.Fatal(err)
	}
	if !*job.Spec.Suspend || job.Spec.Template.Spec.NodeSelector[KeystoneLabel] != "on" || job.Name != "keystone-template" {
		t.Errorf("job %+v", job)
	}
	var pod v1.Pod
	if err := yaml.Unmarshal([]byte(KeystonePodManifest("upgrade", "r/busybox:t")), &pod); err != nil || len(pod.Spec.Containers) != 2 {
		t.Errorf("pod %v %+v", err, pod.Spec)
	}
}
