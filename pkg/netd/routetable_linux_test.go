package netd

import (
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestNetlinkRouteTable runs against a real kernel routing table, in a
// network namespace of its own so that the machine's routes are never
// touched. It needs CAP_SYS_ADMIN and CAP_NET_ADMIN and skips without them.
func TestNetlinkRouteTable(t *testing.T) {
	handle := newTestNamespace(t)
	table := newNetlinkRouteTable(handle, false)

	// Someone else's route in the pod range, as `ip route add` leaves it.
	foreign := &netlink.Route{Dst: mustIPNet("10.244.5.0/24"), Gw: net.ParseIP("198.51.100.3")}
	if err := handle.RouteAdd(foreign); err != nil {
		t.Fatal(err)
	}
	// The node image's boot-time blackhole, without our protocol.
	bootBlackhole := &netlink.Route{Dst: mustIPNet("10.96.0.0/16"), Type: unix.RTN_BLACKHOLE}
	if err := handle.RouteAdd(bootBlackhole); err != nil {
		t.Fatal(err)
	}

	assertListed(t, table, nil)

	for _, r := range []Route{blackhole("10.244.0.0/16"), blackhole("10.96.0.0/16"), via("10.244.1.0/24", "198.51.100.2")} {
		if err := table.Replace(r); err != nil {
			t.Fatal(err)
		}
	}
	assertListed(t, table, []Route{blackhole("10.96.0.0/16"), blackhole("10.244.0.0/16"), via("10.244.1.0/24", "198.51.100.2")})
	if n := kernelRoutesTo(t, handle, "10.96.0.0/16"); n != 1 {
		t.Errorf("replacing the boot blackhole left %d routes to 10.96.0.0/16, want 1", n)
	}

	t.Run("replace swaps the gateway in place", func(t *testing.T) {
		if err := table.Replace(via("10.244.1.0/24", "198.51.100.4")); err != nil {
			t.Fatal(err)
		}
		assertListed(t, table, []Route{blackhole("10.96.0.0/16"), blackhole("10.244.0.0/16"), via("10.244.1.0/24", "198.51.100.4")})
	})

	t.Run("delete cannot remove a route it did not install", func(t *testing.T) {
		if err := table.Delete(via("10.244.5.0/24", "198.51.100.3")); err != nil {
			t.Fatalf("Delete() = %v, want nil for a route that is not ours", err)
		}
		if n := kernelRoutesTo(t, handle, "10.244.5.0/24"); n != 1 {
			t.Fatalf("foreign route was deleted")
		}
	})

	t.Run("delete is idempotent", func(t *testing.T) {
		for range 2 {
			if err := table.Delete(via("10.244.1.0/24", "198.51.100.4")); err != nil {
				t.Fatal(err)
			}
		}
		assertListed(t, table, []Route{blackhole("10.96.0.0/16"), blackhole("10.244.0.0/16")})
	})
}

func assertListed(t *testing.T, table *NetlinkRouteTable, want []Route) {
	t.Helper()
	got, err := table.List()
	if err != nil {
		t.Fatal(err)
	}
	got = sortRoutes(got)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List() = %v, want %v", got, want)
	}
}

func kernelRoutesTo(t *testing.T, handle *netlink.Handle, dst string) int {
	t.Helper()
	routes, err := handle.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: mustIPNet(dst)}, netlink.RT_FILTER_DST)
	if err != nil {
		t.Fatal(err)
	}
	return len(routes)
}

// newTestNamespace returns a handle on a fresh network namespace holding one
// loopback link on 198.51.100.1/24, so that 198.51.100.x gateways are reachable.
func newTestNamespace(t *testing.T) *netlink.Handle {
	t.Helper()
	runtime.LockOSThread()
	restored := false
	// A thread that could not be moved back must die with its goroutine
	// rather than run other goroutines in the test namespace.
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		}
	}()
	original, err := netns.Get()
	if err != nil {
		t.Skipf("cannot read the current network namespace: %v", err)
	}
	defer original.Close()
	created, err := netns.New()
	if err != nil {
		restored = true
		t.Skipf("cannot create a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	if err := netns.Set(original); err != nil {
		t.Fatalf("cannot return to the original network namespace: %v", err)
	}
	restored = true
	t.Cleanup(func() { created.Close() })

	handle, err := netlink.NewHandleAt(created)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(handle.Close)

	// Loopback rather than a dummy link: it exists in every namespace,
	// even where the dummy module is unavailable.
	link, err := handle.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netlink.ParseAddr("198.51.100.1/24")
	if err != nil {
		t.Fatal(err)
	}
	if err := handle.AddrAdd(link, addr); err != nil {
		t.Skipf("cannot configure the test namespace (needs CAP_NET_ADMIN): %v", err)
	}
	if err := handle.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return handle
}

func mustIPNet(s string) *net.IPNet {
	return prefixToIPNet(netip.MustParsePrefix(s))
}
