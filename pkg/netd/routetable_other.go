//go:build !linux

package netd

import (
	"errors"
	"net/netip"
)

// NetlinkRouteTable only exists on Linux; this stub keeps the daemon's
// packages compiling (and vettable) elsewhere.
type NetlinkRouteTable struct{ RouteTable }

func NewNetlinkRouteTable(netip.Prefix) (*NetlinkRouteTable, error) {
	return nil, errors.New("kubenext-netd manages Linux routing tables only")
}

func (*NetlinkRouteTable) Close() {}
