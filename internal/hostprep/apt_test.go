package hostprep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/steps"
)

const aptPrefix = "env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "

func TestAptEnsure(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy-rc.d")
	r := newFakeHost(map[string]string{"docker": "/usr/local/bin/docker"}, nil)
	var sawPolicy bool
	r.onRun = func(cmd string) {
		if strings.HasSuffix(cmd, "install -y docker.io") {
			_, err := os.Stat(policy)
			sawPolicy = err == nil
			r.paths["dockerd"] = "/usr/sbin/dockerd"
			r.paths["iptables"] = "/usr/sbin/iptables" // a dependency of docker.io
		}
		if strings.HasSuffix(cmd, "install -y debootstrap") {
			r.paths["debootstrap"] = "/usr/sbin/debootstrap"
		}
	}
	var out bytes.Buffer
	a := &Apt{Cmd: r, LookPath: r.lookPath, Steps: &steps.Steps{Out: &out}, PolicyRCD: policy}
	if err := a.Ensure(context.Background(), HostPackages); err != nil {
		t.Fatal(err)
	}
	want := []string{aptPrefix + "update", aptPrefix + "install -y docker.io", aptPrefix + "install -y debootstrap"}
	if strings.Join(r.Lines(), "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s", strings.Join(r.Lines(), "\n"))
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
	r.Calls = nil
	if err := a.Ensure(context.Background(), HostPackages); err != nil || len(r.Calls) != 0 {
		t.Fatalf("calls %v err %v", r.Lines(), err)
	}
}

func TestAptKeepsExistingPolicyAndReportsFailure(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy-rc.d")
	if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &exectest.Cmder{Script: map[string]exectest.Result{aptPrefix + "install -y debootstrap": fail(100, "E: Unable to locate package debootstrap")}}
	a := &Apt{Cmd: r, LookPath: newFakeHost(nil, nil).lookPath, Steps: &steps.Steps{Out: &bytes.Buffer{}}, PolicyRCD: policy}
	err := a.Ensure(context.Background(), []Package{{Name: "debootstrap", Binaries: []string{"debootstrap"}}})
	if err == nil || !strings.Contains(err.Error(), "Unable to locate") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(policy); err != nil {
		t.Fatal("removed the admin's policy-rc.d")
	}
}
