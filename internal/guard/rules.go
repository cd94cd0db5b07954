// Package guard keeps a kubenext cluster's traffic on this machine with
// DOCKER-USER iptables rules. The rules are pure data (RulesFor, OwnedRules,
// CheckDrop); IPTables applies them through an exec.Cmder, so the decisions
// are tested without root and the same rules are read back by the cluster
// tool and the e2e suite.
package guard

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// The network guard keeps cluster traffic on this machine. Docker routes
// everything a bridge network sends to other hosts through the FORWARD chain
// and consults DOCKER-USER first, before its own accept rules and before
// masquerading. For a network with subnet S we put, at the top of DOCKER-USER:
//
//	-s S -d S          -j RETURN   containers on S talk to each other
//	-s S -d <loopback> -j RETURN   host-local destinations
//	-s S               -j DROP     nothing else leaves
//
// Traffic from S to the host's own addresses is delivered through INPUT, not
// FORWARD, so the host stays reachable without a rule here. RETURN hands the
// packet back to Docker's usual processing, which keeps its network
// isolation between bridges intact.

// Chain is the chain Docker reserves for user rules.
const Chain = "DOCKER-USER"

// Rule is an iptables rule specification, without command or chain.
type Rule []string

// Family is an address family's iptables binary and its host-local range.
type Family struct {
	Binary   string
	Loopback netip.Prefix
}

var (
	IPv4 = Family{Binary: "iptables", Loopback: netip.MustParsePrefix("127.0.0.0/8")}
	IPv6 = Family{Binary: "ip6tables", Loopback: netip.MustParsePrefix("::1/128")}
)

