// Package exectest is a scripted exec.Cmder for unit tests: it records
// every command line and answers from a table instead of running anything.
package exectest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kubenext/kubenext/internal/exec"
)

// Result is what a faked command prints and how it exits.
type Result struct {
	Stdout, Stderr string
	// ExitCode other than 0 makes Run return an *exec.RunError.
	ExitCode int
}

// Cmder answers commands whose line starts with a key of Script (longest
// key wins); others succeed silently.
type Cmder struct {
	Script map[string]Result
	// Handle, when set, is asked first and answers when ok: a stateful
	// fake (an iptables chain, a daemon that starts answering) is easier
	// to write as code than as a table. It runs outside the fake's lock.
	Handle func(line string) (res Result, ok bool)

	mu    sync.Mutex
	Calls []Call
}

// Call is one command as run.
type Call struct {
	Line  string // name and args joined by spaces
	Env   []string
	Stdin string
	Dir   string
}

func (f *Cmder) Command(_ context.Context, name string, args ...string) exec.Cmd {
	return &cmd{f: f, argv: append([]string{name}, args...)}
}

// Lines are the command lines run so far.
func (f *Cmder) Lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines []string
	for _, c := range f.Calls {
		lines = append(lines, c.Line)
	}
	return lines
}

func (f *Cmder) answer(line string) Result {
	best, found := "", false
	for k := range f.Script {
		if (line == k || strings.HasPrefix(line, k+" ")) && len(k) >= len(best) {
			best, found = k, true
		}
	}
	if !found {
		return Result{}
	}
	return f.Script[best]
}

type cmd struct {
	f              *Cmder
	argv           []string
	env            []string
	dir            string
	stdin          io.Reader
	stdout, stderr io.Writer
}

type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitError) ExitCode() int { return int(e) }

func (c *cmd) Run() error {
	line := strings.Join(c.argv, " ")
	call := Call{Line: line, Env: c.env, Dir: c.dir}
	if c.stdin != nil {
		b, _ := io.ReadAll(c.stdin)
		call.Stdin = string(b)
	}
	c.f.mu.Lock()
	c.f.Calls = append(c.f.Calls, call)
	c.f.mu.Unlock()
	res, ok := Result{}, false
	if c.f.Handle != nil {
		res, ok = c.f.Handle(line)
	}
	if !ok {
		c.f.mu.Lock()
		res = c.f.answer(line)
		c.f.mu.Unlock()
	}
	if c.stdout != nil {
		io.WriteString(c.stdout, res.Stdout)
	}
	if c.stderr != nil {
		io.WriteString(c.stderr, res.Stderr)
	}
	if res.ExitCode != 0 {
		return &exec.RunError{Command: c.argv, Err: exitError(res.ExitCode)}
	}
	return nil
}

func (c *cmd) SetEnv(env ...string) exec.Cmd  { c.env = append(c.env, env...); return c }
func (c *cmd) SetStdin(r io.Reader) exec.Cmd  { c.stdin = r; return c }
func (c *cmd) SetStdout(w io.Writer) exec.Cmd { c.stdout = w; return c }
func (c *cmd) SetStderr(w io.Writer) exec.Cmd { c.stderr = w; return c }
func (c *cmd) SetDir(dir string) exec.Cmd     { c.dir = dir; return c }
