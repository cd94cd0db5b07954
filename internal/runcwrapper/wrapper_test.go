package runcwrapper

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want invocation
	}{
		{"containerd create", []string{"--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/x/log.json", "--log-format", "json", "create", "--bundle", "/run/b", "--pid-file", "/run/b/init.pid", "cid"},
			invocation{Command: "create", Bundle: "/run/b"}},
		{"global flags with =", []string{"--root=x", "--log=y", "--debug", "--systemd-cgroup", "create", "-b", "B", "id"},
			invocation{Command: "create", Bundle: "B"}},
		{"single-dash long flags", []string{"-root", "x", "create", "-bundle", "B", "id"},
			invocation{Command: "create", Bundle: "B"}},
		{"bundle=", []string{"create", "--bundle=B", "id"}, invocation{Command: "create", Bundle: "B"}},
		{"-b=", []string{"run", "-b=B", "id"}, invocation{Command: "run", Bundle: "B"}},
		{"default bundle", []string{"create", "--pid-file", "p", "id"}, invocation{Command: "create", Bundle: "."}},
		{"flag after id", []string{"create", "id", "--bundle", "B"}, invocation{Command: "create", Bundle: "B"}},
		{"value that looks like a flag", []string{"create", "--console-socket", "--bundle", "id"}, invocation{Command: "create", Bundle: "."}},
		{"restore", []string{"restore", "--image-path", "/i", "-b", "B", "id"}, invocation{Command: "restore", Bundle: "B"}},
		{"exec", []string{"--root", "x", "--log", "y", "--log-format", "json", "exec", "--process", "/tmp/runc-process1", "--detach", "--pid-file", "p", "cid"},
			invocation{Command: "exec", Process: "/tmp/runc-process1"}},
		{"exec -p=", []string{"exec", "-p=P", "cid"}, invocation{Command: "exec", Process: "P"}},
		{"exec with command", []string{"exec", "--cap", "CAP_KILL", "cid", "sh", "-c", "--process x"}, invocation{Command: "exec"}},
		{"exec command flags are not ours", []string{"exec", "cid", "ps", "-p", "/etc/passwd"}, invocation{Command: "exec"}},
		{"exec has no bundle", []string{"exec", "--bundle", "B", "cid"}, invocation{Command: "exec"}},
		{"state", []string{"--root", "x", "state", "cid"}, invocation{Command: "state"}},
		{"delete ignores bundle-like flags", []string{"delete", "--force", "-b", "B"}, invocation{Command: "delete"}},
		{"version", []string{"--version"}, invocation{}},
		{"empty", nil, invocation{}},
		{"double dash", []string{"--", "create", "-b", "B"}, invocation{}},
		{"missing value", []string{"create", "--bundle"}, invocation{Command: "create", Bundle: "."}},
	}
	for _, c := range cases {
		if got := parseArgs(c.args); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestFindRealRunc(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrapperAsRunc := mk("wrap/runc")
	realRunc := mk("sbin/runc")
	path := filepath.Join(dir, "wrap") + string(os.PathListSeparator) + filepath.Join(dir, "nothing") + string(os.PathListSeparator) + filepath.Join(dir, "sbin")

	if got, err := findRealRunc("", path, wrapperAsRunc); err != nil || got != realRunc {
		t.Fatalf("PATH search: %q, %v", got, err)
	}
	if got, err := findRealRunc(realRunc, "", wrapperAsRunc); err != nil || got != realRunc {
		t.Fatalf("env: %q, %v", got, err)
	}
	if _, err := findRealRunc(wrapperAsRunc, path, wrapperAsRunc); err == nil {
		t.Fatal("env pointing at the wrapper accepted")
	}
	if _, err := findRealRunc(filepath.Join(dir, "nope"), path, wrapperAsRunc); err == nil {
		t.Fatal("missing env target accepted")
	}
	if _, err := findRealRunc("", filepath.Join(dir, "wrap"), wrapperAsRunc); err == nil {
		t.Fatal("found only itself but did not fail")
	}
}

// shortStatus is /proc/self/status on a Firecracker VM: no CAP_SYS_RESOURCE.
var shortStatus = fstest.MapFS{
	"proc/self/status":             {Data: []byte("CapBnd:\t000001fffeffffff\n")},
	"proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")},
}

func testWrapper(t *testing.T, root fstest.MapFS) (Wrapper, *execCall, *strings.Builder) {
	t.Helper()
	real := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	call := &execCall{}
	var stderr strings.Builder
	return Wrapper{
		RealRunc: real, Environ: []string{"A=b"}, Root: root, Stderr: &stderr,
		Exec: func(path string, argv, env []string) error {
			call.path, call.argv, call.env = path, argv, env
			return errors.New("exec format error")
		},
	}, call, &stderr
}

type execCall struct {
	path      string
	argv, env []string
}

func TestRunFiltersTheBundleThenExecsRunc(t *testing.T) {
	bundle := t.TempDir()
	config := filepath.Join(bundle, "config.json")
	if err := os.WriteFile(config, []byte(configJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	w, call, stderr := testWrapper(t, shortStatus)
	args := []string{"--root", "/run/x", "create", "--bundle", bundle, "cid"}
	if code := w.Run(args); code != 127 {
		t.Errorf("a failed exec must exit 127, got %d", code)
	}
	if call.path != w.RealRunc || !reflect.DeepEqual(call.argv, append([]string{w.RealRunc}, args...)) || !reflect.DeepEqual(call.env, w.Environ) {
		t.Errorf("exec'd %s %q env %q", call.path, call.argv, call.env)
	}
	data, _ := os.ReadFile(config)
	if strings.Count(string(data), "CAP_SYS_RESOURCE") != 1 {
		t.Errorf("CAP_SYS_RESOURCE must be left only in the set we do not know:\n%s", data)
	}
	if !strings.Contains(stderr.String(), "exec "+w.RealRunc) {
		t.Errorf("stderr %q must name the runc that failed", stderr.String())
	}
}

func TestRunLeavesAFullHostAlone(t *testing.T) {
	bundle := t.TempDir()
	config := filepath.Join(bundle, "config.json")
	if err := os.WriteFile(config, []byte(configJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	full := fstest.MapFS{"proc/self/status": {Data: []byte("CapBnd:\t000001ffffffffff\n")}, "proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")}}
	w, call, _ := testWrapper(t, full)
	w.Run([]string{"create", "-b", bundle, "cid"})
	if data, _ := os.ReadFile(config); string(data) != configJSON {
		t.Errorf("config rewritten on a host with every capability:\n%s", data)
	}
	if call.path == "" {
		t.Error("runc was not exec'd")
	}
}

func TestRunWarnsButStillExecs(t *testing.T) {
	w, call, stderr := testWrapper(t, shortStatus)
	w.Run([]string{"exec", "--process", filepath.Join(t.TempDir(), "absent.json"), "cid"})
	if call.path == "" || !strings.Contains(stderr.String(), "warning:") {
		t.Errorf("an unreadable process file must warn and leave the error to runc: exec %q, stderr %q", call.path, stderr.String())
	}
}

func TestRunWithoutRunc(t *testing.T) {
	w, call, stderr := testWrapper(t, shortStatus)
	w.RealRunc, w.Path = "", t.TempDir()
	if code := w.Run([]string{"state", "cid"}); code != 127 || call.path != "" || !strings.Contains(stderr.String(), "no runc found") {
		t.Errorf("code %d, exec %q, stderr %q", code, call.path, stderr.String())
	}
}
