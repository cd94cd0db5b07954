package hostprep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/runcwrapper"
	"github.com/kubenext/kubenext/internal/steps"
)

// DockerConfig wires EnsureDocker to the host (or to fakes).
type DockerConfig struct {
	// Cmd runs docker on this host.
	Cmd exec.Cmder
	// LookPath finds dockerd and runc; exec.LookPath when nil.
	LookPath func(file string) (string, error)
	FS       fs.FS // rooted at "/"
	Start    Starter
	Steps    *steps.Steps
	Apt      *Apt
	// Wrapper is the runc wrapper binary; needed only when capabilities
	// are missing.
	Wrapper string
	// ProbeBinary is a static binary that exits 0 when run as
	// `/probe ProbeArgs...`; it becomes the privileged-check image.
	ProbeBinary string
	ProbeArgs   []string
	// StartTimeout bounds the wait for a dockerd to answer.
	StartTimeout time.Duration
	// Poll is the interval between `docker version` attempts.
	Poll time.Duration
	// Remove deletes a file (a stale PidFile); os.Remove when nil.
	Remove func(string) error
	// WrapperInstallPath, when set, is where Wrapper is copied before
	// dockerd is pointed at it: a daemon that outlives the checkout it was
	// started from (a clone deleted after its CI run) keeps its runtime.
	WrapperInstallPath string
	// Signal sends a signal to a process (our stale dockerd);
	// syscall.Kill when nil.
	Signal func(pid int, sig syscall.Signal) error
}

// InstalledWrapper is where the runc wrapper is installed for dockerd.
const InstalledWrapper = "/usr/local/libexec/kubenext/kubenext-runc-wrapper"

