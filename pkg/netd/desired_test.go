package netd

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestDesiredState(t *testing.T) {
	tests := []struct {
		name  string
		self  string
		nodes []NodeInfo
		// wantPodCIDR is the subnet the conflist must hand out; empty
		// means no conflist yet.
		wantPodCIDR string
		wantRoutes  []Route
		wantErr     string
	}{
		{
			name:        "single node",
			self:        "kind-control-plane",
			nodes:       []NodeInfo{node("kind-control-plane", "10.244.0.0/24", "172.18.0.2")},
			wantPodCIDR: "10.244.0.0/24",
		},
		{
			name: "three nodes in any order",
			self: "kind-worker",
			nodes: []NodeInfo{
				node("kind-worker2", "10.244.2.0/24", "172.18.0.4"),
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "10.244.1.0/24", "172.18.0.3"),
			},
			wantPodCIDR: "10.244.1.0/24",
			wantRoutes: []Route{
				via("10.244.0.0/24", "172.18.0.2"),
				via("10.244.2.0/24", "172.18.0.4"),
			},
		},
		{
			name: "self without podCIDR still routes to the others",
			self: "kind-worker",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "", "172.18.0.3"),
			},
			wantRoutes: []Route{via("10.244.0.0/24", "172.18.0.2")},
		},
		{
			name:  "self not registered yet",
			self:  "kind-worker",
			nodes: []NodeInfo{node("kind-control-plane", "10.244.0.0/24", "172.18.0.2")},
			wantRoutes: []Route{
				via("10.244.0.0/24", "172.18.0.2"),
			},
		},
		{
			name: "other node without podCIDR is skipped",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "", "172.18.0.3"),
			},
			wantPodCIDR: "10.244.0.0/24",
		},
		{
			name: "other node without InternalIP is skipped",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "10.244.1.0/24", ""),
			},
			wantPodCIDR: "10.244.0.0/24",
		},
		{
			name: "self without InternalIP still gets its conflist",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", ""),
			},
			wantPodCIDR: "10.244.0.0/24",
		},
		{
			name: "dual-stack node contributes its IPv4 podCIDR and IPv4 address",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				{
					Name:        "kind-worker",
					PodCIDRs:    []netip.Prefix{netip.MustParsePrefix("fd00:10:244:1::/64"), netip.MustParsePrefix("10.244.1.0/24")},
					InternalIPs: []netip.Addr{netip.MustParseAddr("fc00:f853:ccd:e793::3"), netip.MustParseAddr("172.18.0.3")},
				},
			},
			wantPodCIDR: "10.244.0.0/24",
			wantRoutes:  []Route{via("10.244.1.0/24", "172.18.0.3")},
		},
		{
			name: "podCIDR outside the pod range names the node",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "10.245.1.0/24", "172.18.0.3"),
			},
			wantErr: `node "kind-worker": podCIDR 10.245.1.0/24 is not inside the cluster pod range 10.244.0.0/16`,
		},
		{
			name:    "own podCIDR outside the pod range is an error too",
			self:    "kind-control-plane",
			nodes:   []NodeInfo{node("kind-control-plane", "192.168.0.0/24", "172.18.0.2")},
			wantErr: `node "kind-control-plane": podCIDR 192.168.0.0/24 is not inside`,
		},
		{
			name: "podCIDR equal to the whole pod range would replace its blackhole",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "10.244.0.0/16", "172.18.0.3"),
			},
			wantErr: `node "kind-worker": podCIDR 10.244.0.0/16 is not inside`,
		},
		{
			name: "podCIDR with host bits",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-worker", "10.244.1.7/24", "172.18.0.3"),
			},
			wantErr: `node "kind-worker": podCIDR 10.244.1.7/24 has host bits set`,
		},
		{
			name: "overlapping podCIDRs name both nodes",
			self: "kind-control-plane",
			nodes: []NodeInfo{
				node("kind-worker2", "10.244.1.128/25", "172.18.0.4"),
				node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
				node("kind-worker", "10.244.1.0/24", "172.18.0.3"),
			},
			wantErr: `nodes "kind-worker" and "kind-worker2" have overlapping podCIDRs 10.244.1.0/24 and 10.244.1.128/25`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := DesiredState(tt.self, tt.nodes, testConfig)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DesiredState() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DesiredState() error = %v", err)
			}
			if got := conflistSubnet(t, state.CNIConfig); got != tt.wantPodCIDR {
				t.Errorf("conflist subnet = %q, want %q", got, tt.wantPodCIDR)
			}
			if !reflect.DeepEqual(state.NodeRoutes, tt.wantRoutes) {
				t.Errorf("NodeRoutes = %v, want %v", state.NodeRoutes, tt.wantRoutes)
			}
			if !reflect.DeepEqual(state.Blackholes, testBlackholes) {
				t.Errorf("Blackholes = %v, want %v", state.Blackholes, testBlackholes)
			}
		})
	}
}