// FamilyOf returns the Family for a subnet.
func FamilyOf(p netip.Prefix) Family {
	if p.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$`)

// Comment tags our rules. The cluster name is part of it so that removing
// one cluster leaves the rules of another cluster on the same network alone.
func Comment(cluster string) string { return "kubenext:" + cluster }

// ValidateCluster keeps names to DNS-label-like strings: they end up in an
// iptables comment, where spaces or quotes would change how -S prints them
// and break the exact match removal relies on.
func ValidateCluster(cluster string) error {
	if !clusterName.MatchString(cluster) {
		return fmt.Errorf("cluster name %q: want lower-case letters, digits, '-' and '.', at most 63 characters", cluster)
	}
	return nil
}

// ParseSubnet parses a subnet and checks it with CheckSubnet.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	return CheckSubnet(p)
}

// CheckSubnet normalises a subnet and refuses very short prefixes: the
// first rule returns everything from S to S, so a typo such as 0.0.0.0/0
// (or a docker network made that broad) would turn the guard into an
// allow-all.
func CheckSubnet(p netip.Prefix) (netip.Prefix, error) {
	p = p.Masked()
	min := 8
	if p.Addr().Is6() {
		min = 16
	}
	if p.Bits() < min {
		return netip.Prefix{}, fmt.Errorf("subnet %s is too broad for a guard (want at least /%d)", p, min)
	}
	return p, nil
}

// RulesFor returns the rules for cluster on subnet, in chain order.
//
// bridge, when known, is the network's bridge device. Traffic that enters
// and leaves through it never left the docker network: that is how one
// node reaches another node's pods (destination in the pod range, not in
// the subnet). Traffic routed towards another interface does not match it
// and meets the DROP.
func RulesFor(cluster string, subnet netip.Prefix, bridge string) ([]Rule, error) {
	if err := ValidateCluster(cluster); err != nil {
		return nil, err
	}
	s := subnet.Masked().String()
	rule := func(parts ...string) Rule { return Tagged(cluster, parts...) }
	var rules []Rule
	if bridge != "" {
		rules = append(rules, rule("-s", s, "-i", bridge, "-o", bridge, "-j", "RETURN"))
	}
	return append(rules,
		rule("-s", s, "-d", s, "-j", "RETURN"),
		rule("-s", s, "-d", FamilyOf(subnet).Loopback.String(), "-j", "RETURN"),
		rule("-s", s, "-j", "DROP"),
	), nil
}

// Tagged is a rule of cluster's: parts (matches, then "-j", target) with
// the cluster's comment before the jump, where iptables -S prints it, so
// that the rule reads back as written.
func Tagged(cluster string, parts ...string) Rule {
	r := append(Rule{}, parts[:len(parts)-2]...)
	r = append(r, "-m", "comment", "--comment", Comment(cluster))
	return append(r, parts[len(parts)-2:]...)
}

// "-w" waits for the xtables lock instead of failing while Docker (which
// edits the same tables) holds it.

// CheckArgs is `-C`: does the rule exist?
func CheckArgs(r Rule) []string { return append([]string{"-w", "-C", Chain}, r...) }

// InsertArgs inserts at position 1. Rules are inserted last-first, so the DROP
// goes in before the RETURNs: a guard that is half-installed blocks too much,
// never too little.
func InsertArgs(r Rule) []string { return append([]string{"-w", "-I", Chain, "1"}, r...) }

// DeleteArgs is `-D` by specification.
func DeleteArgs(r Rule) []string { return append([]string{"-w", "-D", Chain}, r...) }

// InstallArgs returns, in order, the commands that install the guard on an
// empty chain (what IPTables.Add runs when none of the rules exist yet).
func InstallArgs(cluster string, subnet netip.Prefix, bridge string) ([][]string, error) {
	rules, err := RulesFor(cluster, subnet, bridge)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for i := len(rules) - 1; i >= 0; i-- {
		out = append(out, InsertArgs(rules[i]))
	}
	return out, nil
}

// RemoveArgs returns, in order, the commands that remove the guard of cluster
// on subnet. The DROP goes last so that removal never passes through a state
// that lets more out than the full guard.
func RemoveArgs(cluster string, subnet netip.Prefix, bridge string) ([][]string, error) {
	rules, err := RulesFor(cluster, subnet, bridge)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range rules {
		out = append(out, DeleteArgs(r))
	}
	return out, nil
}

// OwnedRules picks cluster's rules out of `iptables -S DOCKER-USER` output,
// RETURNs first and DROPs last (see RemoveArgs). Matching is on the exact
// comment, so cluster "a" never takes rules of cluster "ab"; this finds our
// rules even when the subnet is no longer known (network already deleted).
func OwnedRules(listing, cluster string) []Rule {
	want := Comment(cluster)
	var returns, drops []Rule
	for _, line := range strings.Split(listing, "\n") {
		f := splitRule(line)
		if len(f) < 3 || f[0] != "-A" || f[1] != Chain {
			continue
		}
		r := Rule(f[2:])
		if !hasComment(r, want) {
			continue
		}
		if target(r) == "DROP" {
			drops = append(drops, r)
		} else {
			returns = append(returns, r)
		}
	}
	return append(returns, drops...)
}

// CheckDrop confirms that a listing (`iptables -S`, whole table or the
// chain alone) holds cluster's DROP for subnet. A DROP for another subnet
// does not count: it would leave the cluster's own network unguarded.
func CheckDrop(listing, cluster string, subnet netip.Prefix) error {
	want := subnet.Masked()
	var others []string
	for _, r := range OwnedRules(listing, cluster) {
		if target(r) != "DROP" {
			continue
		}
		src, ok := source(r)
		if ok && src == want {
			return nil
		}
		others = append(others, strings.Join(r, " "))
	}
	msg := fmt.Sprintf("the %s drop rule for cluster %s on %s is missing", Chain, cluster, want)
	if len(others) > 0 {
		msg += fmt.Sprintf(" (its drop rules: %s)", strings.Join(others, "; "))
	}
	return errors.New(msg)
}

// source is the -s of a rule, as iptables prints it (always with a prefix
// length).
func source(r Rule) (netip.Prefix, bool) {
	for i := 0; i+1 < len(r); i++ {
		if r[i] == "-s" {
			p, err := netip.ParsePrefix(r[i+1])
			return p.Masked(), err == nil
		}
	}
	return netip.Prefix{}, false
}

// HasChain reports whether an `iptables -S` listing declares chain.
func HasChain(listing, chain string) bool {
	for _, line := range strings.Split(listing, "\n") {
		if f := splitRule(line); len(f) == 2 && f[0] == "-N" && f[1] == chain {
			return true
		}
	}
	return false
}

func hasComment(r Rule, want string) bool {
	for i := 0; i+1 < len(r); i++ {
		if r[i] == "--comment" && r[i+1] == want {
			return true
		}
	}
	return false
}

func target(r Rule) string {
	for i := 0; i+1 < len(r); i++ {
		if r[i] == "-j" {
			return r[i+1]
		}
	}
	return ""
}

// splitRule splits a line of `iptables -S` output into arguments. iptables
// quotes arguments with spaces ("--comment \"a b\""), with backslash escapes
// inside; the quotes are not part of the argument and must not be passed
// back to -D.
func splitRule(line string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (c == ' ' || c == '\t' || c == '\r'):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// CheckAbove confirms that a listing holds rules in their order, all of
// them above every DROP of cluster: an ACCEPT below the cluster's DROP
// would never be reached.
func CheckAbove(listing string, rules []Rule, cluster string) error {
	var chain []Rule
	for _, line := range strings.Split(listing, "\n") {
		if f := splitRule(line); len(f) >= 3 && f[0] == "-A" && f[1] == Chain {
			chain = append(chain, Rule(f[2:]))
		}
	}
	index := func(want Rule) int {
		for i, r := range chain {
			if strings.Join(r, " ") == strings.Join(want, " ") {
				return i
			}
		}
		return -1
	}
	last := -1
	for _, r := range rules {
		i := index(r)
		if i < 0 {
			return fmt.Errorf("%s has no rule %s", Chain, strings.Join(r, " "))
		}
		if i < last {
			return fmt.Errorf("%s has rule %s out of order", Chain, strings.Join(r, " "))
		}
		last = i
	}
	owned := Comment(cluster)
	for i, r := range chain {
		if hasComment(r, owned) && target(r) == "DROP" && i < last {
			return fmt.Errorf("%s: cluster %s's rule %s sits above the rules that must come first", Chain, cluster, strings.Join(r, " "))
		}
	}
	return nil
}
