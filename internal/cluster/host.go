package cluster

import (
	"golang.org/x/sys/unix"
)

// HostFacts are the properties of this machine that change how nodes must
// be configured. They are detected, never assumed.
type HostFacts struct {
	// CgroupV1 is true on hosts whose /sys/fs/cgroup is not a cgroup2
	// mount. Kubernetes 1.35+ kubelets refuse v1 unless failCgroupV1=false.
	CgroupV1 bool
	// CannotLowerOOMScore is true when the bounding set lacks
	// CAP_SYS_RESOURCE: runc then cannot apply the negative oom_score_adj
	// that the kubelet asks for critical pods, so containerd must be told
	// to restrict it (restrict_oom_score_adj).
	CannotLowerOOMScore bool
}

// IsCgroupV1 reports whether the cgroup mount at path is not cgroup v2.
func IsCgroupV1(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false, err
	}
	return st.Type != unix.CGROUP2_SUPER_MAGIC, nil
}