// EnsureDocker makes sure a Docker daemon answers and can run privileged
// containers, installing packages and starting our own dockerd as needed. It
// never stops or reconfigures a daemon it did not start.
func EnsureDocker(ctx context.Context, c DockerConfig) error {
	var missing []string
	if err := c.Steps.Run("Checking host capabilities", func() error {
		var err error
		missing, err = runcwrapper.HostCaps(c.FS)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			c.Steps.Note("bounding set lacks %s: privileged containers need the %s runtime wrapper", strings.Join(missing, ", "), runcwrapper.RuntimeName)
		} else {
			c.Steps.Note("bounding set is complete: dockerd can run plain")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.Apt.Ensure(ctx, HostPackages); err != nil {
		return err
	}

	if len(missing) > 0 && c.Wrapper != "" && c.WrapperInstallPath != "" {
		if err := installFile(c.Wrapper, c.WrapperInstallPath); err != nil {
			return fmt.Errorf("installing the runc wrapper: %w", err)
		}
		c.Wrapper = c.WrapperInstallPath
	}

	st := InspectDaemon(ctx, c.Cmd, c.FS)
	if st.Answering && st.Ours() && len(missing) > 0 {
		if gone := c.missingRuntime(ctx); gone != "" {
			if err := c.Steps.Run(fmt.Sprintf("Stopping our dockerd (pid %d): its runtime %s is gone", st.OursPID, gone), func() error {
				return c.stopOurs(ctx, st.OursPID)
			}); err != nil {
				return err
			}
			st = InspectDaemon(ctx, c.Cmd, c.FS)
		}
	}
	switch Decide(st) {
	case RefuseForeign:
		return fmt.Errorf("dockerd is running (pid %v) but does not answer on /var/run/docker.sock, and it was not started by hostprep; "+
			"not starting a second daemon or touching that one: fix or stop it, then run hostprep docker again", st.OtherPIDs)
	case WaitForOurs:
		if err := c.Steps.Run(fmt.Sprintf("Waiting for dockerd (ours, pid %d)", st.OursPID), func() error {
			return c.wait(ctx, nil)
		}); err != nil {
			return err
		}
	case StartOurs:
		if err := c.startDockerd(ctx, missing); err != nil {
			return err
		}
	case UseRunning:
		who := "not started by hostprep: it will not be changed"
		if st.Ours() {
			who = fmt.Sprintf("ours, pid %d", st.OursPID)
		}
		c.Steps.Note("Docker %s already running (%s), default runtime %q", st.ServerVersion, who, st.DefaultRuntime)
	}
	st = InspectDaemon(ctx, c.Cmd, c.FS)
	return c.checkPrivileged(ctx, st, missing)
}

func (c DockerConfig) lookPath(file string) (string, error) {
	if c.LookPath == nil {
		return exec.LookPath(file)
	}
	return c.LookPath(file)
}

func (c DockerConfig) startDockerd(ctx context.Context, missing []string) error {
	wrapper := ""
	var env []string
	if len(missing) > 0 {
		var err error
		if wrapper, err = c.wrapperPath(); err != nil {
			return err
		}
		// Naming the real runc explicitly keeps the wrapper from depending
		// on the PATH that containerd and the shim happen to pass down.
		runc, err := c.lookPath("runc")
		if err != nil {
			return fmt.Errorf("runc not found: %w", err)
		}
		env = append(env, runcwrapper.RealRuncEnv+"="+runc)
	}
	dockerd, err := c.lookPath("dockerd")
	if err != nil {
		return err
	}
	// A pid file left by a dockerd that died makes the next one refuse to
	// start when its pid has been reused; Decide already established that
	// it names no live dockerd, and the file is ours.
	if ReadPidFile(c.FS) > 0 {
		remove := c.Remove
		if remove == nil {
			remove = os.Remove
		}
		if err := remove(PidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	title := "Starting dockerd"
	if wrapper != "" {
		title += " with runtime " + runcwrapper.RuntimeName
	}
	return c.Steps.Run(title, func() error {
		pid, exited, err := c.Start.Start(dockerd, DockerdArgs(wrapper), env, DockerdLog)
		if err != nil {
			return err
		}
		c.Steps.Note("pid %d, log %s", pid, DockerdLog)
		return c.wait(ctx, exited)
	})
}

func (c DockerConfig) wait(ctx context.Context, exited <-chan error) error {
	timeout, poll := c.StartTimeout, c.Poll
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	if poll == 0 {
		poll = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return WaitAnswering(ctx, c.Cmd, exited, poll)
}

// missingRuntime is the path of our runtime in the running daemon when
// that file no longer exists, or "".
func (c DockerConfig) missingRuntime(ctx context.Context) string {
	out, err := exec.Output(c.Cmd.Command(ctx, "docker", "info", "--format",
		`{{with index .Runtimes "`+runcwrapper.RuntimeName+`"}}{{.Path}}{{end}}`))
	path := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(path) {
		return ""
	}
	if _, err := fs.Stat(c.FS, strings.TrimPrefix(path, "/")); errors.Is(err, fs.ErrNotExist) {
		return path
	}
	return ""
}

// stopOurs ends the dockerd we started and waits for it to exit. Its
// containers could not start anything anyway without their runtime.
func (c DockerConfig) stopOurs(ctx context.Context, pid int) error {
	signal := c.Signal
	if signal == nil {
		signal = syscall.Kill
	}
	if err := signal(pid, syscall.SIGTERM); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for processName(c.FS, pid) == "dockerd" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("dockerd (pid %d) did not exit within 90s of SIGTERM", pid)
		case <-tick.C:
		}
	}
	return nil
}

// installFile copies src to dst through a temporary file and a rename, so
// that a runtime exec'd while it is replaced sees one whole binary.
func installFile(src, dst string) error {
	want, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, want, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// wrapperPath returns the wrapper as an absolute path, because dockerd
// resolves a runtime path relative to its own working directory, not ours.
func (c DockerConfig) wrapperPath() (string, error) {
	if c.Wrapper == "" {
		return "", fmt.Errorf("capabilities are missing and no runc wrapper was given; build it with\n    CGO_ENABLED=0 go build -o _output/tools/kubenext-runc-wrapper ./hack/runc-wrapper")
	}
	abs, err := filepath.Abs(c.Wrapper)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("runc wrapper: %w; build it with\n    CGO_ENABLED=0 go build -o %s ./hack/runc-wrapper", err, c.Wrapper)
	}
	return abs, nil
}

func (c DockerConfig) checkPrivileged(ctx context.Context, st DaemonState, missing []string) error {
	var probeErr error
	err := c.Steps.Run("Checking that privileged containers run", func() error {
		probeErr = CheckProbeBinary(c.ProbeBinary)
		if probeErr == nil {
			probeErr = ProbePrivileged(ctx, c.Cmd, c.ProbeBinary, c.ProbeArgs...)
		}
		if errors.Is(probeErr, ErrNoProbe) {
			// Without a probe, judge by configuration: with capabilities
			// missing, only our wrapper (or a runtime someone chose on
			// purpose) can work; plain runc is known to fail.
			c.Steps.Note("cannot probe (%v); judging by the default runtime", probeErr)
			if len(missing) > 0 && st.DefaultRuntime == "runc" {
				probeErr = fmt.Errorf("%w: default runtime is plain runc and the bounding set lacks %s", ErrPrivilegedBroken, strings.Join(missing, ", "))
			} else {
				probeErr = nil
			}
		}
		return probeErr
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrPrivilegedBroken) {
		return err
	}
	if st.Ours() {
		return fmt.Errorf("%w\nthe dockerd hostprep started earlier (pid %d) lacks the %s runtime; stop it (kill %d; its containers stop too) and run hostprep docker again",
			err, st.OursPID, runcwrapper.RuntimeName, st.OursPID)
	}
	return fmt.Errorf("%w\n%s", err, ForeignDaemonHelp(c.Wrapper, missing))
}

// ForeignDaemonHelp explains how to fix a daemon that is not ours, since we
// must not restart or reconfigure it ourselves.
func ForeignDaemonHelp(wrapper string, missing []string) string {
	if wrapper == "" {
		wrapper = InstalledWrapper
	} else if abs, err := filepath.Abs(wrapper); err == nil {
		wrapper = abs
	}
	lacks := "some capabilities"
	if len(missing) > 0 {
		lacks = strings.Join(missing, ", ")
	}
	return fmt.Sprintf(`This Docker daemon was not started by hostprep, so hostprep leaves it alone.
Why it fails: this host's capability bounding set lacks %[1]s, and for a
privileged container Docker asks runc for every capability it knows, which
runc cannot grant ("unable to apply caps: operation not permitted").
The fix is a runtime wrapper that drops only what the host cannot grant and
then runs the real runc. Build it (from the kubenext repository):
    CGO_ENABLED=0 go build -o %[2]s ./hack/runc-wrapper
then restart dockerd with either the flags
    --add-runtime %[3]s=%[2]s --default-runtime %[3]s
or these keys in /etc/docker/daemon.json:
    {"runtimes": {"%[3]s": {"path": "%[2]s"}}, "default-runtime": "%[3]s"}
and make sure dockerd's environment has %[4]s=<path of runc> or runc on PATH.`,
		lacks, wrapper, runcwrapper.RuntimeName, runcwrapper.RealRuncEnv)
}
