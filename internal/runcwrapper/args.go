package runcwrapper

import "strings"

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
