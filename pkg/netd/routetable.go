package netd

// RouteTable is the node's routing table as far as the daemon is concerned.
// It is the seam between the pure core and the kernel: tests use a map.
type RouteTable interface {
	// List returns the routes the daemon may have installed. An
	// implementation may return more (Diff only removes what it owns), but
	// must not hide a route it installed, or that route would never be
	// updated or removed.
	List() ([]Route, error)
	// Replace installs r, replacing any route to the same destination.
	Replace(r Route) error
	// Delete removes r. Deleting a route that is already gone succeeds.
	Delete(r Route) error
}
