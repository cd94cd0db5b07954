// Package hostprep prepares a Linux host to run kubenext clusters in Docker
// containers: it installs the packages later steps rely on (docker.io,
// debootstrap, iptables), starts a Docker daemon that can run privileged
// containers even when the host's capability bounding set is short, and keeps
// cluster traffic on the machine with DOCKER-USER iptables rules.
//
// Everything that decides something is pure and driven through small
// interfaces (Runner, Starter, fs.FS), so the unit tests need neither root,
// Docker nor a network.
package hostprep