func TestDesiredStateRejectsInvalidConfig(t *testing.T) {
	_, err := DesiredState("a", nil, Config{PodCIDR: testConfig.PodCIDR})
	if err == nil || !strings.Contains(err.Error(), "service range") {
		t.Fatalf("DesiredState() error = %v, want a service range error", err)
	}
}

func TestDesiredStateIsDeterministic(t *testing.T) {
	nodes := []NodeInfo{
		node("c", "10.244.3.0/24", "172.18.0.4"),
		node("a", "10.244.1.0/24", "172.18.0.2"),
		node("self", "10.244.0.0/24", "172.18.0.5"),
		node("b", "10.244.2.0/24", "172.18.0.3"),
	}
	first, err := DesiredState("self", nodes, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	reversed := []NodeInfo{nodes[3], nodes[2], nodes[1], nodes[0]}
	second, err := DesiredState("self", reversed, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("DesiredState depends on input order:\n%v\n%v", first, second)
	}
}

func TestBlackholeRoutesDependOnConfigAlone(t *testing.T) {
	if got := BlackholeRoutes(testConfig); !reflect.DeepEqual(got, testBlackholes) {
		t.Fatalf("BlackholeRoutes() = %v, want %v", got, testBlackholes)
	}
}

func TestCNIConfigExactContent(t *testing.T) {
	state, err := DesiredState("n", []NodeInfo{node("n", "10.244.1.0/24", "172.18.0.3")}, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "cniVersion": "0.3.1",
  "name": "kubenext",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "ranges": [
          [
            {
              "subnet": "10.244.1.0/24"
            }
          ]
        ],
        "routes": [
          {
            "dst": "0.0.0.0/0"
          }
        ]
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
`
	if got := string(state.CNIConfig); got != want {
		t.Fatalf("conflist =\n%s\nwant\n%s", got, want)
	}

	// The shape verified by hand on kind nodes, as written in the design.
	const verified = `{"cniVersion":"0.3.1","name":"kubenext","plugins":[
 {"type":"ptp","ipMasq":true,"ipam":{"type":"host-local","dataDir":"/run/cni-ipam-state",
   "ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}`
	var gotValue, verifiedValue any
	if err := json.Unmarshal(state.CNIConfig, &gotValue); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(verified), &verifiedValue); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotValue, verifiedValue) {
		t.Fatalf("conflist differs from the verified shape:\n%s", state.CNIConfig)
	}
}

// conflistSubnet returns the host-local subnet of a conflist, or "" for nil.
func conflistSubnet(t *testing.T, conf []byte) string {
	t.Helper()
	if conf == nil {
		return ""
	}
	var parsed struct {
		Plugins []struct {
			IPAM struct {
				Ranges [][]struct {
					Subnet string `json:"subnet"`
				} `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(conf, &parsed); err != nil {
		t.Fatalf("conflist is not JSON: %v\n%s", err, conf)
	}
	return parsed.Plugins[0].IPAM.Ranges[0][0].Subnet
}
