// Command kubenext-runc-wrapper is an OCI runtime that Docker uses in place
// of runc on hosts whose capability bounding set is short (Firecracker VMs
// lack CAP_SYS_RESOURCE). For a privileged container Docker asks for every
// capability it knows, and runc fails with "unable to apply caps: operation
// not permitted" when one is outside its own bounding set. The wrapper
// removes exactly those capabilities from the bundle's config.json (create,
// run, restore) or from the --process file (exec), then execs the real runc
// with the same arguments. On a host with every capability it execs runc
// without reading or writing anything.
//
// Build it static (CGO_ENABLED=0): it runs from containerd's shim with
// whatever environment and libraries the host has.
//
// The real runc is $KUBENEXT_REAL_RUNC, else the first runc on PATH that is
// not this program. The wrapper takes no flags of its own, since everything
// on its command line belongs to runc.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kubenext/kubenext/internal/hostprep"
)

func main() {
	self, _ := os.Executable()
	real, err := findRealRunc(os.Getenv(hostprep.RealRuncEnv), os.Getenv("PATH"), self)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubenext-runc-wrapper: %v\n", err)
		os.Exit(127)
	}
	if err := adjust(os.Args[1:]); err != nil {
		// runc's own error will follow and is the one to act on; this line
		// says why the wrapper could not prevent it.
		fmt.Fprintf(os.Stderr, "kubenext-runc-wrapper: warning: %v\n", err)
	}
	// argv[0] is the real runc so its messages and its re-exec of itself
	// ("runc init" via /proc/self/exe) look exactly as without the wrapper.
	argv := append([]string{real}, os.Args[1:]...)
	err = syscall.Exec(real, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "kubenext-runc-wrapper: exec %s: %v\n", real, err)
	os.Exit(127)
}

// adjust drops the capabilities this process cannot grant from the file runc
// is about to read. The wrapper's bounding set is the one runc will inherit,
// so it is the right one to compare against.
func adjust(args []string) error {
	root := os.DirFS("/")
	missing, err := hostprep.HostCaps(root)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	inv := parseArgs(args)
	drop := hostprep.DropSet(missing)
	switch {
	case inv.Bundle != "":
		_, err = hostprep.FilterFile(filepath.Join(inv.Bundle, "config.json"), hostprep.FilterConfig, drop)
	case inv.Process != "":
		_, err = hostprep.FilterFile(inv.Process, hostprep.FilterProcess, drop)
	}
	return err
}

// invocation is the part of a runc command line the wrapper cares about.
type invocation struct {
	Command string
	// Bundle is the bundle directory for create, run and restore ("." when
	// not given, as for runc); empty for other commands.
	Bundle string
	// Process is exec's --process file; empty when exec gets its process
	// from the command line (Docker always uses --process).
	Process string
}

// runc's global flags that take a value (runc main.go). Go's flag package,
// under urfave/cli, accepts one or two dashes and "--name=value".
var globalValueFlags = map[string]bool{"log": true, "log-format": true, "root": true, "criu": true, "rootless": true}

// Value-taking flags of create, run, restore and exec other than bundle and
// process: their values must be skipped so a value is never read as a flag
// or as the container id. Unknown flags are taken to be booleans.
var commandValueFlags = map[string]bool{
	"console-socket": true, "pid-file": true, "preserve-fds": true,
	"cwd": true, "env": true, "e": true, "user": true, "u": true,
	"additional-gids": true, "g": true, "process-label": true, "apparmor": true,
	"cap": true, "c": true, "cgroup": true,
	"image-path": true, "work-path": true, "parent-path": true, "manage-cgroups-mode": true,
	"empty-ns": true, "lsm-profile": true, "lsm-mount-context": true, "status-fd": true, "page-server": true,
}

// parseArgs reads runc's arguments (without argv[0]). It never fails: on a
// command line it does not understand it finds nothing, and the wrapper
// passes it through to runc untouched.
func parseArgs(args []string) invocation {
	var inv invocation
	i := 0
	for ; i < len(args); i++ {
		name, _, hasValue, isFlag := splitFlag(args[i])
		if !isFlag {
			break
		}
		if name == "" { // "--": nothing sensible follows for us
			return inv
		}
		if !hasValue && globalValueFlags[name] {
			i++
		}
	}
	if i >= len(args) {
		return inv
	}
	inv.Command = args[i]
	switch inv.Command {
	case "create", "run", "restore":
		inv.Bundle = "."
	case "exec":
	default:
		return inv
	}
	for i++; i < len(args); i++ {
		name, value, hasValue, isFlag := splitFlag(args[i])
		if !isFlag {
			if inv.Command == "exec" {
				// runc exec stops parsing flags at the container id
				// (SkipArgReorder); what follows is the user's command,
				// whose "-p x" must never make us rewrite a file x.
				break
			}
			continue // the container id; create/run reorder flags after it
		}
		if name == "" {
			break
		}
		takes := commandValueFlags[name] ||
			(inv.Bundle != "" && (name == "bundle" || name == "b")) ||
			(inv.Command == "exec" && (name == "process" || name == "p"))
		if !takes {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		switch name {
		case "bundle", "b":
			inv.Bundle = value
		case "process", "p":
			inv.Process = value
		}
	}
	return inv
}

// splitFlag splits "-x", "--name" or "--name=value". name is "" for "--".
func splitFlag(arg string) (name, value string, hasValue, isFlag bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return "", "", false, false
	}
	name = strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, value, hasValue = strings.Cut(name, "=")
	return name, value, hasValue, true
}

// findRealRunc resolves the runc to exec. self is excluded from the PATH
// search so that a wrapper installed as "runc" cannot exec itself forever.
func findRealRunc(env, path, self string) (string, error) {
	if env != "" {
		if sameFile(env, self) {
			return "", fmt.Errorf("%s=%s points at the wrapper itself", hostprep.RealRuncEnv, env)
		}
		if !isExecutable(env) {
			return "", fmt.Errorf("%s=%s is not an executable file", hostprep.RealRuncEnv, env)
		}
		return env, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, "runc")
		if isExecutable(cand) && !sameFile(cand, self) {
			return cand, nil
		}
	}
	return "", errors.New("no runc found: set " + hostprep.RealRuncEnv + " or put runc on PATH")
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

func sameFile(a, b string) bool {
	if b == "" {
		return false
	}
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}
