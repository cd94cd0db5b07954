// Package hostprep prepares a Linux host to run kubenext clusters in Docker
// containers: it installs the packages later steps rely on (docker.io,
// debootstrap, iptables) and starts a Docker daemon that can run privileged
// containers even when the host's capability bounding set is short (through
// the runc wrapper, package runcwrapper). Its guard subcommands are the
// command line of package guard.
//
// Everything that decides something is pure or driven through small
// interfaces (exec.Cmder, Starter, fs.FS), so the unit tests need neither
// root, Docker nor a network.
package hostprep
