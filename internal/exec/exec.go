// Package exec is the one way kubenext's tools and tests run a command,
// on this host or inside a node. It is shaped like kind's pkg/exec: a Cmd
// is built by a Cmder, wired with Set*, and run once. The host's Cmder
// runs processes; the node provider (internal/nodes) gives a Cmder per
// node that runs the same commands through `docker exec`. Code that takes
// a Cmder can be driven by a fake in unit tests.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	osexec "os/exec"
	"strings"
	"syscall"
)

// Cmd is one command, run once.
type Cmd interface {
	Run() error
	// SetEnv adds KEY=VALUE pairs to the command's environment.
	SetEnv(env ...string) Cmd
	SetStdin(r io.Reader) Cmd
	SetStdout(w io.Writer) Cmd
	SetStderr(w io.Writer) Cmd
	// SetDir sets the working directory (in a node: docker exec -w).
	SetDir(dir string) Cmd
}

// Cmder makes commands for one place to run them.
type Cmder interface {
	Command(ctx context.Context, name string, args ...string) Cmd
}

// Host runs commands on this machine.
var Host Cmder = hostCmder{}

// LookPath reports where an executable is on this host.
func LookPath(file string) (string, error) { return osexec.LookPath(file) }

type hostCmder struct{}

func (hostCmder) Command(ctx context.Context, name string, args ...string) Cmd {
	// The only place in kubenext that starts a process by itself.
	return &hostCmd{cmd: osexec.CommandContext(ctx, name, args...), argv: append([]string{name}, args...)}
}

type hostCmd struct {
	cmd  *osexec.Cmd
	argv []string
}

func (c *hostCmd) Run() error {
	if err := c.cmd.Run(); err != nil {
		return &RunError{Command: c.argv, Err: err}
	}
	return nil
}

func (c *hostCmd) SetEnv(env ...string) Cmd {
	if c.cmd.Env == nil {
		c.cmd.Env = c.cmd.Environ()
	}
	c.cmd.Env = append(c.cmd.Env, env...)
	return c
}
func (c *hostCmd) SetStdin(r io.Reader) Cmd  { c.cmd.Stdin = r; return c }
func (c *hostCmd) SetStdout(w io.Writer) Cmd { c.cmd.Stdout = w; return c }
func (c *hostCmd) SetStderr(w io.Writer) Cmd { c.cmd.Stderr = w; return c }
func (c *hostCmd) SetDir(dir string) Cmd     { c.cmd.Dir = dir; return c }

// RunError is a command that failed, with its command line and the end of
// its output: an apt, iptables or crictl failure is only understandable
// with both.
type RunError struct {
	Command []string
	Output  []byte
	Err     error
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Command, " "), e.Err)
	if tail := LastLines(string(e.Output), 15); tail != "" {
		msg += "\n" + tail
	}
	return msg
}

func (e *RunError) Unwrap() error { return e.Err }

// ExitCode is the exit status carried by err: 0 for nil, -1 when the
// command did not get as far as exiting (not found, killed, ...).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return -1
}

// Cause is what made a command fail (its exit status, or why it could not
// start), without the command line and output a RunError adds: for callers
// that word their own message around it.
func Cause(err error) error {
	var re *RunError
	if errors.As(err, &re) {
		return re.Err
	}
	return err
}

// OutputOf is what a failed command printed (its stderr, for Output), or
// "" when err is not a command's failure.
func OutputOf(err error) string {
	var re *RunError
	if errors.As(err, &re) {
		return strings.TrimSpace(string(re.Output))
	}
	return ""
}

// Output runs cmd and returns its stdout; on failure the error carries
// stderr.
func Output(cmd Cmd) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	err := cmd.SetStdout(&stdout).SetStderr(&stderr).Run()
	return stdout.Bytes(), withOutput(err, stderr.Bytes())
}

// CombinedOutput runs cmd and returns stdout and stderr interleaved.
func CombinedOutput(cmd Cmd) ([]byte, error) {
	var out bytes.Buffer
	err := cmd.SetStdout(&out).SetStderr(&out).Run()
	return out.Bytes(), withOutput(err, out.Bytes())
}

// OutputLines is Output split into lines, without empty ones.
func OutputLines(cmd Cmd) ([]string, error) {
	out, err := Output(cmd)
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines, err
}

// RunLogged runs cmd with its output going to log as it happens (long
// builds, debootstrap) and kept for the error.
func RunLogged(cmd Cmd, log io.Writer) error {
	var buf bytes.Buffer
	w := io.Writer(&buf)
	if log != nil {
		w = io.MultiWriter(&buf, log)
	}
	err := cmd.SetStdout(w).SetStderr(w).Run()
	return withOutput(err, buf.Bytes())
}

func withOutput(err error, output []byte) error {
	if err == nil {
		return nil
	}
	var re *RunError
	if errors.As(err, &re) && re.Output == nil {
		re.Output = append([]byte(nil), output...)
	}
	return err
}

// LastLines keeps the last n non-empty lines of out, indented: the end of
// a tool's output is where its reason is.
func LastLines(out string, n int) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, "    "+strings.TrimRight(l, "\r"))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PeakRSS is the peak resident set, in bytes, of a host command that has
// finished (getrusage's ru_maxrss); false for a command that did not run
// on the host or has not finished.
func PeakRSS(cmd Cmd) (int64, bool) {
	h, ok := cmd.(*hostCmd)
	if !ok || h.cmd.ProcessState == nil {
		return 0, false
	}
	usage, ok := h.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return usage.Maxrss * 1024, true // Linux reports KiB
}
