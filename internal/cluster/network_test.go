package cluster

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/steps"
)

const (
	inspectSubnets = "docker network inspect kn --format {{range"
	inspectBridge  = "docker network inspect kn --format {{index"
)

func TestEnsureNetwork(t *testing.T) {
	subnet := netip.MustParsePrefix("172.30.0.0/24")
	ctx := context.Background()

	absent := &exectest.Cmder{Script: map[string]exectest.Result{inspectSubnets: {ExitCode: 1, Stderr: "Error: No such network: kn"}}}
	if err := EnsureNetwork(ctx, absent, "kn", subnet); err != nil {
		t.Fatal(err)
	}
	want := "docker network create --driver=bridge --subnet=172.30.0.0/24 --opt=com.docker.network.bridge.enable_ip_masquerade=true --opt=com.docker.network.bridge.name=br-kn --label=io.kubenext.cluster-network=true kn"
	if got := absent.Lines(); got[len(got)-1] != want {
		t.Errorf("created with %q", got)
	}

	ours := &exectest.Cmder{Script: map[string]exectest.Result{
		inspectSubnets: {Stdout: "172.30.0.0/24\n"}, inspectBridge: {Stdout: "br-kn 0123456789abcdef\n"},
	}}
	if err := EnsureNetwork(ctx, ours, "kn", subnet); err != nil {
		t.Fatalf("our own network was refused: %v", err)
	}
	for _, l := range ours.Lines() {
		if strings.Contains(l, "create") {
			t.Errorf("created a network that exists: %s", l)
		}
	}

	for name, c := range map[string]struct {
		subnets, bridge, want string
	}{
		"other subnet":   {"172.31.0.0/24\n", "br-kn x\n", "exists with subnets [172.31.0.0/24]"},
		"two subnets":    {"172.30.0.0/24\nfc00::/64\n", "br-kn x\n", "not 172.30.0.0/24"},
		"someone else's": {"172.30.0.0/24\n", "<no value> 0123456789abcdef\n", `not made by kubenext (bridge "br-0123456789ab"`},
		"no subnets":     {"\n", "br-kn x\n", "docker network kn: network has no subnets"},
	} {
		f := &exectest.Cmder{Script: map[string]exectest.Result{inspectSubnets: {Stdout: c.subnets}, inspectBridge: {Stdout: c.bridge}}}
		err := EnsureNetwork(ctx, f, "kn", subnet)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestRemoveNetwork(t *testing.T) {
	ctx := context.Background()
	count := "docker network inspect kn --format {{len .Containers}}"
	for name, c := range map[string]struct {
		answer exectest.Result
		rm     bool
		note   string
	}{
		"empty":  {exectest.Result{Stdout: "0\n"}, true, ""},
		"in use": {exectest.Result{Stdout: "2\n"}, false, "kept: 2 containers still use it"},
		"gone":   {exectest.Result{ExitCode: 1}, false, ""},
	} {
		f := &exectest.Cmder{Script: map[string]exectest.Result{count: c.answer}}
		var out bytes.Buffer
		if err := RemoveNetwork(ctx, f, &steps.Steps{Out: &out}, "kn"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		removed := strings.Contains(strings.Join(f.Lines(), "\n"), "docker network rm kn")
		if removed != c.rm || !strings.Contains(out.String(), c.note) {
			t.Errorf("%s: removed %t, output %q", name, removed, out.String())
		}
	}
}
