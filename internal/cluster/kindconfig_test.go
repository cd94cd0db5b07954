package cluster

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestKindConfigGateOffWorkers(t *testing.T) {
	spec := Spec{Name: "kubenext", Workers: 2, GateOffWorkers: 1,
		Gates:     map[string]bool{"KeystoneContainers": true, "EventedPLEG": true},
		PodSubnet: PodSubnet, ServiceSubnet: ServiceSubnet}
	c, rendered := renderKindConfig(t, spec)
	if len(c.Nodes) != 4 {
		t.Fatalf("want 1 control-plane + 2 workers + 1 gate-off worker:\n%s", rendered)
	}
	for i, n := range c.Nodes[:3] {
		if n.Labels != nil || n.KubeadmConfigPatches != nil {
			t.Errorf("node %d must keep the cluster's gates:\n%s", i, rendered)
		}
	}
	off := c.Nodes[3]
	if off.Role != "worker" || !reflect.DeepEqual(off.Labels, map[string]string{"kubenext.io/keystone": "off"}) {
		t.Errorf("the last node must be the labelled gate-off worker:\n%s", rendered)
	}
	if !c.FeatureGates["KeystoneContainers"] || !c.FeatureGates["EventedPLEG"] {
		t.Errorf("the cluster-wide gates must not change: %v", c.FeatureGates)
	}

	if len(off.KubeadmConfigPatches) != 1 {
		t.Fatalf("want one kubeadm patch on the gate-off worker:\n%s", rendered)
	}
	var patch map[string]any
	if err := yaml.Unmarshal([]byte(off.KubeadmConfigPatches[0]), &patch); err != nil {
		t.Fatalf("%v:\n%s", err, off.KubeadmConfigPatches[0])
	}
	want := map[string]any{
		// No apiVersion: see keystoneOffJoinPatch.
		"kind": "JoinConfiguration",
		"nodeRegistration": map[string]any{
			"kubeletExtraArgs": []any{map[string]any{"name": "feature-gates", "value": "KeystoneContainers=false,ContainerRestartRuleTerminatePod=false"}},
		},
	}
	if !reflect.DeepEqual(patch, want) {
		t.Errorf("gate-off patch = %v, want %v", patch, want)
	}
}

func TestKindConfigWithoutGateOffWorkers(t *testing.T) {
	rendered, err := KindConfig(Spec{Name: "kubenext", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, unwanted := range []string{"kubenext.io/keystone", "JoinConfiguration", "feature-gates"} {
		if strings.Contains(string(rendered), unwanted) {
			t.Errorf("GATE_OFF_WORKERS=0 must add no gate-off worker, found %q:\n%s", unwanted, rendered)
		}
	}
	if strings.Count(string(rendered), "role: worker") != 1 {
		t.Errorf("want exactly the one worker:\n%s", rendered)
	}

	if _, err := KindConfig(Spec{GateOffWorkers: -1}); err == nil || !strings.Contains(err.Error(), "GATE_OFF_WORKERS") {
		t.Errorf("negative gate-off workers: got %v, want an error naming GATE_OFF_WORKERS", err)
	}
}

func TestKindConfigGateOffWorkersOnly(t *testing.T) {
	// WORKERS=0 GATE_OFF_WORKERS=1: the only worker has the gate off.
	c, rendered := renderKindConfig(t, Spec{Name: "kubenext", GateOffWorkers: 1})
	if len(c.Nodes) != 2 || c.Nodes[0].Role != "control-plane" || c.Nodes[1].Labels[GateOffLabel] != GateOffLabelValue {
		t.Errorf("want a control-plane and one gate-off worker:\n%s", rendered)
	}
}

func TestKindConfigPutsEtcdOnTmpfs(t *testing.T) {
	c, rendered := renderKindConfig(t, Spec{Name: "kubenext", Workers: 1})
	for _, p := range c.KubeadmConfigPatches {
		var patch struct {
			Kind string `json:"kind"`
			Etcd struct {
				Local struct {
					DataDir string `json:"dataDir"`
				} `json:"local"`
			} `json:"etcd"`
		}
		if err := yaml.Unmarshal([]byte(p), &patch); err != nil {
			t.Fatalf("%v:\n%s", err, p)
		}
		if patch.Kind == "ClusterConfiguration" {
			// kind mounts /tmp in every node as tmpfs.
			if !strings.HasPrefix(patch.Etcd.Local.DataDir, "/tmp/") {
				t.Errorf("etcd's dataDir = %q, want one under /tmp", patch.Etcd.Local.DataDir)
			}
			return
		}
	}
	t.Errorf("no ClusterConfiguration patch moves etcd's data:\n%s", rendered)
}

// renderKindConfig renders spec and reads it back strictly, so that a field
// kind would not know fails the test.
func renderKindConfig(t *testing.T, spec Spec) (kindCluster, []byte) {
	t.Helper()
	rendered, err := KindConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	var c kindCluster
	if err := yaml.UnmarshalStrict(rendered, &c); err != nil {
		t.Fatalf("%v:\n%s", err, rendered)
	}
	return c, rendered
}
