package cluster

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	kubenextfeatures "github.com/kubenext/kubenext/pkg/features"
)

func TestKindConfigUpstreamWorkersComeLast(t *testing.T) {
	spec := Spec{Name: "kubenext", Workers: 1, GateOffWorkers: 1, NodeImage: "kubenext/node:t", UpstreamWorkers: 1, UpstreamImage: "kubenext/node-upstream-kubelet:t",
		Gates: map[string]bool{"KeystoneContainers": true}, PodSubnet: PodSubnet, ServiceSubnet: ServiceSubnet}
	c, rendered := renderKindConfig(t, spec)
	if len(c.Nodes) != 4 {
		t.Fatalf("want control-plane, worker, gate-off worker, upstream worker:\n%s", rendered)
	}
	// kind's --image would override every node's, the upstream worker's
	// too: each node names its own.
	for _, n := range c.Nodes[:3] {
		if n.Image != spec.NodeImage {
			t.Errorf("every other node must run our node image %s:\n%s", spec.NodeImage, rendered)
		}
	}
	up := c.Nodes[3]
	if up.Role != "worker" || up.Image != spec.UpstreamImage || !reflect.DeepEqual(up.Labels, map[string]string{KubeletLabel: KubeletLabelUpstream}) {
		t.Errorf("the last node must be the labelled upstream worker on %s:\n%s", spec.UpstreamImage, rendered)
	}
	var patch struct {
		Kind    string `json:"kind"`
		Patches struct {
			Directory string `json:"directory"`
		} `json:"patches"`
	}
	if len(up.KubeadmConfigPatches) != 1 {
		t.Fatalf("want one kubeadm patch on the upstream worker:\n%s", rendered)
	}
	if err := yaml.UnmarshalStrict([]byte(up.KubeadmConfigPatches[0]), &patch); err != nil {
		t.Fatal(err)
	}
	if patch.Kind != "JoinConfiguration" || patch.Patches.Directory != upstreamPatchDir {
		t.Errorf("upstream worker's join patch = %+v, want its image's patch directory %s", patch, upstreamPatchDir)
	}
}

func TestKindConfigUpstreamWorkersNeedAnImage(t *testing.T) {
	if _, err := KindConfig(Spec{Name: "kubenext", UpstreamWorkers: 1}); err == nil {
		t.Error("an upstream worker without an image must be refused")
	}
	if _, err := KindConfig(Spec{Name: "kubenext", UpstreamWorkers: -1, UpstreamImage: "x"}); err == nil {
		t.Error("a negative UPSTREAM_WORKERS must be refused")
	}
}

// The patch must delete every gate of ours, and nothing of upstream's, from
// the KubeletConfiguration kubeadm writes on the upstream worker.
func TestUpstreamKubeletPatchDeletesOurGatesOnly(t *testing.T) {
	raw, err := UpstreamKubeletPatch()
	if err != nil {
		t.Fatal(err)
	}
	var patch struct {
		FeatureGates map[string]*bool `json:"featureGates"`
	}
	if err := yaml.UnmarshalStrict(raw, &patch); err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	ours := kubenextfeatures.Gates()
	if len(patch.FeatureGates) != len(ours) {
		t.Errorf("patch names %d gates, we have %d:\n%s", len(patch.FeatureGates), len(ours), raw)
	}
	for _, g := range ours {
		v, ok := patch.FeatureGates[string(g)]
		if !ok || v != nil {
			t.Errorf("gate %s must be deleted (null) by the patch:\n%s", g, raw)
		}
	}
	if _, ok := patch.FeatureGates["EventedPLEG"]; ok {
		t.Errorf("upstream's EventedPLEG must stay:\n%s", raw)
	}
}
