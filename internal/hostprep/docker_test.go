package hostprep

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/steps"
)

// statusText is /proc/self/status on a Firecracker VM: no CAP_SYS_RESOURCE.
const statusText = `Name:	cat
CapBnd:	000001fffeffffff
`

const (
	dockerVersion = "docker version --format {{.Server.Version}}"
	dockerInfo    = "docker info --format {{.DefaultRuntime}}"
)

func procFS(extra fstest.MapFS) fstest.MapFS {
	fsys := fstest.MapFS{
		"proc/self/status":             {Data: []byte(statusText)},
		"proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")},
		"proc/1/comm":                  {Data: []byte("init\n")},
	}
	for k, v := range extra {
		fsys[k] = v
	}
	return fsys
}

func TestInspectAndDecide(t *testing.T) {
	ctx := context.Background()
	down := &exectest.Cmder{Script: map[string]exectest.Result{dockerVersion: fail(1, "Cannot connect")}}
	up := &exectest.Cmder{Script: map[string]exectest.Result{dockerVersion: ok("20.10.24+dfsg1\n"), dockerInfo: ok("kubenext-runc\n")}}

	cases := []struct {
		name string
		r    exec.Cmder
		fs   fstest.MapFS
		want Action
		ours int
	}{
		{"nothing", down, procFS(nil), StartOurs, 0},
		{"stale pid file", down, procFS(fstest.MapFS{"var/run/kubenext-dockerd.pid": {Data: []byte("1")}}), StartOurs, 0},
		{"ours starting", down, procFS(fstest.MapFS{
			"var/run/kubenext-dockerd.pid": {Data: []byte("42\n")}, "proc/42/comm": {Data: []byte("dockerd\n")},
		}), WaitForOurs, 42},
		{"foreign stuck", down, procFS(fstest.MapFS{"proc/77/comm": {Data: []byte("dockerd\n")}}), RefuseForeign, 0},
		{"foreign answering", up, procFS(fstest.MapFS{"proc/77/comm": {Data: []byte("dockerd\n")}}), UseRunning, 0},
		{"ours answering", up, procFS(fstest.MapFS{
			"var/run/kubenext-dockerd.pid": {Data: []byte("42")}, "proc/42/comm": {Data: []byte("dockerd\n")},
		}), UseRunning, 42},
	}
	for _, c := range cases {
		st := InspectDaemon(ctx, c.r, c.fs)
		if got := Decide(st); got != c.want || st.OursPID != c.ours {
			t.Errorf("%s: action %v ours %d (state %+v)", c.name, got, st.OursPID, st)
		}
	}
	st := InspectDaemon(ctx, up, procFS(nil))
	if st.ServerVersion != "20.10.24+dfsg1" || st.DefaultRuntime != "kubenext-runc" {
		t.Fatalf("state %+v", st)
	}
}

func TestDockerdArgs(t *testing.T) {
	if got := DockerdArgs(""); !reflect.DeepEqual(got, []string{"--pidfile", "/var/run/kubenext-dockerd.pid"}) {
		t.Fatalf("plain: %q", got)
	}
	want := []string{"--pidfile", "/var/run/kubenext-dockerd.pid", "--add-runtime", "kubenext-runc=/w/kubenext-runc-wrapper", "--default-runtime", "kubenext-runc"}
	if got := DockerdArgs("/w/kubenext-runc-wrapper"); !reflect.DeepEqual(got, want) {
		t.Fatalf("wrapper: %q", got)
	}
}

type fakeStarter struct {
	path string
	args []string
	env  []string
	// onStart makes the fake daemon answer.
	onStart func()
	exit    error
}

func (f *fakeStarter) Start(path string, args, env []string, logPath string) (int, <-chan error, error) {
	f.path, f.args, f.env = path, args, env
	ch := make(chan error, 1)
	if f.exit != nil {
		ch <- f.exit
	} else if f.onStart != nil {
		f.onStart()
	}
	return 4242, ch, nil
}

func allInstalled() map[string]string {
	return map[string]string{
		"docker": "/usr/bin/docker", "dockerd": "/usr/sbin/dockerd", "debootstrap": "/usr/sbin/debootstrap",
		"iptables": "/usr/sbin/iptables", "runc": "/usr/sbin/runc",
	}
}

