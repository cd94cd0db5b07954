package hostprep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestDefaultWrapper(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "hostprep")
	if got := DefaultWrapper(self); got != filepath.Join("_output", "tools", "kubenext-runc-wrapper") {
		t.Errorf("without a wrapper beside hostprep: %s", got)
	}
	beside := filepath.Join(dir, "kubenext-runc-wrapper")
	if err := os.WriteFile(beside, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := DefaultWrapper(self); got != beside {
		t.Errorf("with a wrapper beside hostprep: %s, want %s", got, beside)
	}
}

// guardHost answers the docker network inspections and reports every
// guard rule as absent, so that Add inserts them all.
func guardHost() *fakeHost {
	f := newFakeHost(map[string]string{"iptables": "/usr/sbin/iptables"}, nil)
	f.Script = map[string]exectest.Result{
		"docker network inspect kubenext --format {{range": ok("172.30.0.0/24\n"),
		"docker network inspect kubenext --format {{index": ok("br-kubenext 0123456789abcdef\n"),
		"docker network inspect wide --format {{range":     ok("10.0.0.0/4\n"),
		"iptables -w -S":  ok("-N DOCKER-USER\n-A DOCKER-USER -s 172.30.0.0/24 -m comment --comment kubenext:kn -j DROP\n"),
		"iptables -w -C":  fail(1, ""),
		"ip6tables -w -S": fail(3, "can't initialize ip6tables table `filter'"),
	}
	return f
}

func TestGuardAddFromNetwork(t *testing.T) {
	f := guardHost()
	var out bytes.Buffer
	tool := Tool{Cmd: f, LookPath: f.lookPath, Out: &out}
	if err := tool.GuardAdd(context.Background(), GuardAddOptions{Cluster: "kn", Network: "kubenext", Bridge: "ignored"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(f.Lines(), "\n")
	for _, want := range []string{
		"iptables -w -I DOCKER-USER 1 -s 172.30.0.0/24 -m comment --comment kubenext:kn -j DROP",
		// The network's bridge, not --bridge.
		"iptables -w -I DOCKER-USER 1 -s 172.30.0.0/24 -i br-kubenext -o br-kubenext -m comment --comment kubenext:kn -j RETURN",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("no %q in:\n%s", want, lines)
		}
	}
	if !strings.Contains(out.String(), "✓ Guarding 172.30.0.0/24 for cluster kn (") {
		t.Errorf("step line missing:\n%s", out.String())
	}
}

func TestGuardAddRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		o    GuardAddOptions
		want string
	}{
		"bad cluster":     {GuardAddOptions{Cluster: "Kn", Subnets: []string{"172.30.0.0/24"}}, "cluster name"},
		"broad subnet":    {GuardAddOptions{Cluster: "kn", Subnets: []string{"0.0.0.0/0"}}, "too broad"},
		"broad network":   {GuardAddOptions{Cluster: "kn", Network: "wide"}, "docker network wide: subnet 0.0.0.0/4 is too broad"},
		"missing network": {GuardAddOptions{Cluster: "kn", Network: "absent"}, "docker network absent"},
		"nothing":         {GuardAddOptions{Cluster: "kn"}, "no subnet"},
	} {
		f := guardHost()
		f.Script["docker network inspect absent"] = fail(1, "Error: No such network: absent")
		err := Tool{Cmd: f, LookPath: f.lookPath, Out: &bytes.Buffer{}}.GuardAdd(context.Background(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
		for _, l := range f.Lines() {
			if strings.Contains(l, " -I ") {
				t.Errorf("%s: inserted a rule: %s", name, l)
			}
		}
	}
}

func TestGuardRemove(t *testing.T) {
	f := guardHost()
	var out bytes.Buffer
	if err := (Tool{Cmd: f, LookPath: f.lookPath, Out: &out}).GuardRemove(context.Background(), "kn"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(f.Lines(), "\n"), "iptables -w -D DOCKER-USER -s 172.30.0.0/24 -m comment --comment kubenext:kn -j DROP") {
		t.Errorf("the DROP was not removed: %q", f.Lines())
	}
	if !strings.Contains(out.String(), "   1 rule(s) removed\n ✓ Removing guard for cluster kn (") {
		t.Errorf("output:\n%s", out.String())
	}
}
