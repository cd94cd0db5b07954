// Package runcwrapper is kubenext-runc-wrapper, the OCI runtime Docker uses
// in place of runc on hosts whose capability bounding set is short
// (Firecracker VMs lack CAP_SYS_RESOURCE). For a privileged container Docker
// asks for every capability it knows, and runc fails with "unable to apply
// caps: operation not permitted" when one is outside its own bounding set.
// The wrapper removes exactly those capabilities from the bundle's
// config.json (create, run, restore) or from the --process file (exec), then
// execs the real runc with the same arguments. On a host with every
// capability it execs runc without reading or writing anything.
//
// The capability table and the bounding-set reading live here too: hostprep
// asks the same question (does this host need the wrapper?) and the cluster
// tool asks what the wrapper will drop.
package runcwrapper

const (
	// RuntimeName is the name the wrapper is registered under in dockerd.
	RuntimeName = "kubenext-runc"
	// RealRuncEnv tells the wrapper which runc to exec. dockerd passes its
	// environment down through containerd and the shim to the runtime.
	RealRuncEnv = "KUBENEXT_REAL_RUNC"
)
