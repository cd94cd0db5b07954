package netd

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	podRange := testConfig.PodCIDR
	tests := []struct {
		name       string
		current    []Route
		desired    []Route
		wantAdd    []Route
		wantRemove []Route
	}{
		{
			name:    "fresh node gets every route",
			desired: []Route{via("10.244.2.0/24", "172.18.0.4"), via("10.244.1.0/24", "172.18.0.3")},
			wantAdd: []Route{via("10.244.1.0/24", "172.18.0.3"), via("10.244.2.0/24", "172.18.0.4")},
		},
		{
			name:    "in sync",
			current: []Route{via("10.244.1.0/24", "172.18.0.3")},
			desired: []Route{via("10.244.1.0/24", "172.18.0.3")},
		},
		{
			name:       "node removed: its route is removed",
			current:    []Route{via("10.244.1.0/24", "172.18.0.3"), via("10.244.2.0/24", "172.18.0.4")},
			desired:    []Route{via("10.244.1.0/24", "172.18.0.3")},
			wantRemove: []Route{via("10.244.2.0/24", "172.18.0.4")},
		},
		{
			name:    "node IP changed: replaced in place, not removed",
			current: []Route{via("10.244.1.0/24", "172.18.0.3")},
			desired: []Route{via("10.244.1.0/24", "172.18.0.9")},
			wantAdd: []Route{via("10.244.1.0/24", "172.18.0.9")},
		},
		{
			name:    "route deleted by hand comes back",
			current: []Route{via("10.244.1.0/24", "172.18.0.3")},
			desired: []Route{via("10.244.1.0/24", "172.18.0.3"), via("10.244.2.0/24", "172.18.0.4")},
			wantAdd: []Route{via("10.244.2.0/24", "172.18.0.4")},
		},
		{
			name:    "missing blackholes are added first",
			desired: []Route{via("10.244.1.0/24", "172.18.0.3"), blackhole("10.244.0.0/16"), blackhole("10.96.0.0/16")},
			wantAdd: []Route{blackhole("10.96.0.0/16"), blackhole("10.244.0.0/16"), via("10.244.1.0/24", "172.18.0.3")},
		},
		{
			name: "routes it does not own are never removed",
			current: []Route{
				blackhole("10.244.0.0/16"),
				blackhole("10.96.0.0/16"),
				blackhole("10.244.7.0/24"),
				deviceRoute("10.244.0.5/32"),
				via("0.0.0.0/0", "172.18.0.1"),
				via("192.168.1.0/24", "172.18.0.1"),
				via("10.96.0.0/24", "172.18.0.3"),
				via("10.244.0.0/16", "172.18.0.3"),
			},
		},
		{
			name:       "stale route of ours among foreign ones",
			current:    []Route{deviceRoute("10.244.0.5/32"), via("10.244.3.0/24", "172.18.0.5"), blackhole("10.244.0.0/16")},
			desired:    []Route{blackhole("10.244.0.0/16")},
			wantRemove: []Route{via("10.244.3.0/24", "172.18.0.5")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, remove := Diff(podRange, tt.current, tt.desired)
			if !reflect.DeepEqual(add, tt.wantAdd) {
				t.Errorf("add = %v, want %v", add, tt.wantAdd)
			}
			if !reflect.DeepEqual(remove, tt.wantRemove) {
				t.Errorf("remove = %v, want %v", remove, tt.wantRemove)
			}
		})
	}
}

// TestDiffAfterClusterChanges runs DesiredState and Diff together the way the
// controller does, so that a node's departure or new address is followed from
// the Node data to the route operation.
func TestDiffAfterClusterChanges(t *testing.T) {
	before := []NodeInfo{
		node("kind-control-plane", "10.244.0.0/24", "172.18.0.2"),
		node("kind-worker", "10.244.1.0/24", "172.18.0.3"),
		node("kind-worker2", "10.244.2.0/24", "172.18.0.4"),
	}
	installed := mustDesiredRoutes(t, before)

	tests := []struct {
		name       string
		after      []NodeInfo
		wantAdd    []Route
		wantRemove []Route
	}{
		{
			name:       "node removed",
			after:      before[:2],
			wantRemove: []Route{via("10.244.2.0/24", "172.18.0.4")},
		},
		{
			name:    "node IP changed",
			after:   []NodeInfo{before[0], before[1], node("kind-worker2", "10.244.2.0/24", "172.18.0.14")},
			wantAdd: []Route{via("10.244.2.0/24", "172.18.0.14")},
		},
		{
			name:       "node lost its podCIDR",
			after:      []NodeInfo{before[0], before[1], node("kind-worker2", "", "172.18.0.4")},
			wantRemove: []Route{via("10.244.2.0/24", "172.18.0.4")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, remove := Diff(testConfig.PodCIDR, installed, mustDesiredRoutes(t, tt.after))
			if !reflect.DeepEqual(add, tt.wantAdd) {
				t.Errorf("add = %v, want %v", add, tt.wantAdd)
			}
			if !reflect.DeepEqual(remove, tt.wantRemove) {
				t.Errorf("remove = %v, want %v", remove, tt.wantRemove)
			}
		})
	}
}

func mustDesiredRoutes(t *testing.T, nodes []NodeInfo) []Route {
	t.Helper()
	state, err := DesiredState("kind-control-plane", nodes, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	return append(state.Blackholes, state.NodeRoutes...)
}

func TestMissing(t *testing.T) {
	current := []Route{via("10.244.1.0/24", "172.18.0.3")}
	got := Missing(current, testBlackholes)
	want := []Route{blackhole("10.244.0.0/16")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Missing() = %v, want %v", got, want)
	}
}
