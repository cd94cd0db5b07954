package netd

import (
	"net/netip"
	"slices"
	"sync"
)

// fakeRouteTable models the kernel's main table as the daemon sees it: one
// route per destination, Replace swaps in place, Delete needs an exact match.
// Like a kernel without protocol tagging, it lists foreign routes too, which
// leaves Diff alone to protect them.
type fakeRouteTable struct {
	mu     sync.Mutex
	routes map[netip.Prefix]Route
	lists  int
	// failReplace, when set, can refuse a Replace.
	failReplace func(Route) error
}

func newFakeRouteTable(initial ...Route) *fakeRouteTable {
	f := &fakeRouteTable{routes: map[netip.Prefix]Route{}}
	for _, r := range initial {
		f.routes[r.Dst] = r
	}
	return f
}

func (f *fakeRouteTable) List() ([]Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return f.snapshotLocked(), nil
}

func (f *fakeRouteTable) Replace(r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReplace != nil {
		if err := f.failReplace(r); err != nil {
			return err
		}
	}
	f.routes[r.Dst] = r
	return nil
}

func (f *fakeRouteTable) Delete(r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.routes[r.Dst] == r {
		delete(f.routes, r.Dst)
	}
	return nil
}

// deleteByHand removes a route behind the daemon's back, as `ip route del`
// would: no Node event follows.
func (f *fakeRouteTable) deleteByHand(dst string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.routes, netip.MustParsePrefix(dst))
}

func (f *fakeRouteTable) snapshot() []Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snapshotLocked()
}

func (f *fakeRouteTable) listCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeRouteTable) setFailReplace(fail func(Route) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failReplace = fail
}

func (f *fakeRouteTable) snapshotLocked() []Route {
	routes := make([]Route, 0, len(f.routes))
	for _, r := range f.routes {
		routes = append(routes, r)
	}
	slices.SortFunc(routes, compareRoutes)
	return routes
}
