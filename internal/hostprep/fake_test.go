package hostprep

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// exitErr is a fake command failure carrying an exit code.
type exitErr int

func (e exitErr) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitErr) ExitCode() int { return int(e) }

type reply struct {
	out  string
	code int
}

// fakeRunner answers commands from a script keyed by the joined command line
// (or a handler), and records every call.
type fakeRunner struct {
	replies map[string][]reply // consumed in order; the last one repeats
	handler func(cmd string) (string, int, bool)
	paths   map[string]string
	calls   []string
}

func (f *fakeRunner) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	cmd := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, cmd)
	if f.handler != nil {
		if out, code, ok := f.handler(cmd); ok {
			return result(cmd, out, code)
		}
	}
	rs, ok := f.replies[cmd]
	if !ok || len(rs) == 0 {
		return result(cmd, "", 0)
	}
	r := rs[0]
	if len(rs) > 1 {
		f.replies[cmd] = rs[1:]
	}
	return result(cmd, r.out, r.code)
}

// result fails like ExecRunner does: a CommandError carrying the output.
func result(cmd, out string, code int) ([]byte, error) {
	if code != 0 {
		return []byte(out), &CommandError{Cmd: strings.Fields(cmd), Output: out, Err: exitErr(code)}
	}
	return []byte(out), nil
}

func (f *fakeRunner) LookPath(file string) (string, error) {
	if p, ok := f.paths[file]; ok {
		return p, nil
	}
	return "", exec.ErrNotFound
}
