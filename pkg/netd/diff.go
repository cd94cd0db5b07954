package netd

import "net/netip"

// Diff returns the routes to install (add) and to delete (remove) to get from
// current to desired.
//
// Routes are matched by destination, because installing is a replace: a
// route whose gateway changed shows up in add only, and swapping it in place
// leaves no moment in which its traffic has no route.
//
// Only routes the daemon owns are ever removed: a gateway route strictly
// inside podRange. Blackholes, the CNI plugin's per-pod device routes and
// everything outside the pod range are left alone, whatever desired says.
func Diff(podRange netip.Prefix, current, desired []Route) (add, remove []Route) {
	wantedDst := make(map[netip.Prefix]bool, len(desired))
	for _, r := range desired {
		wantedDst[r.Dst] = true
	}
	for _, r := range current {
		if ownedRoute(podRange, r) && !wantedDst[r.Dst] {
			remove = append(remove, r)
		}
	}
	return Missing(current, desired), sortRoutes(remove)
}

// Missing returns the routes of want that are not in current, sorted.
func Missing(current, want []Route) []Route {
	have := make(map[Route]bool, len(current))
	for _, r := range current {
		have[r] = true
	}
	var missing []Route
	for _, r := range want {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	return sortRoutes(missing)
}

func ownedRoute(podRange netip.Prefix, r Route) bool {
	return !r.Blackhole &&
		r.Gateway.IsValid() &&
		r.Dst.Bits() > podRange.Bits() &&
		podRange.Contains(r.Dst.Addr())
}
