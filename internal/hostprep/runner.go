package hostprep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs host commands. Every host-changing action in this package goes
// through it, so tests can record and script commands instead of running them.
type Runner interface {
	// Output runs name with args and returns its combined stdout and stderr.
	// A non-zero exit is an error whose ExitCode can be read with ExitCode.
	Output(ctx context.Context, name string, args ...string) ([]byte, error)
	// LookPath reports where an executable is, like exec.LookPath.
	LookPath(file string) (string, error)
}

// ExecRunner is the real Runner.
type ExecRunner struct{}

// Output implements Runner.
func (ExecRunner) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return buf.Bytes(), &CommandError{Cmd: append([]string{name}, args...), Output: buf.String(), Err: err}
	}
	return buf.Bytes(), nil
}

// LookPath implements Runner.
func (ExecRunner) LookPath(file string) (string, error) { return exec.LookPath(file) }

// CommandError keeps the command line and its output together, because an
// apt or iptables failure is only understandable with both.
type CommandError struct {
	Cmd    []string
	Output string
	Err    error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v%s", strings.Join(e.Cmd, " "), e.Err, tail(e.Output, 15))
}

func (e *CommandError) Unwrap() error { return e.Err }

// ExitCode returns the exit status carried by err, 0 for nil, or -1 when the
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

// tail keeps the last n non-empty lines of out, indented, for error messages:
// the end of apt's or dockerd's output is where the reason is.
func tail(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		b.WriteString("\n    ")
		b.WriteString(l)
	}
	return b.String()
}
