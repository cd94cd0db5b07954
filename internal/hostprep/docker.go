package hostprep

import (
	"context"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/runcwrapper"
)

const (
	// PidFile is where the dockerd we start records its pid (dockerd writes
	// it itself through --pidfile). Its presence, naming a live dockerd, is
	// what makes a daemon "ours": the only daemon we may stop or reconfigure.
	PidFile = "/var/run/kubenext-dockerd.pid"
	// DockerdLog collects the output of the dockerd we start; with no
	// systemd there is no journal to look in.
	DockerdLog = "/var/log/kubenext-dockerd.log"
)

// DaemonState is what we know about the Docker daemon on this host.
type DaemonState struct {
	// Answering is true when `docker version` reaches a server.
	Answering      bool
	ServerVersion  string
	DefaultRuntime string
	// OursPID is the pid in PidFile when it names a live dockerd.
	OursPID int
	// OtherPIDs are live dockerd processes that are not ours.
	OtherPIDs []int
}

// Ours reports whether the daemon was started by hostprep.
func (s DaemonState) Ours() bool { return s.OursPID > 0 }

// InspectDaemon collects DaemonState. fsys is rooted at "/".
func InspectDaemon(ctx context.Context, host exec.Cmder, fsys fs.FS) DaemonState {
	var st DaemonState
	if out, err := exec.Output(host.Command(ctx, "docker", "version", "--format", "{{.Server.Version}}")); err == nil {
		st.Answering = true
		st.ServerVersion = strings.TrimSpace(string(out))
		if out, err := exec.Output(host.Command(ctx, "docker", "info", "--format", "{{.DefaultRuntime}}")); err == nil {
			st.DefaultRuntime = strings.TrimSpace(string(out))
		}
	}
	ours := ReadPidFile(fsys)
	if ours > 0 && processName(fsys, ours) == "dockerd" {
		st.OursPID = ours
	}
	for _, pid := range processesNamed(fsys, "dockerd") {
		if pid != st.OursPID {
			st.OtherPIDs = append(st.OtherPIDs, pid)
		}
	}
	return st
}

// ReadPidFile returns the pid recorded in PidFile, or 0.
func ReadPidFile(fsys fs.FS) int {
	b, err := fs.ReadFile(fsys, strings.TrimPrefix(PidFile, "/"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func processName(fsys fs.FS, pid int) string {
	b, err := fs.ReadFile(fsys, "proc/"+strconv.Itoa(pid)+"/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// processesNamed scans /proc: a dockerd that is starting (or stuck) does not
// answer yet, and starting a second one next to it would fight over
// /var/run/docker.sock and containerd's state.
func processesNamed(fsys fs.FS, name string) []int {
	entries, err := fs.ReadDir(fsys, "proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if processName(fsys, pid) == name {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// Action is what EnsureDocker does about the daemon.
type Action int

const (
	// UseRunning: a daemon answers; use it (after checking privileged runs).
	UseRunning Action = iota
	// WaitForOurs: our dockerd is alive but not answering yet.
	WaitForOurs
	// StartOurs: no daemon at all; start one.
	StartOurs
	// RefuseForeign: someone else's dockerd is alive but not answering; we
	// must neither start a second daemon nor touch theirs.
	RefuseForeign
)

// Decide picks the Action for a DaemonState.
func Decide(st DaemonState) Action {
	switch {
	case st.Answering:
		return UseRunning
	case st.Ours():
		return WaitForOurs
	case len(st.OtherPIDs) > 0:
		return RefuseForeign
	default:
		return StartOurs
	}
}

// DockerdArgs returns dockerd's arguments. wrapper is the absolute path of
// the runc wrapper, or "" to run dockerd plain: on hosts with every
// capability the wrapper would only be an extra exec, and a plain daemon is
// what users expect to find.
func DockerdArgs(wrapper string) []string {
	args := []string{"--pidfile", PidFile}
	if wrapper != "" {
		args = append(args, "--add-runtime", runcwrapper.RuntimeName+"="+wrapper, "--default-runtime", runcwrapper.RuntimeName)
	}
	return args
}
