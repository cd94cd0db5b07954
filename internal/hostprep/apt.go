package hostprep

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/steps"
)

// Package is a Debian package and the executables that show it is usable.
// Presence is judged by the executables, not by dpkg: a host with Docker from
// docker-ce (or a static binary in /usr/local/bin) must not get docker.io
// installed over it.
type Package struct {
	Name     string
	Binaries []string
}

// HostPackages are what the kubenext host steps need: docker.io for the
// daemon, debootstrap for building node root filesystems, iptables for the
// network guard.
var HostPackages = []Package{
	{Name: "docker.io", Binaries: []string{"dockerd", "docker"}},
	{Name: "debootstrap", Binaries: []string{"debootstrap"}},
	{Name: "iptables", Binaries: []string{"iptables"}},
}

// Apt installs missing packages with apt-get.
type Apt struct {
	// Cmd runs apt-get; exec.Host when nil.
	Cmd exec.Cmder
	// LookPath finds executables; exec.LookPath when nil.
	LookPath func(file string) (string, error)
	Steps    *steps.Steps
	// PolicyRCD is /usr/sbin/policy-rc.d; a field so tests can point it at a
	// temporary directory.
	PolicyRCD string

	updated bool
}

func (a *Apt) apt(ctx context.Context, args ...string) error {
	cmd := a.Cmd
	if cmd == nil {
		cmd = exec.Host
	}
	_, err := exec.CombinedOutput(cmd.Command(ctx, "env", aptArgs(args...)...))
	return err
}

func (a *Apt) lookPath(file string) (string, error) {
	if a.LookPath == nil {
		return exec.LookPath(file)
	}
	return a.LookPath(file)
}

// Missing returns the packages with at least one executable not on PATH.
func (a *Apt) Missing(pkgs []Package) []Package {
	var out []Package
	for _, p := range pkgs {
		for _, b := range p.Binaries {
			if _, err := a.lookPath(b); err != nil {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Ensure installs every package of pkgs that is missing, one step each,
// after a single apt-get update: the package lists on a fresh host are often
// absent or stale, and one update is enough for all installs.
func (a *Apt) Ensure(ctx context.Context, pkgs []Package) error {
	missing := a.Missing(pkgs)
	if len(missing) == 0 {
		return nil
	}
	restore, err := a.blockServiceStarts()
	if err != nil {
		return err
	}
	defer restore()
	if !a.updated {
		if err := a.Steps.Run("Updating apt package lists", func() error {
			return a.apt(ctx, "update")
		}); err != nil {
			return err
		}
		a.updated = true
	}
	for _, p := range missing {
		// An earlier install may have brought it in (docker.io depends on
		// iptables); an apt-get that installs nothing is noise in the log.
		if len(a.Missing([]Package{p})) == 0 {
			continue
		}
		if err := a.Steps.Run("Installing "+p.Name, func() error {
			if err := a.apt(ctx, "install", "-y", p.Name); err != nil {
				return err
			}
			if still := a.Missing([]Package{p}); len(still) > 0 {
				return fmt.Errorf("%s installed but %v still not on PATH", p.Name, p.Binaries)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// aptArgs builds the arguments for `env`: noninteractive so debconf never
// waits for a terminal, and a lock timeout so a concurrent apt run (unattended
// upgrades, another shell) delays us instead of failing us.
func aptArgs(args ...string) []string {
	return append([]string{"DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-o", "DPkg::Lock::Timeout=300"}, args...)
}

// policyRCD refuses every service start (exit 101 is "action forbidden").
const policyRCD = "#!/bin/sh\n# Written by kubenext hostprep for the duration of an apt-get install.\nexit 101\n"

// blockServiceStarts makes sure package scripts do not start services while
// we install. Without it, docker.io's postinst starts a plain dockerd through
// its init script; that daemon would not be ours, so we would have to refuse
// to touch it, and it cannot run privileged containers on hosts with a short
// capability bounding set. An existing policy-rc.d is the admin's and is left
// alone.
func (a *Apt) blockServiceStarts() (restore func(), err error) {
	if a.PolicyRCD == "" {
		return func() {}, nil
	}
	if _, err := os.Stat(a.PolicyRCD); err == nil {
		return func() {}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.WriteFile(a.PolicyRCD, []byte(policyRCD), 0o755); err != nil {
		return nil, err
	}
	return func() { os.Remove(a.PolicyRCD) }, nil
}
