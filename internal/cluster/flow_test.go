package cluster

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/steps"
)

// hostWithGuard answers a create on a host where the network is absent,
// iptables takes every rule and then lists guard.
func hostWithGuard(listing string) *exectest.Cmder {
	return &exectest.Cmder{Script: map[string]exectest.Result{
		inspectSubnets:   {ExitCode: 1, Stderr: "Error: No such network: kn"},
		"iptables -w -S": {Stdout: listing},
		"iptables -w -C": {ExitCode: 1},
		"docker ps --filter label=io.x-k8s.kind.cluster=kn":                       {Stdout: "kn-control-plane\n"},
		"docker exec kn-control-plane ip -4 route show type blackhole":            {Stdout: "blackhole 10.244.0.0/16\n"},
		"docker exec kn-control-plane ip -4 route show table 4096 type blackhole": {Stdout: "blackhole 10.96.0.0/16\n"},
		"docker exec kn-control-plane ip -4 rule show":                            {Stdout: "4001:\tfrom all to 10.96.0.0/16 lookup 4096\n"},
		"/k --kubeconfig /s/kubeconfig -n kube-system get configmap coredns":      {Stdout: kubeadmCorefile},
	}}
}

const guarded = "-N DOCKER-USER\n-A DOCKER-USER -s 172.30.0.0/24 -m comment --comment kubenext:kn -j DROP\n"

func testCluster(t *testing.T, host *exectest.Cmder, out *bytes.Buffer) *Cluster {
	return &Cluster{
		Spec:    Spec{Name: "kn", Workers: 1, Gates: DefaultGates(), PodSubnet: PodSubnet, ServiceSubnet: ServiceSubnet, NodeImage: "kubenext/node:x"},
		Network: "kn", Subnet: netip.MustParsePrefix("172.30.0.0/24"),
		Kind: "/kind", Kubectl: "/k", Kubeconfig: "/s/kubeconfig", StateDir: t.TempDir(),
		Cmd: host, Steps: &steps.Steps{Out: out},
		LookPath: func(file string) (string, error) {
			if file == "iptables" {
				return "/usr/sbin/iptables", nil
			}
			return "", errors.New("not found")
		},
	}
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func TestCreateGuardsBeforeAnyNodeStarts(t *testing.T) {
	host := hostWithGuard(guarded)
	var out bytes.Buffer
	if err := testCluster(t, host, &out).Create(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := host.Lines()
	network, drop, kind := indexOf(lines, "docker network create"), indexOf(lines, "iptables -w -I DOCKER-USER 1 -s 172.30.0.0/24 -m comment --comment kubenext:kn -j DROP"), indexOf(lines, "/kind create cluster")
	if network < 0 || drop < network || kind < drop {
		t.Fatalf("want network, then DROP, then kind; got network %d, drop %d, kind %d:\n%s", network, drop, kind, strings.Join(lines, "\n"))
	}
	if env := host.Calls[kind].Env; len(env) != 1 || env[0] != "KIND_EXPERIMENTAL_DOCKER_NETWORK=kn" {
		t.Errorf("kind must join the guarded network: env %q", env)
	}
	patch := lines[indexOf(lines, "/k --kubeconfig /s/kubeconfig -n kube-system patch configmap coredns")]
	if strings.Contains(patch, "forward") || !strings.Contains(patch, "kubernetes cluster.local") {
		t.Errorf("CoreDNS patch must drop only forward: %s", patch)
	}
	for _, step := range []string{"✓ Preparing docker network kn (172.30.0.0/24)", "✓ Dropping cluster traffic bound off this machine", "✓ Checking blackhole routes on every node", "✓ Waiting for nodes and system pods to be Ready"} {
		if !strings.Contains(out.String(), step) {
			t.Errorf("no step %q in:\n%s", step, out.String())
		}
	}
}

func TestCreateStopsWithoutTheDrop(t *testing.T) {
	// iptables accepted the inserts but lists no DROP for the subnet.
	host := hostWithGuard(strings.Replace(guarded, "172.30.0.0/24", "172.31.0.0/24", 1))
	var out bytes.Buffer
	err := testCluster(t, host, &out).Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing to start nodes") {
		t.Fatalf("got %v", err)
	}
	if indexOf(host.Lines(), "/kind") >= 0 {
		t.Error("kind ran without a guard")
	}
}

func TestCreateStopsOnAnUnguardedNode(t *testing.T) {
	host := hostWithGuard(guarded)
	host.Script["docker exec kn-control-plane ip -4 route show type blackhole"] = exectest.Result{}
	err := testCluster(t, host, &bytes.Buffer{}).Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "node kn-control-plane: missing blackhole 10.244.0.0/16") {
		t.Fatalf("got %v", err)
	}
	if indexOf(host.Lines(), "/k ") >= 0 {
		t.Error("went on after a node without blackholes")
	}
}

func TestDeleteThawsThenRemovesGuardLast(t *testing.T) {
	host := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker ps --filter label=io.x-k8s.kind.cluster=kn": {Stdout: "kn-control-plane\n"},
		"docker inspect --format {{.Id}} kn-control-plane":  {Stdout: "abc\n"},
		"docker network inspect kn --format {{len":          {Stdout: "0\n"},
		"iptables -w -S": {Stdout: guarded},
	}}
	var out bytes.Buffer
	if err := testCluster(t, host, &out).Delete(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := host.Lines()
	thaw, kind, rm, guard := indexOf(lines, "docker inspect"), indexOf(lines, "/kind delete cluster --name kn"), indexOf(lines, "docker network rm kn"), indexOf(lines, "iptables -w -D DOCKER-USER")
	if thaw < 0 || kind < thaw || rm < kind || guard < rm {
		t.Fatalf("want thaw, kind delete, network rm, guard removal in that order:\n%s", strings.Join(lines, "\n"))
	}
}

// On a fresh machine Docker has not been started yet: the removal that
// .ci/run does first must still succeed and still take the guard away.
func TestDeleteWithDockerDownRemovesOnlyTheGuard(t *testing.T) {
	host := &exectest.Cmder{Script: map[string]exectest.Result{
		"docker version": {ExitCode: 1, Stderr: "Cannot connect to the Docker daemon"},
		"docker":         {ExitCode: 1, Stderr: "Cannot connect to the Docker daemon"},
		"iptables -w -S": {Stdout: guarded},
	}}
	var out bytes.Buffer
	if err := testCluster(t, host, &out).Delete(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := host.Lines()
	if indexOf(lines, "/kind delete") >= 0 || indexOf(lines, "docker network rm") >= 0 {
		t.Errorf("ran Docker removals with Docker down:\n%s", strings.Join(lines, "\n"))
	}
	if indexOf(lines, "iptables -w -D DOCKER-USER") < 0 {
		t.Errorf("guard not removed:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(out.String(), "Docker is not running") {
		t.Errorf("output does not say why nothing was deleted:\n%s", out.String())
	}
}
