package hostprep

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"syscall"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// Starter starts a long-running background process.
type Starter interface {
	// Start runs path with args and extra environment, output appended to
	// logPath, detached from our session so it outlives us. exited receives
	// the process's end if it ends while we still run.
	Start(path string, args, env []string, logPath string) (pid int, exited <-chan error, err error)
}

// DetachedStarter is the real Starter.
type DetachedStarter struct{}

// Start implements Starter.
func (DetachedStarter) Start(path string, args, env []string, logPath string) (int, <-chan error, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer log.Close() // the child has its own copy
	// os/exec, not internal/exec: dockerd must outlive us in a session of
	// its own (Setsid) while we only start it and watch it exit, which an
	// exec.Cmd, run once to completion, does not model.
	cmd := osexec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = log
	cmd.Stderr = log
	// A new session: the daemon must survive the shell that ran hostprep
	// and its job control (a Ctrl-C there must not reach dockerd).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fmt.Fprintf(log, "\n=== %s: kubenext hostprep starting %s %v\n", time.Now().Format(time.RFC3339), path, args)
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd.Process.Pid, exited, nil
}

// WaitAnswering polls `docker version` until a server answers, the process
// behind exited ends, or ctx is done.
func WaitAnswering(ctx context.Context, host exec.Cmder, exited <-chan error, poll time.Duration) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if _, err := exec.Output(host.Command(ctx, "docker", "version", "--format", "{{.Server.Version}}")); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("dockerd exited before answering (%v); see %s", err, DockerdLog)
		case <-ctx.Done():
			return fmt.Errorf("dockerd did not answer on /var/run/docker.sock: %w; see %s", ctx.Err(), DockerdLog)
		case <-tick.C:
		}
	}
}
