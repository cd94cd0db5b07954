// Package netd is the node network daemon that stands in for kind's kindnetd
// in clusters built from our own node image.
//
// On its node it keeps three things true:
//
//   - a blackhole route for the whole pod range, so that pod traffic with
//     no more specific route is dropped rather than following the default
//     route off the machine (the node image blackholes the service range in
//     a policy table at boot; see BlackholeRoutes for why not here);
//   - one route per other node, to that node's podCIDR via its InternalIP;
//   - a CNI config that hands out addresses from this node's podCIDR.
//
// The package is split the way etcd's raft is: DesiredState and Diff are pure
// functions of their arguments and carry all of the decisions, and the edges
// (RouteTable, WriteFileIfChanged, Controller) only read the world, call the
// pure core and apply its answer. The safety rules are therefore testable
// without a kernel or an API server.
package netd
