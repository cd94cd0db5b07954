package netd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the daemon's routes in the kernel ("proto 110" in
// `ip route`). The kernel matches it on delete, so a route someone else
// installed to the same destination can never be deleted by the daemon, and
// List can tell its own routes from the CNI plugin's and the administrator's.
const RouteProtocol netlink.RouteProtocol = 110

// listAttempts bounds retries of a route dump that the kernel interrupted
// because the table changed underneath it; such a dump may miss routes.
const listAttempts = 3

// NetlinkRouteTable is the kernel's main routing table for one address
// family, restricted to routes tagged with RouteProtocol.
type NetlinkRouteTable struct {
	handle *netlink.Handle
	family int
}

var _ RouteTable = (*NetlinkRouteTable)(nil)

// NewNetlinkRouteTable opens the routing table of the current network
// namespace for the address family of podRange.
func NewNetlinkRouteTable(podRange netip.Prefix) (*NetlinkRouteTable, error) {
	handle, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening rtnetlink: %w", err)
	}
	return newNetlinkRouteTable(handle, podRange.Addr().Is6()), nil
}

func newNetlinkRouteTable(handle *netlink.Handle, ipv6 bool) *NetlinkRouteTable {
	family := netlink.FAMILY_V4
	if ipv6 {
		family = netlink.FAMILY_V6
	}
	return &NetlinkRouteTable{handle: handle, family: family}
}

// Close releases the netlink socket.
func (t *NetlinkRouteTable) Close() {
	t.handle.Close()
}

func (t *NetlinkRouteTable) List() ([]Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: RouteProtocol}
	mask := netlink.RT_FILTER_TABLE | netlink.RT_FILTER_PROTOCOL
	var kernelRoutes []netlink.Route
	var err error
	for range listAttempts {
		kernelRoutes, err = t.handle.RouteListFiltered(t.family, filter, mask)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	routes := make([]Route, 0, len(kernelRoutes))
	for _, kr := range kernelRoutes {
		if r, ok := fromKernelRoute(kr); ok {
			routes = append(routes, r)
		}
	}
	return routes, nil
}

func (t *NetlinkRouteTable) Replace(r Route) error {
	if err := t.handle.RouteReplace(toKernelRoute(r)); err != nil {
		return fmt.Errorf("replacing route %s: %w", r, err)
	}
	return nil
}

func (t *NetlinkRouteTable) Delete(r Route) error {
	err := t.handle.RouteDel(toKernelRoute(r))
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("deleting route %s: %w", r, err)
	}
	return nil
}

func toKernelRoute(r Route) *netlink.Route {
	kr := &netlink.Route{
		Dst:      prefixToIPNet(r.Dst),
		Table:    unix.RT_TABLE_MAIN,
		Protocol: RouteProtocol,
		Type:     unix.RTN_UNICAST,
	}
	if r.Blackhole {
		kr.Type = unix.RTN_BLACKHOLE
	} else {
		kr.Gw = net.IP(r.Gateway.AsSlice())
	}
	return kr
}

// fromKernelRoute reports false for shapes the daemon never installs
// (multipath, device-only, other types); leaving them out of List means they
// can never be removed.
func fromKernelRoute(kr netlink.Route) (Route, bool) {
	if kr.Dst == nil || len(kr.MultiPath) > 0 {
		return Route{}, false
	}
	dst, ok := ipNetToPrefix(kr.Dst)
	if !ok {
		return Route{}, false
	}
	switch kr.Type {
	case unix.RTN_BLACKHOLE:
		return Route{Dst: dst, Blackhole: true}, true
	case unix.RTN_UNICAST:
		gateway, ok := netip.AddrFromSlice(kr.Gw)
		if !ok {
			return Route{}, false
		}
		return Route{Dst: dst, Gateway: gateway.Unmap()}, true
	}
	return Route{}, false
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

func ipNetToPrefix(n *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP)
	ones, bits := n.Mask.Size()
	if !ok || bits != addr.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, ones), true
}
