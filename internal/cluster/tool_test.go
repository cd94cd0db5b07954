package cluster

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func validOptions() Options {
	return Options{Name: "kn", Network: "kn", Subnet: "172.30.0.0/24", Kind: "_output/tools/kind",
		Kubectl: "_output/bin/kubectl", StateDir: "/state", Workers: 1, GateOffWorkers: 1}
}

func TestOptionsCluster(t *testing.T) {
	facts := HostFacts{CgroupV1: true, CannotLowerOOMScore: true}
	c, err := validOptions().Cluster(facts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig != "/state/kn/kubeconfig" || c.StateDir != "/state/kn" || c.Subnet.String() != "172.30.0.0/24" {
		t.Errorf("paths and subnet: %+v", c)
	}
	if !filepath.IsAbs(c.Kind) || !filepath.IsAbs(c.Kubectl) {
		t.Errorf("kind and kubectl must be absolute: %s %s", c.Kind, c.Kubectl)
	}
	if c.Spec.Host != facts || !c.Gates["KeystoneContainers"] || c.PodSubnet != PodSubnet {
		t.Errorf("spec: %+v", c.Spec)
	}
	o := validOptions()
	o.Kubeconfig = "/k/config"
	if c, _ := o.Cluster(facts); c.Kubeconfig != "/k/config" {
		t.Errorf("--kubeconfig ignored: %s", c.Kubeconfig)
	}
}

func TestOptionsClusterRefuses(t *testing.T) {
	for want, change := range map[string]func(*Options){
		"cluster name":                   func(o *Options) { o.Name = "Kn" },
		"unrecognized feature gate":      func(o *Options) { o.Gates = "Nope=true" },
		"--workers=-1":                   func(o *Options) { o.Workers = -1 },
		"--gate-off-workers=-2":          func(o *Options) { o.GateOffWorkers = -2 },
		"--subnet: ":                     func(o *Options) { o.Subnet = "nonsense" },
		"too broad":                      func(o *Options) { o.Subnet = "0.0.0.0/0" },
		"is not a private range":         func(o *Options) { o.Subnet = "8.8.8.0/24" },
		"overlaps the cluster range 10.": func(o *Options) { o.Subnet = "10.96.0.0/24" },
	} {
		o := validOptions()
		change(&o)
		if _, err := o.Cluster(HostFacts{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
}

func TestDetectHost(t *testing.T) {
	short := fstest.MapFS{
		"proc/self/status":             {Data: []byte("CapBnd:\t000001fffeffffff\n")},
		"proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")},
	}
	// A temporary directory is not a cgroup2 mount.
	facts, err := DetectHost(t.TempDir(), short)
	if err != nil || !facts.CgroupV1 || !facts.CannotLowerOOMScore {
		t.Errorf("short host: %+v, %v", facts, err)
	}
	full := fstest.MapFS{"proc/self/status": {Data: []byte("CapBnd:\t000001ffffffffff\n")}, "proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")}}
	if facts, err := DetectHost(t.TempDir(), full); err != nil || facts.CannotLowerOOMScore {
		t.Errorf("full host: %+v, %v", facts, err)
	}
	if _, err := DetectHost(filepath.Join(t.TempDir(), "absent"), full); err == nil {
		t.Error("a missing cgroup mount must be an error")
	}
}
