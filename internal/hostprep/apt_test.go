package hostprep

import (
	"bytes"
	"context"
	"github.com/kubenext/kubenext/internal/steps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const aptPrefix = "env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "

func TestAptEnsure(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy-rc.d")
	r := &fakeRunner{paths: map[string]string{"docker": "/usr/local/bin/docker"}}
	var sawPolicy bool
	r.handler = func(cmd string) (string, int, bool) {
		if strings.HasSuffix(cmd, "install -y docker.io") {
			_, err := os.Stat(policy)
			sawPolicy = err == nil
			r.paths["dockerd"] = "/usr/sbin/dockerd"
			r.paths["iptables"] = "/usr/sbin/iptables" // a dependency of docker.io
		}
		if strings.HasSuffix(cmd, "install -y debootstrap") {
			r.paths["debootstrap"] = "/usr/sbin/debootstrap"
		}
		return "", 0, false
	}
	var out bytes.Buffer
	a := &Apt{Run: r, Steps: &steps.Steps{Out: &out}, PolicyRCD: policy}
	if err := a.Ensure(context.Background(), HostPackages); err != nil {
		t.Fatal(err)
	}
	want := []string{aptPrefix + "update", aptPrefix + "install -y docker.io", aptPrefix + "install -y debootstrap"}
	if strings.Join(r.calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s", strings.Join(r.calls, "\n"))
	}
	if !sawPolicy {
		t.Fatal("services were not blocked during install")
	}
	if _, err := os.Stat(policy); !os.IsNotExist(err) {
		t.Fatal("policy-rc.d left behind")
	}
	if !strings.Contains(out.String(), "✓ Installing docker.io (") {
		t.Fatalf("output:\n%s", out.String())
	}

	// Everything present now: no apt at all.
	r.calls = nil
	if err := a.Ensure(context.Background(), HostPackages); err != nil || len(r.calls) != 0 {
		t.Fatalf("calls %v err %v", r.calls, err)
	}
}

func TestAptKeepsExistingPolicyAndReportsFailure(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy-rc.d")
	if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{replies: map[string][]reply{aptPrefix + "install -y debootstrap": {{out: "E: Unable to locate package debootstrap", code: 100}}}}
	a := &Apt{Run: r, Steps: &steps.Steps{Out: &bytes.Buffer{}}, PolicyRCD: policy}
	err := a.Ensure(context.Background(), []Package{{Name: "debootstrap", Binaries: []string{"debootstrap"}}})
	if err == nil || !strings.Contains(err.Error(), "Unable to locate") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(policy); err != nil {
		t.Fatal("removed the admin's policy-rc.d")
	}
}
