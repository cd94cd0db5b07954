package netd

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Config is the cluster-wide addressing the daemon enforces on its node.
type Config struct {
	// PodCIDR is the whole pod range: the controller-manager's
	// --cluster-cidr, out of which every node's podCIDR is cut.
	PodCIDR netip.Prefix
	// ServiceCIDR is the whole service range: the apiserver's
	// --service-cluster-ip-range.
	ServiceCIDR netip.Prefix
}

// Validate reports whether c is safe to act on. Every route the daemon
// installs is derived from c, so a bad range must stop it before it touches
// the routing table.
func (c Config) Validate() error {
	if err := checkClusterRange(c.PodCIDR); err != nil {
		return fmt.Errorf("pod range: %w", err)
	}
	if err := checkClusterRange(c.ServiceCIDR); err != nil {
		return fmt.Errorf("service range: %w", err)
	}
	if c.PodCIDR.Overlaps(c.ServiceCIDR) {
		return fmt.Errorf("pod range %s and service range %s overlap; they must be disjoint", c.PodCIDR, c.ServiceCIDR)
	}
	return nil
}

// ParseClusterRange parses a pod or service range as written on a command
// line and applies the same checks as Config.Validate.
func ParseClusterRange(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	return p, checkClusterRange(p)
}

func checkClusterRange(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return errors.New("not set")
	case !p.Addr().Is4():
		// Routes and CNI config are family-aware, but dual-stack and
		// IPv6-only clusters have never been run; refuse rather than guess.
		return fmt.Errorf("%s is not IPv4; only IPv4 is supported", p)
	case p != p.Masked():
		return fmt.Errorf("%s has host bits set; the network is %s", p, p.Masked())
	case p.Bits() == 0:
		// A blackhole for 0.0.0.0/0 would replace the node's default route.
		return fmt.Errorf("%s covers every address", p)
	}
	return nil
}
