package netd

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeInfoFromNode(t *testing.T) {
	tests := []struct {
		name    string
		node    v1.Node
		want    NodeInfo
		wantErr string
	}{
		{
			name: "registered node with podCIDR",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"},
				Spec:       v1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
				Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
					{Type: v1.NodeHostName, Address: "kind-worker"},
					{Type: v1.NodeExternalIP, Address: "203.0.113.7"},
					{Type: v1.NodeInternalIP, Address: "172.18.0.3"},
				}},
			},
			want: node("kind-worker", "10.244.1.0/24", "172.18.0.3"),
		},
		{
			name: "node before the allocator ran",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"},
				Status:     v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "172.18.0.3"}}},
			},
			want: node("kind-worker", "", "172.18.0.3"),
		},
		{
			name: "only the singular podCIDR field",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "old"},
				Spec:       v1.NodeSpec{PodCIDR: "10.244.4.0/24"},
			},
			want: node("old", "10.244.4.0/24", ""),
		},
		{
			name: "dual-stack keeps every family for DesiredState to choose from",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "ds"},
				Spec:       v1.NodeSpec{PodCIDRs: []string{"10.244.1.0/24", "fd00:10:244:1::/64"}},
				Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
					{Type: v1.NodeInternalIP, Address: "172.18.0.3"},
					{Type: v1.NodeInternalIP, Address: "fc00::3"},
				}},
			},
			want: NodeInfo{
				Name:        "ds",
				PodCIDRs:    []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24"), netip.MustParsePrefix("fd00:10:244:1::/64")},
				InternalIPs: []netip.Addr{netip.MustParseAddr("172.18.0.3"), netip.MustParseAddr("fc00::3")},
			},
		},
		{
			name: "malformed podCIDR names the node",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "bad"},
				Spec:       v1.NodeSpec{PodCIDRs: []string{"10.244.1.0"}},
			},
			wantErr: `node "bad": podCIDR "10.244.1.0"`,
		},
		{
			name: "malformed InternalIP names the node",
			node: v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "bad"},
				Status:     v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "kind-worker"}}},
			},
			wantErr: `node "bad": InternalIP "kind-worker"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NodeInfoFromNode(&tt.node)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NodeInfoFromNode() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("NodeInfoFromNode() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
