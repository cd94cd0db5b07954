package cluster

import (
	"strings"
	"testing"
)

const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}`

func TestWithoutForward(t *testing.T) {
	got, changed := WithoutForward(kubeadmCorefile)
	if !changed || strings.Contains(got, "forward") || strings.Contains(got, "max_concurrent") {
		t.Fatalf("forward block not removed:\n%s", got)
	}
	for _, keep := range []string{"kubernetes cluster.local", "cache 30 {", "disable denial cluster.local\n    }", "loadbalance\n}"} {
		if !strings.Contains(got, keep) {
			t.Errorf("lost %q:\n%s", keep, got)
		}
	}
	if again, changed := WithoutForward(got); changed || again != got {
		t.Error("a Corefile without forward must be left alone")
	}
	oneLine, changed := WithoutForward(".:53 {\n    forward . 8.8.8.8\n    cache\n}")
	if !changed || oneLine != ".:53 {\n    cache\n}" {
		t.Errorf("single-line forward: %q", oneLine)
	}
}

func TestCheckNodeBlackholes(t *testing.T) {
	node := map[string]string{
		"ip -4 route show type blackhole":            "blackhole 10.244.0.0/16 proto 110 \n",
		"ip -4 route show table 4096 type blackhole": "blackhole 10.96.0.0/16 \n",
		"ip -4 rule show":                            "0:\tfrom all lookup local\n4000:\tfrom all to 10.96.0.0/16 iif lo lookup main\n4001:\tfrom all to 10.96.0.0/16 lookup 4096\n32766:\tfrom all lookup main\n",
	}
	run := func(args ...string) (string, error) { return node[strings.Join(args, " ")], nil }
	if err := CheckNodeBlackholes(run); err != nil {
		t.Fatalf("a guarded node was refused: %v", err)
	}
	for cmd, want := range map[string]string{
		"ip -4 route show type blackhole":            "blackhole 10.244.0.0/16 in the main table",
		"ip -4 route show table 4096 type blackhole": "blackhole 10.96.0.0/16 in table 4096",
		"ip -4 rule show":                            "lookup 4096",
	} {
		saved := node[cmd]
		node[cmd] = "blackhole 10.244.0.0/24\n" // narrower than the range: does not cover it
		err := CheckNodeBlackholes(run)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without %q: got %v, want an error naming %q", cmd, err, want)
		}
		node[cmd] = saved
	}
}

func TestResolveGates(t *testing.T) {
	gates, err := ResolveGates("")
	if err != nil || !gates["KeystoneContainers"] || !gates["ContainerRestartRuleTerminatePod"] || !gates["EventedPLEG"] {
		t.Fatalf("defaults: %v, %v", gates, err)
	}
	gates, err = ResolveGates("EventedPLEG=false, InPlacePodVerticalScaling=true")
	if err != nil || gates["EventedPLEG"] || !gates["KeystoneContainers"] {
		t.Errorf("override: %v, %v", gates, err)
	}
	if FormatGates(gates) != "CELAdmissionCache=false,ContainerRestartRuleTerminatePod=true,EventedPLEG=false,InPlacePodVerticalScaling=true,KeystoneContainers=true,NodeLogQueryInProcess=true" {
		t.Errorf("FormatGates = %s", FormatGates(gates))
	}
	for spec, want := range map[string]string{
		"KeystoneContainer=true":          "unrecognized feature gate: KeystoneContainer",
		"EventedPLEG":                     "write Name=true or Name=false",
		"EventedPLEG=yes":                 "is not true or false",
		"InPlacePodVerticalScaling=false": "locked to true",
		// TerminatePod is an action of upstream's restart rules.
		"ContainerRestartRules=false": "depends on features that are disabled",
	} {
		if _, err := ResolveGates(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveGates(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}

func TestKindConfig(t *testing.T) {
	spec := Spec{Name: "kubenext", Workers: 2, Gates: map[string]bool{"KeystoneContainers": true},
		PodSubnet: PodSubnet, ServiceSubnet: ServiceSubnet}
	v2, err := KindConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := string(v2)
	for _, want := range []string{"role: control-plane", "featureGates:\n  KeystoneContainers: true", "enableSystemLogQuery: true", "podSubnet: 10.244.0.0/16"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "role: worker") != 2 {
		t.Errorf("want 2 workers:\n%s", got)
	}
	if strings.Contains(got, "failCgroupV1") || strings.Contains(got, "restrict_oom_score_adj") {
		t.Errorf("cgroup v2 host with all capabilities needs no workarounds:\n%s", got)
	}

	spec.Host = HostFacts{CgroupV1: true, CannotLowerOOMScore: true}
	v1, err := KindConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"failCgroupV1: false", "restrict_oom_score_adj = true"} {
		if !strings.Contains(string(v1), want) {
			t.Errorf("cgroup v1 host config lacks %q:\n%s", want, v1)
		}
	}
	if _, err := KindConfig(Spec{Workers: -1}); err == nil {
		t.Error("negative workers must be refused")
	}
}
