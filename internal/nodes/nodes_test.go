package nodes

import (
	"context"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestListAndExec(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker ps --filter label=io.x-k8s.kind.cluster=kn": {Stdout: "kn-worker\nkn-control-plane\n"},
		"docker ps --filter label=io.kubenext.machines=kn":  {Stdout: "kn-worker2\n"},
		"docker exec kn-worker false":                       {ExitCode: 1, Stderr: "nope"},
	}}
	p := &Provider{Host: fake}
	ctx := context.Background()
	nodes, err := p.List(ctx, "kn")
	if err != nil || len(nodes) != 3 || nodes[0].Name != "kn-control-plane" || nodes[2].Name != "kn-worker2" {
		t.Fatalf("List = %v, %v", nodes, err)
	}
	w := nodes[1]
	if _, err := exec.Output(w.Command(ctx, "crictl", "ps")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.CombinedOutput(w.Command(ctx, "sh", "-c", "cat").SetStdin(strings.NewReader("x")).SetEnv("A=b").SetDir("/tmp")); err != nil {
		t.Fatal(err)
	}
	_, err = exec.CombinedOutput(w.Command(ctx, "false"))
	if exec.ExitCode(err) != 1 || !strings.Contains(err.Error(), "kn-worker: false") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("error %v must name the node, the command and the output", err)
	}
	want := []string{
		"docker ps --filter label=io.x-k8s.kind.cluster=kn --format {{.Names}}",
		"docker ps --filter label=io.kubenext.machines=kn --format {{.Names}}",
		"docker exec kn-worker crictl ps",
		"docker exec -i -e A=b -w /tmp kn-worker sh -c cat",
		"docker exec kn-worker false",
	}
	if got := fake.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fake.Calls[3].Stdin != "x" {
		t.Errorf("stdin %q not passed to docker exec -i", fake.Calls[3].Stdin)
	}
}

func TestNetworks(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker network inspect named --format {{range": {Stdout: "172.30.0.0/24\nfc00:f853::/64\n"},
		"docker network inspect named --format {{index": {Stdout: "br-kubenext 0123456789abcdef\n"},
		"docker network inspect plain --format {{index": {Stdout: "<no value> 0123456789abcdef\n"},
		"docker network inspect empty --format {{range": {Stdout: "\n"},
	}}
	p := &Provider{Host: fake}
	ctx := context.Background()
	subnets, err := p.NetworkSubnets(ctx, "named")
	if err != nil || len(subnets) != 2 || subnets[0].String() != "172.30.0.0/24" {
		t.Fatalf("NetworkSubnets = %v, %v", subnets, err)
	}
	if _, err := p.NetworkSubnets(ctx, "empty"); err == nil {
		t.Error("a network without subnets must be an error")
	}
	for network, want := range map[string]string{"named": "br-kubenext", "plain": "br-0123456789ab"} {
		if got, err := p.NetworkBridge(ctx, network); err != nil || got != want {
			t.Errorf("NetworkBridge(%s) = %q, %v; want %s", network, got, err, want)
		}
	}
	if _, err := ParseSubnets("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR must be an error")
	}
}
