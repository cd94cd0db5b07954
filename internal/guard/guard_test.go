package guard

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestGuardInstallAndRemoveArgs(t *testing.T) {
	s := netip.MustParsePrefix("172.30.99.0/24")
	install, err := InstallArgs("guardtest", s, "")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"-w", "-I", "DOCKER-USER", "1", "-s", "172.30.99.0/24", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "DROP"},
		{"-w", "-I", "DOCKER-USER", "1", "-s", "172.30.99.0/24", "-d", "127.0.0.0/8", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "RETURN"},
		{"-w", "-I", "DOCKER-USER", "1", "-s", "172.30.99.0/24", "-d", "172.30.99.0/24", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "RETURN"},
	}
	if !reflect.DeepEqual(install, want) {
		t.Fatalf("install:\n%q\nwant\n%q", install, want)
	}
	remove, err := RemoveArgs("guardtest", s, "")
	if err != nil {
		t.Fatal(err)
	}
	wantRemove := [][]string{
		{"-w", "-D", "DOCKER-USER", "-s", "172.30.99.0/24", "-d", "172.30.99.0/24", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "RETURN"},
		{"-w", "-D", "DOCKER-USER", "-s", "172.30.99.0/24", "-d", "127.0.0.0/8", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "RETURN"},
		{"-w", "-D", "DOCKER-USER", "-s", "172.30.99.0/24", "-m", "comment", "--comment", "kubenext:guardtest", "-j", "DROP"},
	}
	if !reflect.DeepEqual(remove, wantRemove) {
		t.Fatalf("remove:\n%q\nwant\n%q", remove, wantRemove)
	}
}

func TestGuardRulesIPv6(t *testing.T) {
	s := netip.MustParsePrefix("fc00:f853:ccd:e793::/64")
	rules, err := RulesFor("kind", s, "")
	if err != nil {
		t.Fatal(err)
	}
	if FamilyOf(s).Binary != "ip6tables" {
		t.Fatal("IPv6 subnet must use ip6tables")
	}
	if got := strings.Join(rules[1], " "); got != "-s fc00:f853:ccd:e793::/64 -d ::1/128 -m comment --comment kubenext:kind -j RETURN" {
		t.Fatalf("got %s", got)
	}
}

