package hostprep

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Guard installs and removes the DOCKER-USER rules through a Runner.
type Guard struct {
	Run Runner
	// Bridge is the docker network's bridge device, if known (see GuardRules).
	Bridge string
}

// Add installs cluster's guard for each subnet. It is idempotent: every rule
// is checked with -C first, and running it twice changes nothing.
func (g Guard) Add(ctx context.Context, cluster string, subnets []netip.Prefix) error {
	for _, s := range subnets {
		if err := g.add(ctx, cluster, s); err != nil {
			return fmt.Errorf("guard %s for %s: %w", s, cluster, err)
		}
	}
	return nil
}

func (g Guard) add(ctx context.Context, cluster string, subnet netip.Prefix) error {
	fam := FamilyOf(subnet)
	rules, err := GuardRules(cluster, subnet, g.Bridge)
	if err != nil {
		return err
	}
	if err := g.ensureChain(ctx, fam); err != nil {
		return err
	}
	drop := rules[len(rules)-1]
	dropPresent, err := g.exists(ctx, fam, drop)
	if err != nil {
		return err
	}
	if !dropPresent {
		// Leftover RETURNs without their DROP would end up below the DROP
		// inserted at the top, where they no longer let S talk to S.
		// Deleting them first loses nothing: without the DROP, nothing is
		// being blocked at this moment anyway.
		for _, r := range rules[:len(rules)-1] {
			if ok, err := g.exists(ctx, fam, r); err != nil {
				return err
			} else if ok {
				if _, err := g.Run.Output(ctx, fam.Binary, DeleteArgs(r)...); err != nil {
					return err
				}
			}
		}
	}
	for i := len(rules) - 1; i >= 0; i-- {
		ok, err := g.exists(ctx, fam, rules[i])
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if _, err := g.Run.Output(ctx, fam.Binary, InsertArgs(rules[i])...); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes every rule tagged for cluster, in both families, whatever
// subnet it was for. A family whose binary is absent, or whose table cannot
// even be listed (an IPv6-less kernel), cannot hold rules of ours, since Add
// would have failed there. It returns how many rules it deleted.
func (g Guard) Remove(ctx context.Context, cluster string) (int, error) {
	if err := ValidateCluster(cluster); err != nil {
		return 0, err
	}
	n := 0
	for _, fam := range []Family{IPv4, IPv6} {
		if _, err := g.Run.LookPath(fam.Binary); err != nil {
			continue
		}
		listing, err := g.listTable(ctx, fam)
		if err != nil {
			if fam == IPv6 {
				continue
			}
			return n, err
		}
		for _, r := range OwnedRules(listing, cluster) {
			if _, err := g.Run.Output(ctx, fam.Binary, DeleteArgs(r)...); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// listTable lists the whole filter table rather than `-S DOCKER-USER`:
// for a chain that does not exist, iptables-legacy says "No chain/target/
// match by that name" but iptables-nft 1.8.9 says the chain "is
// incompatible, use 'nft' tool", both with exit 1, which cannot be told
// apart from real failures reliably. The full listing always works.
func (g Guard) listTable(ctx context.Context, fam Family) (string, error) {
	out, err := g.Run.Output(ctx, fam.Binary, "-w", "-S")
	return string(out), err
}

// ensureChain creates DOCKER-USER and the FORWARD jump to it when Docker has
// not: Docker 20.10 manages ip6tables only with --experimental --ip6tables,
// and IPv6 traffic still needs guarding then. When Docker later sets up the
// chain it keeps our rules; it only re-adds its own jump and final RETURN.
func (g Guard) ensureChain(ctx context.Context, fam Family) error {
	listing, err := g.listTable(ctx, fam)
	if err != nil {
		return err
	}
	if HasChain(listing, GuardChain) {
		return nil
	}
	if _, err := g.Run.Output(ctx, fam.Binary, "-w", "-N", GuardChain); err != nil {
		return err
	}
	jump := Rule{"-j", GuardChain}
	if _, err := g.Run.Output(ctx, fam.Binary, append([]string{"-w", "-C", "FORWARD"}, jump...)...); err == nil {
		return nil
	} else if ExitCode(err) != 1 {
		return err
	}
	_, err = g.Run.Output(ctx, fam.Binary, append([]string{"-w", "-I", "FORWARD", "1"}, jump...)...)
	return err
}

// exists runs -C. iptables exits 1 when the rule is absent; other codes
// (2: bad arguments, 4: resource problem) are real errors and must not be
// read as "absent", or Add would keep inserting duplicates.
func (g Guard) exists(ctx context.Context, fam Family, r Rule) (bool, error) {
	_, err := g.Run.Output(ctx, fam.Binary, CheckArgs(r)...)
	switch code := ExitCode(err); code {
	case 0:
		return true, nil
	case 1:
		return false, nil
	default:
		return false, err
	}
}

// ParseNetworkSubnets reads the output of
// `docker network inspect NAME --format '{{range .IPAM.Config}}{{println .Subnet}}{{end}}'`.
func ParseNetworkSubnets(out string) ([]netip.Prefix, error) {
	var subnets []netip.Prefix
	for _, line := range strings.Fields(out) {
		p, err := ParseSubnet(line)
		if err != nil {
			return nil, err
		}
		subnets = append(subnets, p)
	}
	if len(subnets) == 0 {
		return nil, fmt.Errorf("network has no subnets")
	}
	return subnets, nil
}
