package codegen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestFinishVerifiesAndWrites(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join("staging", "k8s.io", "api", "9001-generated-protobuf.patch")
	patches := Patches{name: []byte("generated\n")}
	var out bytes.Buffer

	err := finish(root, "verify", patches, &out)
	if err == nil || !strings.Contains(err.Error(), "generated patches are stale; run make codegen") || !strings.Contains(err.Error(), name+": missing") {
		t.Errorf("verify of a missing patch = %v", err)
	}
	if err := finish(root, "update", patches, &out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, name)); string(got) != "generated\n" {
		t.Errorf("update wrote %q", got)
	}
	out.Reset()
	if err := finish(root, "verify", patches, &out); err != nil || out.String() != "codegen: 1 generated patch(es) up to date\n" {
		t.Errorf("verify after update = %v, %q", err, out.String())
	}
	if err := Run(context.Background(), root, t.TempDir(), "regenerate", &out); err == nil {
		t.Error("an unknown mode must be refused before anything is built")
	}
}

func TestGoBuildIsOutsideTheWorkspace(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"go -C /broken": {ExitCode: 1, Stderr: "cannot find module\n"},
	}}
	if err := goBuild(context.Background(), fake, "/gen", "/bin", "a/cmd/x", "a/cmd/y"); err != nil {
		t.Fatal(err)
	}
	if c := fake.Calls[0]; c.Line != "go -C /gen build -o /bin/ a/cmd/x a/cmd/y" || strings.Join(c.Env, " ") != "GOWORK=off" {
		t.Errorf("ran %q with %v", c.Line, c.Env)
	}
	err := goBuild(context.Background(), fake, "/broken", "/bin", "a/cmd/x")
	if err == nil || err.Error() != "go build in /broken: exit status 1\ncannot find module\n" {
		t.Errorf("got %v", err)
	}
}

// runIn runs a real process: the working directory and environment are
// what the generators depend on, and a fake would not show them.
func TestRunInSetsDirectoryAndEnvironment(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	e := &env{Config: Config{Bin: t.TempDir()}, workspace: "/ws/go.work", logDir: t.TempDir()}
	if err := e.runIn(context.Background(), dir, "probe", "sh", "-c", `pwd; echo "$GOWORK $GOFLAGS"; echo "$PATH"`); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(e.logDir, "probe.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(log), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "$ sh -c pwd;") || lines[1] != dir || lines[2] != "/ws/go.work -mod=readonly" || !strings.HasPrefix(lines[3], e.Bin+":") {
		t.Errorf("log:\n%s", log)
	}
	if err := e.runIn(context.Background(), dir, "probe", "false"); err == nil || err.Error() != "false: exit status 1" {
		t.Errorf("a failing generator = %v, want its name and status", err)
	}
}
