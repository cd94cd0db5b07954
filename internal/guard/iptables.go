package guard

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/kubenext/kubenext/internal/exec"
)

// IPTables installs, checks and removes the DOCKER-USER rules with the
// iptables and ip6tables binaries.
type IPTables struct {
	// Cmd runs iptables; exec.Host when nil.
	Cmd exec.Cmder
	// LookPath finds the binaries; exec.LookPath when nil.
	LookPath func(file string) (string, error)
	// Bridge is the docker network's bridge device, if known (see RulesFor).
	Bridge string
}

func (g IPTables) run(ctx context.Context, fam Family, args ...string) ([]byte, error) {
	cmd := g.Cmd
	if cmd == nil {
		cmd = exec.Host
	}
	return exec.Output(cmd.Command(ctx, fam.Binary, args...))
}

func (g IPTables) lookPath(file string) (string, error) {
	if g.LookPath == nil {
		return exec.LookPath(file)
	}
	return g.LookPath(file)
}

// Add installs cluster's guard for each subnet. It is idempotent: every rule
// is checked with -C first, and running it twice changes nothing.
func (g IPTables) Add(ctx context.Context, cluster string, subnets []netip.Prefix) error {
	for _, s := range subnets {
		if err := g.add(ctx, cluster, s); err != nil {
			return fmt.Errorf("guard %s for %s: %w", s, cluster, err)
		}
	}
	return nil
}

func (g IPTables) add(ctx context.Context, cluster string, subnet netip.Prefix) error {
	fam := FamilyOf(subnet)
	rules, err := RulesFor(cluster, subnet, g.Bridge)
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
				if _, err := g.run(ctx, fam, DeleteArgs(r)...); err != nil {
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
		if _, err := g.run(ctx, fam, InsertArgs(rules[i])...); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes every rule tagged for cluster, in both families, whatever
// subnet it was for. A family whose binary is absent, or whose table cannot
// even be listed (an IPv6-less kernel), cannot hold rules of ours, since Add
// would have failed there. It returns how many rules it deleted.
func (g IPTables) Remove(ctx context.Context, cluster string) (int, error) {
	if err := ValidateCluster(cluster); err != nil {
		return 0, err
	}
	n := 0
	for _, fam := range []Family{IPv4, IPv6} {
		if _, err := g.lookPath(fam.Binary); err != nil {
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
			if _, err := g.run(ctx, fam, DeleteArgs(r)...); err != nil {
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
func (g IPTables) listTable(ctx context.Context, fam Family) (string, error) {
	out, err := g.run(ctx, fam, "-w", "-S")
	return string(out), err
}

// ensureChain creates DOCKER-USER and the FORWARD jump to it when Docker has
// not: Docker 20.10 manages ip6tables only with --experimental --ip6tables,
// and IPv6 traffic still needs guarding then. When Docker later sets up the
// chain it keeps our rules; it only re-adds its own jump and final RETURN.
func (g IPTables) ensureChain(ctx context.Context, fam Family) error {
	listing, err := g.listTable(ctx, fam)
	if err != nil {
		return err
	}
	if HasChain(listing, Chain) {
		return nil
	}
	if _, err := g.run(ctx, fam, "-w", "-N", Chain); err != nil {
		return err
	}
	jump := Rule{"-j", Chain}
	if _, err := g.run(ctx, fam, append([]string{"-w", "-C", "FORWARD"}, jump...)...); err == nil {
		return nil
	} else if exec.ExitCode(err) != 1 {
		return err
	}
	_, err = g.run(ctx, fam, append([]string{"-w", "-I", "FORWARD", "1"}, jump...)...)
	return err
}

// exists runs -C. iptables exits 1 when the rule is absent; other codes
// (2: bad arguments, 4: resource problem) are real errors and must not be
// read as "absent", or Add would keep inserting duplicates.
func (g IPTables) exists(ctx context.Context, fam Family, r Rule) (bool, error) {
	_, err := g.run(ctx, fam, CheckArgs(r)...)
	switch code := exec.ExitCode(err); code {
	case 0:
		return true, nil
	case 1:
		return false, nil
	default:
		return false, err
	}
}

// Verify reads the table of subnet's family back and confirms, with
// CheckDrop, that cluster's DROP for subnet is in place.
func (g IPTables) Verify(ctx context.Context, cluster string, subnet netip.Prefix) error {
	fam := FamilyOf(subnet)
	listing, err := g.listTable(ctx, fam)
	if err != nil {
		return err
	}
	return CheckDrop(listing, cluster, subnet)
}

// Insert puts rules at the top of the chain, in their order, above
// everything already there; rules already present are left where they
// are. A caller that needs them on top removes its old ones first.
func (g IPTables) Insert(ctx context.Context, fam Family, rules []Rule) error {
	if err := g.ensureChain(ctx, fam); err != nil {
		return err
	}
	for i := len(rules) - 1; i >= 0; i-- {
		ok, err := g.exists(ctx, fam, rules[i])
		if err != nil {
			return err
		}
		if !ok {
			if _, err := g.run(ctx, fam, InsertArgs(rules[i])...); err != nil {
				return err
			}
		}
	}
	return nil
}
