package netd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const (
	self           = "kind-control-plane"
	waitTimeout    = 10 * time.Second
	testResync     = 50 * time.Millisecond
	noResyncInTest = time.Hour
)

// Routes the controller must never touch: the node's default route and a
// pod's host route as the ptp plugin leaves it.
var foreignRoutes = []Route{via("0.0.0.0/0", "172.18.0.1"), deviceRoute("10.244.0.5/32")}

func TestControllerConvergesOnThreeNodes(t *testing.T) {
	client := fake.NewClientset(
		k8sNode(self, "10.244.0.0/24", "172.18.0.2"),
		k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.3"),
		k8sNode("kind-worker2", "10.244.2.0/24", "172.18.0.4"),
	)
	routes := newFakeRouteTable(foreignRoutes...)
	confDir := cniDir(startController(t, client, routes, noResyncInTest))

	waitForRoutes(t, routes, withForeign(
		blackhole("10.244.0.0/16"),
		via("10.244.1.0/24", "172.18.0.3"),
		via("10.244.2.0/24", "172.18.0.4"),
	))
	waitForConflistSubnet(t, confDir, "10.244.0.0/24")
}

func TestControllerWritesCNIConfigOncePodCIDRIsAllocated(t *testing.T) {
	ctx := t.Context()
	client := fake.NewClientset(
		k8sNode(self, "", "172.18.0.2"),
		k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.3"),
	)
	routes := newFakeRouteTable()
	confDir := cniDir(startController(t, client, routes, noResyncInTest))

	// The routes come from the same sync that would have written the
	// config, so once they are in, the config's absence is settled.
	waitForRoutes(t, routes, []Route{
		blackhole("10.244.0.0/16"),
		via("10.244.1.0/24", "172.18.0.3"),
	})
	if _, err := os.Stat(filepath.Join(confDir, CNIConfigFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CNI config exists before the node has a podCIDR (stat error %v)", err)
	}

	updateNode(ctx, t, client, k8sNode(self, "10.244.0.0/24", "172.18.0.2"))
	waitForConflistSubnet(t, confDir, "10.244.0.0/24")
}

func TestControllerFollowsNodeChanges(t *testing.T) {
	ctx := t.Context()
	client := fake.NewClientset(
		k8sNode(self, "10.244.0.0/24", "172.18.0.2"),
		k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.3"),
		k8sNode("kind-worker2", "10.244.2.0/24", "172.18.0.4"),
	)
	routes := newFakeRouteTable(foreignRoutes...)
	startController(t, client, routes, noResyncInTest)
	waitForRoutes(t, routes, withForeign(
		blackhole("10.244.0.0/16"),
		via("10.244.1.0/24", "172.18.0.3"),
		via("10.244.2.0/24", "172.18.0.4"),
	))

	t.Run("node IP changed", func(t *testing.T) {
		updateNode(ctx, t, client, k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.13"))
		waitForRoutes(t, routes, withForeign(
			blackhole("10.244.0.0/16"),
			via("10.244.1.0/24", "172.18.0.13"),
			via("10.244.2.0/24", "172.18.0.4"),
		))
	})

	t.Run("node removed", func(t *testing.T) {
		if err := client.CoreV1().Nodes().Delete(ctx, "kind-worker2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitForRoutes(t, routes, withForeign(
			blackhole("10.244.0.0/16"),
			via("10.244.1.0/24", "172.18.0.13"),
		))
	})

	t.Run("node added", func(t *testing.T) {
		if _, err := client.CoreV1().Nodes().Create(ctx, k8sNode("kind-worker3", "10.244.3.0/24", "172.18.0.5"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitForRoutes(t, routes, withForeign(
			blackhole("10.244.0.0/16"),
			via("10.244.1.0/24", "172.18.0.13"),
			via("10.244.3.0/24", "172.18.0.5"),
		))
	})
}

func TestControllerRestoresRoutesDeletedByHand(t *testing.T) {
	client := fake.NewClientset(
		k8sNode(self, "10.244.0.0/24", "172.18.0.2"),
		k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.3"),
	)
	routes := newFakeRouteTable()
	startController(t, client, routes, testResync)
	want := []Route{
		blackhole("10.244.0.0/16"),
		via("10.244.1.0/24", "172.18.0.3"),
	}
	waitForRoutes(t, routes, want)

	routes.deleteByHand("10.244.1.0/24")
	routes.deleteByHand("10.244.0.0/16")
	waitForRoutes(t, routes, want)
}

func TestControllerRefusesToStartWithoutBlackholes(t *testing.T) {
	client := fake.NewClientset(k8sNode(self, "10.244.0.0/24", "172.18.0.2"))
	routes := newFakeRouteTable()
	routes.setFailReplace(func(r Route) error {
		if r.Blackhole {
			return errors.New("operation not permitted")
		}
		return nil
	})
	confDir := t.TempDir()
	c := newTestController(t, client, routes, confDir, noResyncInTest)

	err := c.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "blackhole") {
		t.Fatalf("Run() = %v, want a blackhole error", err)
	}
	if _, err := os.Stat(filepath.Join(confDir, CNIConfigFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CNI config written although the blackholes are missing (stat error %v)", err)
	}
}

func TestControllerWithholdsCNIConfigWhileABlackholeIsMissing(t *testing.T) {
	client := fake.NewClientset(k8sNode(self, "", "172.18.0.2"))
	routes := newFakeRouteTable()
	c := startController(t, client, routes, testResync)
	confDir := cniDir(c)
	waitForRoutes(t, routes, testBlackholes)

	// The blackhole disappears and can no longer be restored; then the
	// node gets its podCIDR.
	routes.setFailReplace(func(r Route) error {
		if r.Blackhole {
			return errors.New("operation not permitted")
		}
		return nil
	})
	routes.deleteByHand("10.244.0.0/16")
	updateNode(t.Context(), t, client, k8sNode(self, "10.244.0.0/24", "172.18.0.2"))
	// Two more reads of the route table after the controller has seen the
	// podCIDR mean at least one full sync had it in hand.
	waitForCachedPodCIDR(t, c, self, "10.244.0.0/24")
	waitForListCalls(t, routes, routes.listCalls()+2)
	if _, err := os.Stat(filepath.Join(confDir, CNIConfigFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CNI config written although a blackhole is missing (stat error %v)", err)
	}

	routes.setFailReplace(nil)
	waitForConflistSubnet(t, confDir, "10.244.0.0/24")
	waitForRoutes(t, routes, testBlackholes)
}

func TestControllerRetriesAfterPodCIDROutsideRange(t *testing.T) {
	client := fake.NewClientset(
		k8sNode(self, "10.244.0.0/24", "172.18.0.2"),
		k8sNode("kind-worker", "10.244.1.0/24", "172.18.0.3"),
		k8sNode("stray", "192.168.7.0/24", "172.18.0.9"),
	)
	routes := newFakeRouteTable()
	confDir := cniDir(startController(t, client, routes, testResync))

	// Blackholes go in regardless; nothing derived from the node list does
	// while one node contradicts the configured pod range.
	waitForRoutes(t, routes, testBlackholes)
	waitForListCalls(t, routes, routes.listCalls()+3)
	if got := routes.snapshot(); !reflect.DeepEqual(got, testBlackholes) {
		t.Fatalf("routes = %v, want only the blackholes", got)
	}
	if _, err := os.Stat(filepath.Join(confDir, CNIConfigFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CNI config written despite the inconsistent node (stat error %v)", err)
	}

	updateNode(t.Context(), t, client, k8sNode("stray", "10.244.7.0/24", "172.18.0.9"))
	waitForRoutes(t, routes, []Route{
		blackhole("10.244.0.0/16"),
		via("10.244.1.0/24", "172.18.0.3"),
		via("10.244.7.0/24", "172.18.0.9"),
	})
	waitForConflistSubnet(t, confDir, "10.244.0.0/24")
}

func TestNewControllerRejectsBadOptions(t *testing.T) {
	client := fake.NewClientset()
	good := ControllerOptions{NodeName: self, Config: testConfig, Routes: newFakeRouteTable(), CNIConfDir: t.TempDir()}
	tests := []struct {
		name    string
		mutate  func(*ControllerOptions)
		wantErr string
	}{
		{name: "no node name", mutate: func(o *ControllerOptions) { o.NodeName = "" }, wantErr: "node name"},
		{name: "bad config", mutate: func(o *ControllerOptions) { o.Config.ServiceCIDR = o.Config.PodCIDR }, wantErr: "overlap"},
		{name: "no route table", mutate: func(o *ControllerOptions) { o.Routes = nil }, wantErr: "route table"},
		{name: "no CNI dir", mutate: func(o *ControllerOptions) { o.CNIConfDir = "" }, wantErr: "CNI config directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := good
			tt.mutate(&opts)
			if _, err := NewController(client, opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewController() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// startController runs a controller for node self until the test ends.
func startController(t *testing.T, client kubernetes.Interface, routes RouteTable, resync time.Duration) *Controller {
	t.Helper()
	confDir := t.TempDir()
	c := newTestController(t, client, routes, confDir, resync)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run() did not return after cancellation")
		}
	})
	return c
}

func cniDir(c *Controller) string {
	return filepath.Dir(c.cniConfigPath)
}

func newTestController(t *testing.T, client kubernetes.Interface, routes RouteTable, confDir string, resync time.Duration) *Controller {
	t.Helper()
	c, err := NewController(client, ControllerOptions{
		NodeName:     self,
		Config:       testConfig,
		Routes:       routes,
		CNIConfDir:   confDir,
		ResyncPeriod: resync,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func k8sNode(name, podCIDR, internalIP string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if podCIDR != "" {
		n.Spec.PodCIDR = podCIDR
		n.Spec.PodCIDRs = []string{podCIDR}
	}
	if internalIP != "" {
		n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: internalIP}}
	}
	return n
}

func updateNode(ctx context.Context, t *testing.T, client kubernetes.Interface, n *v1.Node) {
	t.Helper()
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func withForeign(routes ...Route) []Route {
	return sortRoutes(append(routes, foreignRoutes...))
}

func waitForRoutes(t *testing.T, routes *fakeRouteTable, want []Route) {
	t.Helper()
	want = sortRoutes(append([]Route(nil), want...))
	eventually(t, func() bool { return reflect.DeepEqual(routes.snapshot(), want) },
		func() string { return "routes = " + routeList(routes.snapshot()) + ", want " + routeList(want) })
}

func waitForCachedPodCIDR(t *testing.T, c *Controller, name, podCIDR string) {
	t.Helper()
	eventually(t, func() bool {
		n, err := c.nodes.Get(name)
		return err == nil && slices.Equal(n.Spec.PodCIDRs, []string{podCIDR})
	}, func() string { return "the controller's cache never saw node " + name + " get podCIDR " + podCIDR })
}

func waitForListCalls(t *testing.T, routes *fakeRouteTable, n int) {
	t.Helper()
	eventually(t, func() bool { return routes.listCalls() >= n },
		func() string { return "route table was not read again; the controller stopped retrying" })
}

func waitForConflistSubnet(t *testing.T, confDir, want string) {
	t.Helper()
	path := filepath.Join(confDir, CNIConfigFileName)
	var got string
	eventually(t, func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		got = conflistSubnet(t, data)
		return got == want
	}, func() string { return "conflist subnet = " + got + ", want " + want })
}

func eventually(t *testing.T, done func() bool, describe func() string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) { return done(), nil })
	if err != nil {
		t.Fatalf("timed out: %s", describe())
	}
}

func routeList(routes []Route) string {
	parts := make([]string, len(routes))
	for i, r := range routes {
		parts[i] = r.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
