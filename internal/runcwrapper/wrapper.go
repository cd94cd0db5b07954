package runcwrapper

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Wrapper is one run of the wrapper with what it takes from its process;
// fields so that tests can give it a bounding set and catch the exec.
type Wrapper struct {
	Self     string // this executable, never exec'd as the real runc
	RealRunc string // $KUBENEXT_REAL_RUNC
	Path     string // $PATH
	Environ  []string
	// Root is "/": the bounding set is read from its proc/self/status.
	Root   fs.FS
	Stderr io.Writer
	// Exec replaces the process; syscall.Exec.
	Exec func(path string, argv, env []string) error
}

// Main runs the wrapper as the process it is and returns an exit status
// only when it could not exec runc. It takes no flags of its own: every
// argument belongs to runc.
func Main(args []string) int {
	self, _ := os.Executable()
	return Wrapper{
		Self: self, RealRunc: os.Getenv(RealRuncEnv), Path: os.Getenv("PATH"), Environ: os.Environ(),
		Root: os.DirFS("/"), Stderr: os.Stderr,
		// Not a command to run but this process becoming runc: runc must
		// keep the shim's pid, file descriptors and stdio, so it is
		// syscall.Exec and not internal/exec.
		Exec: syscall.Exec,
	}.Run(args)
}

// Run adjusts the file runc is about to read, then execs the real runc.
func (w Wrapper) Run(args []string) int {
	real, err := findRealRunc(w.RealRunc, w.Path, w.Self)
	if err != nil {
		fmt.Fprintf(w.Stderr, "kubenext-runc-wrapper: %v\n", err)
		return 127
	}
	if err := w.adjust(args); err != nil {
		// runc's own error will follow and is the one to act on; this line
		// says why the wrapper could not prevent it.
		fmt.Fprintf(w.Stderr, "kubenext-runc-wrapper: warning: %v\n", err)
	}
	// argv[0] is the real runc so its messages and its re-exec of itself
	// ("runc init" via /proc/self/exe) look exactly as without the wrapper.
	argv := append([]string{real}, args...)
	err = w.Exec(real, argv, w.Environ)
	fmt.Fprintf(w.Stderr, "kubenext-runc-wrapper: exec %s: %v\n", real, err)
	return 127
}

// adjust drops the capabilities this process cannot grant from the file
// runc is about to read. The wrapper's bounding set is the one runc will
// inherit, so it is the right one to compare against.
func (w Wrapper) adjust(args []string) error {
	missing, err := HostCaps(w.Root)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	inv := parseArgs(args)
	drop := DropSet(missing)
	switch {
	case inv.Bundle != "":
		_, err = FilterFile(filepath.Join(inv.Bundle, "config.json"), FilterConfig, drop)
	case inv.Process != "":
		_, err = FilterFile(inv.Process, FilterProcess, drop)
	}
	return err
}
