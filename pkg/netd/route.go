package netd

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Route is the part of a kernel route that the daemon decides on. It is
// comparable so that route sets can be maps.
type Route struct {
	Dst netip.Prefix
	// Gateway is the next hop; the zero Addr for a blackhole route.
	Gateway   netip.Addr
	Blackhole bool
}

func (r Route) String() string {
	if r.Blackhole {
		return "blackhole " + r.Dst.String()
	}
	return fmt.Sprintf("%s via %s", r.Dst, r.Gateway)
}

// compareRoutes puts blackholes first, so that applying a sorted list in
// order never installs a more specific route before the catch-all that
// protects its range.
func compareRoutes(a, b Route) int {
	if a.Blackhole != b.Blackhole {
		if a.Blackhole {
			return -1
		}
		return 1
	}
	return cmp.Or(a.Dst.Compare(b.Dst), a.Gateway.Compare(b.Gateway))
}

func sortRoutes(routes []Route) []Route {
	slices.SortFunc(routes, compareRoutes)
	return slices.Compact(routes)
}