func newConfig(r *fakeHost, fsys fstest.MapFS, s Starter, out *bytes.Buffer) DockerConfig {
	return DockerConfig{
		Cmd: r, LookPath: r.lookPath, FS: fsys, Start: s, Steps: &steps.Steps{Out: out},
		Apt:          &Apt{Cmd: r, LookPath: r.lookPath, Steps: &steps.Steps{Out: out}},
		StartTimeout: time.Second, Poll: time.Millisecond,
		Remove: func(string) error { return nil },
	}
}

func TestEnsureDockerStartsOursWithWrapper(t *testing.T) {
	wrapper := t.TempDir() + "/kubenext-runc-wrapper"
	if err := os.WriteFile(wrapper, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{
		dockerVersion: {fail(1, "Cannot connect")},
		dockerInfo:    {ok("kubenext-runc")},
	})
	st := &fakeStarter{onStart: func() { r.seq[dockerVersion] = []exectest.Result{ok("20.10.24")} }}
	var out bytes.Buffer
	c := newConfig(r, procFS(nil), st, &out)
	c.Wrapper = wrapper
	if err := EnsureDocker(context.Background(), c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if st.path != "/usr/sbin/dockerd" || !reflect.DeepEqual(st.args, DockerdArgs(wrapper)) {
		t.Fatalf("started %s %q", st.path, st.args)
	}
	if !reflect.DeepEqual(st.env, []string{"KUBENEXT_REAL_RUNC=/usr/sbin/runc"}) {
		t.Fatalf("env %q", st.env)
	}
	for _, want := range []string{"lacks CAP_SYS_RESOURCE", "✓ Starting dockerd with runtime kubenext-runc (", "✓ Checking that privileged containers run ("} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEnsureDockerPlainOnFullHost(t *testing.T) {
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{
		dockerVersion: {fail(1, ""), ok("20.10.24")},
		dockerInfo:    {ok("runc")},
	})
	st := &fakeStarter{}
	fsys := procFS(fstest.MapFS{"proc/self/status": {Data: []byte("CapBnd:\t000001ffffffffff\n")}})
	var out bytes.Buffer
	c := newConfig(r, fsys, st, &out)
	if err := EnsureDocker(context.Background(), c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(st.args, DockerdArgs("")) || st.env != nil {
		t.Fatalf("started with %q env %q", st.args, st.env)
	}
}

func TestEnsureDockerRefusesForeignPlainRunc(t *testing.T) {
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{
		dockerVersion: {ok("24.0.7")},
		dockerInfo:    {ok("runc")},
	})
	st := &fakeStarter{}
	var out bytes.Buffer
	err := EnsureDocker(context.Background(), newConfig(r, procFS(fstest.MapFS{"proc/77/comm": {Data: []byte("dockerd")}}), st, &out))
	if !errors.Is(err, ErrPrivilegedBroken) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"not started by hostprep", "--add-runtime kubenext-runc=", "--default-runtime kubenext-runc", `"default-runtime": "kubenext-runc"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("explanation lacks %q:\n%v", want, err)
		}
	}
	if st.path != "" {
		t.Fatal("started a daemon next to the user's")
	}
	for _, c := range r.Lines() {
		if !strings.HasPrefix(c, "docker version") && !strings.HasPrefix(c, "docker info") {
			t.Fatalf("touched the foreign daemon: %s", c)
		}
	}
}

func TestEnsureDockerRefusesStuckForeign(t *testing.T) {
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{dockerVersion: {fail(1, "")}})
	st := &fakeStarter{}
	err := EnsureDocker(context.Background(), newConfig(r, procFS(fstest.MapFS{"proc/77/comm": {Data: []byte("dockerd")}}), st, &bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "[77]") || st.path != "" {
		t.Fatalf("err %v, started %q", err, st.path)
	}
}

func TestEnsureDockerNeedsWrapper(t *testing.T) {
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{dockerVersion: {fail(1, "")}})
	err := EnsureDocker(context.Background(), newConfig(r, procFS(nil), &fakeStarter{}, &bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "go build -o _output/tools/kubenext-runc-wrapper ./hack/runc-wrapper") {
		t.Fatalf("err %v", err)
	}
}

func TestWaitAnsweringReportsExit(t *testing.T) {
	r := &exectest.Cmder{Script: map[string]exectest.Result{dockerVersion: fail(1, "")}}
	exited := make(chan error, 1)
	exited <- errors.New("exit status 1")
	err := WaitAnswering(context.Background(), r, exited, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Fatalf("err %v", err)
	}
}

func TestProbePrivileged(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := "docker run --rm --privileged --network none " + ProbeImage + " /probe probe"
	r := &exectest.Cmder{Script: map[string]exectest.Result{run: fail(125,
		"docker: Error response from daemon: failed to create shim: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown.")}}
	err = ProbePrivileged(context.Background(), r, self, "probe")
	if !errors.Is(err, ErrPrivilegedBroken) || !strings.Contains(err.Error(), "unable to apply caps") {
		t.Fatalf("err %v", err)
	}
	calls := r.Lines()
	if len(calls) != 3 || !strings.HasPrefix(calls[0], "docker import ") || calls[1] != run || calls[2] != "docker rmi -f "+ProbeImage {
		t.Fatalf("calls %q", calls)
	}
	other := &exectest.Cmder{Script: map[string]exectest.Result{run: fail(125, "docker: no space left on device")}}
	if err := ProbePrivileged(context.Background(), other, self, "probe"); err == nil || errors.Is(err, ErrPrivilegedBroken) {
		t.Fatalf("a failure other than caps is not ErrPrivilegedBroken: %v", err)
	}
	if err := ProbePrivileged(context.Background(), &exectest.Cmder{}, self, "probe"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckProbeBinary(t *testing.T) {
	notELF := t.TempDir() + "/script"
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"", "/nonexistent", notELF} {
		if err := CheckProbeBinary(b); !errors.Is(err, ErrNoProbe) {
			t.Errorf("%q: err %v", b, err)
		}
	}
	// The test binary is an ELF; static or not, the check must decide
	// without failing to read it.
	self, _ := os.Executable()
	if _, err := IsStaticELF(self); err != nil {
		t.Fatal(err)
	}
}

// A dockerd we started from a checkout that has since been deleted points
// at a runtime that is gone: it is stopped and started again on the
// installed copy, instead of failing every container.
func TestEnsureDockerRestartsOursWhenItsRuntimeIsGone(t *testing.T) {
	dir := t.TempDir()
	wrapper, installed := dir+"/build/kubenext-runc-wrapper", dir+"/libexec/kubenext-runc-wrapper"
	if err := os.MkdirAll(dir+"/build", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, []byte("new"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newFakeHost(allInstalled(), map[string][]exectest.Result{
		dockerVersion: {ok("20.10.24"), fail(1, "Cannot connect")},
		`docker info --format {{with index .Runtimes "kubenext-runc"}}{{.Path}}{{end}}`: {ok("/tmp/deleted-clone/_output/tools/kubenext-runc-wrapper")},
		dockerInfo: {ok("kubenext-runc")},
	})
	fsys := procFS(fstest.MapFS{
		"var/run/kubenext-dockerd.pid": {Data: []byte("77\n")},
		"proc/77/comm":                 {Data: []byte("dockerd\n")},
	})
	var signalled []int
	st := &fakeStarter{onStart: func() { r.seq[dockerVersion] = []exectest.Result{ok("20.10.24")} }}
	var out bytes.Buffer
	c := newConfig(r, fsys, st, &out)
	c.Wrapper, c.WrapperInstallPath = wrapper, installed
	c.Signal = func(pid int, _ syscall.Signal) error {
		signalled = append(signalled, pid)
		delete(fsys, "proc/77/comm")
		return nil
	}
	if err := EnsureDocker(context.Background(), c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(signalled, []int{77}) {
		t.Errorf("signalled %v, want our dockerd 77", signalled)
	}
	if !reflect.DeepEqual(st.args, DockerdArgs(installed)) {
		t.Errorf("started with %q, want the installed wrapper", st.args)
	}
	if b, err := os.ReadFile(installed); err != nil || string(b) != "new" {
		t.Errorf("installed wrapper: %q %v", b, err)
	}
	if !strings.Contains(out.String(), "its runtime /tmp/deleted-clone/_output/tools/kubenext-runc-wrapper is gone") {
		t.Errorf("output does not say why:\n%s", out.String())
	}
}