func TestValidation(t *testing.T) {
	for _, bad := range []string{"", "Kind", "a b", "-x", "x-", `a"b`, strings.Repeat("a", 64)} {
		if ValidateCluster(bad) == nil {
			t.Errorf("cluster %q accepted", bad)
		}
	}
	for _, ok := range []string{"kind", "a", "test-1.x", strings.Repeat("a", 63)} {
		if err := ValidateCluster(ok); err != nil {
			t.Errorf("cluster %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0/0", "10.0.0.0/7", "::/0", "fc00::/8", "nonsense", "10.0.0.1"} {
		if _, err := ParseSubnet(bad); err == nil {
			t.Errorf("subnet %q accepted", bad)
		}
	}
	if p, err := ParseSubnet(" 172.30.99.7/24 "); err != nil || p.String() != "172.30.99.0/24" {
		t.Errorf("got %v, %v", p, err)
	}
}

const listing = `-N DOCKER-USER
-A DOCKER-USER -s 172.30.99.0/24 -d 172.30.99.0/24 -m comment --comment kubenext:guardtest -j RETURN
-A DOCKER-USER -s 172.30.99.0/24 -d 127.0.0.0/8 -m comment --comment "kubenext:guardtest" -j RETURN
-A DOCKER-USER -s 172.30.99.0/24 -m comment --comment kubenext:guardtest -j DROP
-A DOCKER-USER -s 172.30.99.0/24 -m comment --comment kubenext:guardtest2 -j DROP
-A DOCKER-USER -s 10.0.0.0/8 -m comment --comment "someone else's \"rule\"" -j DROP
-A DOCKER-USER -j RETURN
`

func TestOwnedRules(t *testing.T) {
	got := OwnedRules(listing, "guardtest")
	if len(got) != 3 {
		t.Fatalf("got %d rules: %q", len(got), got)
	}
	// The comment comes back unquoted, and the DROP is removed last.
	if got[1][7] != "kubenext:guardtest" || target(got[2]) != "DROP" {
		t.Fatalf("got %q", got)
	}
	if n := len(OwnedRules(listing, "guardtes")); n != 0 {
		t.Fatalf("prefix matched %d rules", n)
	}
	if n := len(OwnedRules(listing, "guardtest2")); n != 1 {
		t.Fatalf("guardtest2: %d rules", n)
	}
}

// hostListing is `iptables -w -S` as iptables-nft 1.8.9 printed it on a
// Debian 12 host with Docker 20.10 after `guard add`: nft quotes comments.
const hostListing = `-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -s 172.30.99.0/24 -d 172.30.99.0/24 -m comment --comment "kubenext:guardtest" -j RETURN
-A DOCKER-USER -s 172.30.99.0/24 -d 127.0.0.0/8 -m comment --comment "kubenext:guardtest" -j RETURN
-A DOCKER-USER -s 172.30.99.0/24 -m comment --comment "kubenext:guardtest" -j DROP
-A DOCKER-USER -j RETURN
`

func TestOwnedRulesFromHost(t *testing.T) {
	got := OwnedRules(hostListing, "guardtest")
	want, _ := RulesFor("guardtest", netip.MustParsePrefix("172.30.99.0/24"), "")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestHasChain(t *testing.T) {
	if !HasChain(listing, "DOCKER-USER") || HasChain(listing, "DOCKER") || HasChain("-P FORWARD ACCEPT\n", "DOCKER-USER") {
		t.Fatal("HasChain")
	}
}

func TestSplitRule(t *testing.T) {
	got := splitRule(`-A X -m comment --comment "a \"b\" c" -j DROP`)
	want := []string{"-A", "X", "-m", "comment", "--comment", `a "b" c`, "-j", "DROP"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}

// chainFake simulates one iptables binary's DOCKER-USER chain well enough
// for Guard: -S, -C, -I 1, -D, -N.
type chainFake struct {
	exists bool
	rules  []string
}

func (c *chainFake) handle(args []string) (string, int) {
	spec := func(a []string) string { return strings.Join(a, " ") }
	switch {
	case len(args) == 2 && args[1] == "-S":
		out := "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N DOCKER\n"
		if !c.exists {
			return out, 0
		}
		out += "-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n"
		for _, r := range c.rules {
			out += "-A DOCKER-USER " + r + "\n"
		}
		return out, 0
	case args[1] == "-N":
		c.exists = true
		return "", 0
	case args[1] == "-C" && args[2] == "FORWARD":
		return "", 1
	case args[1] == "-I" && args[2] == "FORWARD":
		return "", 0
	case args[1] == "-C":
		for _, r := range c.rules {
			if r == spec(args[3:]) {
				return "", 0
			}
		}
		return "", 1
	case args[1] == "-I":
		c.rules = append([]string{spec(args[4:])}, c.rules...)
		return "", 0
	case args[1] == "-D":
		for i, r := range c.rules {
			if r == spec(args[3:]) {
				c.rules = append(c.rules[:i], c.rules[i+1:]...)
				return "", 0
			}
		}
		return "iptables: Bad rule (does a matching rule exist in that chain?).\n", 1
	}
	return "unexpected", 2
}

// guardFake is an iptables and an ip6tables, each with its own chain.
type guardFake struct {
	exectest.Cmder
	paths map[string]string
}

func (f *guardFake) lookPath(file string) (string, error) {
	if p, ok := f.paths[file]; ok {
		return p, nil
	}
	return "", errors.New("not found")
}

func (f *guardFake) iptables() IPTables { return IPTables{Cmd: &f.Cmder, LookPath: f.lookPath} }

func newGuardFake(v4, v6 *chainFake) *guardFake {
	f := &guardFake{paths: map[string]string{"iptables": "/usr/sbin/iptables", "ip6tables": "/usr/sbin/ip6tables"}}
	f.Handle = func(line string) (exectest.Result, bool) {
		args := strings.Fields(line)
		c := v4
		if args[0] == "ip6tables" {
			c = v6
		}
		out, code := c.handle(args[1:])
		if code != 0 {
			return exectest.Result{Stderr: out, ExitCode: code}, true
		}
		return exectest.Result{Stdout: out}, true
	}
	return f
}

func TestGuardAddIdempotentAndRemove(t *testing.T) {
	v4 := &chainFake{exists: true, rules: []string{"-j RETURN"}}
	v6 := &chainFake{}
	r := newGuardFake(v4, v6)
	g := r.iptables()
	ctx := context.Background()
	subnets := []netip.Prefix{netip.MustParsePrefix("172.30.99.0/24"), netip.MustParsePrefix("fd00:99::/64")}
	if err := g.Add(ctx, "guardtest", subnets); err != nil {
		t.Fatal(err)
	}
	wantV4 := []string{
		"-s 172.30.99.0/24 -d 172.30.99.0/24 -m comment --comment kubenext:guardtest -j RETURN",
		"-s 172.30.99.0/24 -d 127.0.0.0/8 -m comment --comment kubenext:guardtest -j RETURN",
		"-s 172.30.99.0/24 -m comment --comment kubenext:guardtest -j DROP",
		"-j RETURN",
	}
	if !reflect.DeepEqual(v4.rules, wantV4) {
		t.Fatalf("v4 chain:\n%s", strings.Join(v4.rules, "\n"))
	}
	if !v6.exists || len(v6.rules) != 3 || !strings.Contains(v6.rules[1], "-d ::1/128") {
		t.Fatalf("v6 chain: %v %q", v6.exists, v6.rules)
	}
	if !contains(r.Lines(), "ip6tables -w -I FORWARD 1 -j DOCKER-USER") {
		t.Fatalf("no FORWARD jump for the chain we created: %q", r.Lines())
	}

	// Second run: only checks, no inserts.
	r.Calls = nil
	if err := g.Add(ctx, "guardtest", subnets); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Lines() {
		if strings.Contains(c, " -I ") || strings.Contains(c, " -D ") || strings.Contains(c, " -N ") {
			t.Fatalf("second Add changed something: %s", c)
		}
	}

	// Another cluster on the same network; removing one keeps the other.
	if err := g.Add(ctx, "other", subnets[:1]); err != nil {
		t.Fatal(err)
	}
	n, err := g.Remove(ctx, "guardtest")
	if err != nil || n != 6 {
		t.Fatalf("removed %d, err %v", n, err)
	}
	if len(v4.rules) != 4 || !strings.Contains(v4.rules[0], "kubenext:other") || len(v6.rules) != 0 {
		t.Fatalf("after remove: v4 %q v6 %q", v4.rules, v6.rules)
	}
}

func TestGuardAddRepairsOrder(t *testing.T) {
	// RETURNs whose DROP was deleted by hand: inserting only the DROP at the
	// top would cut intra-network traffic, so the RETURNs are redone.
	s := netip.MustParsePrefix("172.30.99.0/24")
	rules, _ := RulesFor("c", s, "")
	v4 := &chainFake{exists: true, rules: []string{strings.Join(rules[0], " "), "-j RETURN"}}
	g := newGuardFake(v4, &chainFake{}).iptables()
	if err := g.Add(context.Background(), "c", []netip.Prefix{s}); err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Join(rules[0], " "), strings.Join(rules[1], " "), strings.Join(rules[2], " "), "-j RETURN"}
	if !reflect.DeepEqual(v4.rules, want) {
		t.Fatalf("got\n%s", strings.Join(v4.rules, "\n"))
	}
}

func TestGuardCheckErrorIsNotAbsence(t *testing.T) {
	r := &exectest.Cmder{Script: map[string]exectest.Result{
		"iptables -w -S": {Stdout: "-N DOCKER-USER\n"},
		"iptables -w -C": {Stderr: "iptables v1.8.9: Couldn't load match `comment'", ExitCode: 2},
	}}
	err := IPTables{Cmd: r}.Add(context.Background(), "c", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")})
	if err == nil || !strings.Contains(err.Error(), "Couldn't load match") {
		t.Fatalf("want the check's error, got %v", err)
	}
	for _, c := range r.Lines() {
		if strings.Contains(c, " -I ") {
			t.Fatalf("inserted after a failed check: %s", c)
		}
	}
}

func TestRemoveSkipsMissingBinaryAndChain(t *testing.T) {
	r := newGuardFake(&chainFake{}, &chainFake{})
	delete(r.paths, "ip6tables")
	n, err := r.iptables().Remove(context.Background(), "c")
	if err != nil || n != 0 {
		t.Fatalf("n %d err %v", n, err)
	}
}

func TestCheckDrop(t *testing.T) {
	s := netip.MustParsePrefix("172.30.99.0/24")
	if err := CheckDrop(hostListing, "guardtest", s); err != nil {
		t.Fatalf("a complete guard was refused: %v", err)
	}
	// The chain alone, as `iptables -S DOCKER-USER` prints it.
	chainOnly := "-N DOCKER-USER\n-A DOCKER-USER -s 172.30.99.0/24 -m comment --comment kubenext:guardtest -j DROP\n"
	if err := CheckDrop(chainOnly, "guardtest", s); err != nil {
		t.Fatalf("chain listing: %v", err)
	}
	for name, c := range map[string]struct {
		listing, cluster, subnet, want string
	}{
		"other subnet":  {chainOnly, "guardtest", "172.30.98.0/24", "-s 172.30.99.0/24"},
		"other cluster": {chainOnly, "guardtest2", "172.30.99.0/24", "on 172.30.99.0/24 is missing"},
		"only returns":  {strings.Replace(chainOnly, "DROP", "RETURN", 1), "guardtest", "172.30.99.0/24", "is missing"},
	} {
		err := CheckDrop(c.listing, c.cluster, netip.MustParsePrefix(c.subnet))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestVerifyReadsTheSubnetsFamily(t *testing.T) {
	v4 := &chainFake{exists: true}
	v6 := &chainFake{}
	r := newGuardFake(v4, v6)
	g := r.iptables()
	ctx := context.Background()
	s6 := netip.MustParsePrefix("fd00:99::/64")
	if err := g.Verify(ctx, "c", s6); err == nil {
		t.Fatal("no rules yet, but Verify passed")
	}
	if err := g.Add(ctx, "c", []netip.Prefix{s6}); err != nil {
		t.Fatal(err)
	}
	r.Calls = nil
	if err := g.Verify(ctx, "c", s6); err != nil {
		t.Fatal(err)
	}
	if got := r.Lines(); len(got) != 1 || got[0] != "ip6tables -w -S" {
		t.Errorf("Verify ran %q, want only ip6tables -w -S", got)
	}
}

func TestCheckSubnet(t *testing.T) {
	if p, err := CheckSubnet(netip.MustParsePrefix("172.30.0.9/24")); err != nil || p.String() != "172.30.0.0/24" {
		t.Errorf("got %v, %v", p, err)
	}
	if _, err := CheckSubnet(netip.MustParsePrefix("0.0.0.0/0")); err == nil {
		t.Error("an allow-all subnet was accepted")
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestGuardRulesLetBridgedTrafficThrough(t *testing.T) {
	rules, err := RulesFor("c", netip.MustParsePrefix("172.30.0.0/24"), "br-kubenext")
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Join(rules[0], " ")
	if first != "-s 172.30.0.0/24 -i br-kubenext -o br-kubenext -m comment --comment kubenext:c -j RETURN" {
		t.Errorf("first rule = %q", first)
	}
	if last := strings.Join(rules[len(rules)-1], " "); !strings.HasSuffix(last, "-j DROP") || strings.Contains(last, "br-kubenext") {
		t.Errorf("the DROP must catch everything else from the subnet: %q", last)
	}
}

func TestCheckAbove(t *testing.T) {
	a := Rule{"-s", "172.30.2.0/24", "-m", "comment", "--comment", "kubenext:vm", "-j", "ACCEPT"}
	d := Rule{"-i", "kn-vm0", "-m", "comment", "--comment", "kubenext:vm", "-j", "DROP"}
	clusterDrop := "-A DOCKER-USER -s 172.30.0.0/24 -m comment --comment kubenext:kubenext -j DROP"
	ok := "-N DOCKER-USER\n-A DOCKER-USER " + strings.Join(a, " ") + "\n-A DOCKER-USER " + strings.Join(d, " ") + "\n" + clusterDrop + "\n"
	if err := CheckAbove(ok, []Rule{a, d}, "kubenext"); err != nil {
		t.Error(err)
	}
	below := "-N DOCKER-USER\n" + clusterDrop + "\n-A DOCKER-USER " + strings.Join(a, " ") + "\n-A DOCKER-USER " + strings.Join(d, " ") + "\n"
	if err := CheckAbove(below, []Rule{a, d}, "kubenext"); err == nil {
		t.Error("accepted rules below the cluster's drop")
	}
	if err := CheckAbove("-N DOCKER-USER\n-A DOCKER-USER "+strings.Join(d, " ")+"\n", []Rule{a, d}, "kubenext"); err == nil {
		t.Error("accepted a missing rule")
	}
}
