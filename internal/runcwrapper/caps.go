package runcwrapper

import (
	"bufio"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// capNames maps capability numbers to the names OCI specs use. Neither
// github.com/moby/sys/capability nor github.com/syndtr/gocapability is in this
// module's graph, and adding a dependency for a 41-entry table is not worth it;
// the numbers are kernel ABI (include/uapi/linux/capability.h) and never change.
var capNames = [...]string{
	0:  "CAP_CHOWN",
	1:  "CAP_DAC_OVERRIDE",
	2:  "CAP_DAC_READ_SEARCH",
	3:  "CAP_FOWNER",
	4:  "CAP_FSETID",
	5:  "CAP_KILL",
	6:  "CAP_SETGID",
	7:  "CAP_SETUID",
	8:  "CAP_SETPCAP",
	9:  "CAP_LINUX_IMMUTABLE",
	10: "CAP_NET_BIND_SERVICE",
	11: "CAP_NET_BROADCAST",
	12: "CAP_NET_ADMIN",
	13: "CAP_NET_RAW",
	14: "CAP_IPC_LOCK",
	15: "CAP_IPC_OWNER",
	16: "CAP_SYS_MODULE",
	17: "CAP_SYS_RAWIO",
	18: "CAP_SYS_CHROOT",
	19: "CAP_SYS_PTRACE",
	20: "CAP_SYS_PACCT",
	21: "CAP_SYS_ADMIN",
	22: "CAP_SYS_BOOT",
	23: "CAP_SYS_NICE",
	24: "CAP_SYS_RESOURCE",
	25: "CAP_SYS_TIME",
	26: "CAP_SYS_TTY_CONFIG",
	27: "CAP_MKNOD",
	28: "CAP_LEASE",
	29: "CAP_AUDIT_WRITE",
	30: "CAP_AUDIT_CONTROL",
	31: "CAP_SETFCAP",
	32: "CAP_MAC_OVERRIDE",
	33: "CAP_MAC_ADMIN",
	34: "CAP_SYSLOG",
	35: "CAP_WAKE_ALARM",
	36: "CAP_BLOCK_SUSPEND",
	37: "CAP_AUDIT_READ",
	38: "CAP_PERFMON",
	39: "CAP_BPF",
	40: "CAP_CHECKPOINT_RESTORE",
}

// CapName returns the OCI name of capability number n, or "" if unknown.
func CapName(n int) string {
	if n < 0 || n >= len(capNames) {
		return ""
	}
	return capNames[n]
}

// CapNumber returns the number of a capability name ("CAP_SYS_RESOURCE",
// "sys_resource", any case), or -1 when the name is unknown.
func CapNumber(name string) int {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, c := range capNames {
		if c == n {
			return i
		}
	}
	return -1
}

// ParseCapBnd returns the CapBnd mask from the text of /proc/<pid>/status.
func ParseCapBnd(status string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "CapBnd" {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing CapBnd %q: %w", strings.TrimSpace(val), err)
		}
		return mask, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no CapBnd line in status")
}

// MissingCaps lists the names of capabilities 0..lastCap that are not in the
// bounding set bnd. Only capabilities the running kernel knows (up to
// /proc/sys/kernel/cap_last_cap) count: a newer name the kernel lacks is not
// "missing" from this host, and counting it would make hosts with a full
// bounding set look broken.
func MissingCaps(bnd uint64, lastCap int) []string {
	var missing []string
	for n := 0; n <= lastCap && n < 64; n++ {
		if bnd&(1<<uint(n)) != 0 {
			continue
		}
		name := CapName(n)
		if name == "" {
			name = fmt.Sprintf("CAP_%d", n)
		}
		missing = append(missing, name)
	}
	return missing
}

// HostCaps reads the bounding set and the kernel's last capability through
// fsys (rooted at "/", so tests can use fstest.MapFS) and returns what is
// missing for the calling process.
func HostCaps(fsys fs.FS) (missing []string, err error) {
	status, err := fs.ReadFile(fsys, "proc/self/status")
	if err != nil {
		return nil, err
	}
	bnd, err := ParseCapBnd(string(status))
	if err != nil {
		return nil, err
	}
	return MissingCaps(bnd, lastCap(fsys)), nil
}

// lastCap reads /proc/sys/kernel/cap_last_cap. Without it (very old kernels)
// the table's end is the best guess.
func lastCap(fsys fs.FS) int {
	b, err := fs.ReadFile(fsys, "proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return len(capNames) - 1
}

// DropSet turns a list of missing capability names into the predicate the
// OCI filters use. Names are compared by capability number, so "CAP_X" and
// "cap_x" agree; names this table does not know are never dropped, because we
// cannot tell whether the host lacks them and runc reports those itself.
func DropSet(missing []string) func(string) bool {
	set := map[int]bool{}
	for _, m := range missing {
		if n := CapNumber(m); n >= 0 {
			set[n] = true
		}
	}
	return func(name string) bool {
		n := CapNumber(name)
		return n >= 0 && set[n]
	}
}
