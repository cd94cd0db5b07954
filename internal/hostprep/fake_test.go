package hostprep

import (
	"errors"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

// fakeHost is this host as hostprep sees it: commands answered by a
// script, executables found in a table.
type fakeHost struct {
	exectest.Cmder
	// seq answers an exact command line in order; the last answer repeats.
	seq map[string][]exectest.Result
	// onRun sees every command line first (an install puts binaries on PATH).
	onRun func(line string)
	paths map[string]string
}

func newFakeHost(paths map[string]string, seq map[string][]exectest.Result) *fakeHost {
	if paths == nil {
		paths = map[string]string{}
	}
	f := &fakeHost{seq: seq, paths: paths}
	f.Handle = func(line string) (exectest.Result, bool) {
		if f.onRun != nil {
			f.onRun(line)
		}
		rs := f.seq[line]
		if len(rs) == 0 {
			return exectest.Result{}, false
		}
		if len(rs) > 1 {
			f.seq[line] = rs[1:]
		}
		return rs[0], true
	}
	return f
}

func (f *fakeHost) lookPath(file string) (string, error) {
	if p, ok := f.paths[file]; ok {
		return p, nil
	}
	return "", errors.New("executable file not found in $PATH")
}

func ok(stdout string) exectest.Result { return exectest.Result{Stdout: stdout} }

func fail(code int, stderr string) exectest.Result {
	return exectest.Result{Stderr: stderr, ExitCode: code}
}
