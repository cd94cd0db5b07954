// Package plegbench holds the arithmetic and parsing of make bench-pleg:
// the kubelet's CPU time from /proc and exit-to-status latencies from
// /proc/uptime stamps, and the run itself (Run), which hack/bench/pleg
// calls with its flags.
package plegbench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseUptime reads the first field of /proc/uptime (seconds since boot,
// CLOCK_BOOTTIME). Containers and the host share the kernel, so a stamp a
// container writes and one the host reads are on the same clock.
func ParseUptime(s string) (time.Duration, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("empty /proc/uptime text")
	}
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/uptime %q: %w", s, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// ProcessCPU returns utime+stime of a /proc/<pid>/stat line, in seconds,
// given the clock ticks per second (getconf CLK_TCK, 100 on Linux).
func ProcessCPU(stat string, ticksPerSecond int) (float64, error) {
	// The command name (field 2) may hold spaces; fields after it are
	// counted from the closing parenthesis.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("not a /proc/<pid>/stat line: %q", stat)
	}
	rest := strings.Fields(stat[end+1:])
	// rest[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(rest) < 13 {
		return 0, fmt.Errorf("/proc/<pid>/stat has %d fields after the name, want at least 13", len(rest))
	}
	utime, err1 := strconv.ParseUint(rest[11], 10, 64)
	stime, err2 := strconv.ParseUint(rest[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("utime/stime in %q: %v %v", stat, err1, err2)
	}
	return float64(utime+stime) / float64(ticksPerSecond), nil
}
