package nodeimage

import (
	"context"
	"strings"
	"testing"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestDockerImportStreamsTar(t *testing.T) {
	host := &exectest.Cmder{Script: map[string]exectest.Result{"tar -C /rootfs": {Stdout: "TAR STREAM"}}}
	if err := DockerImport(context.Background(), host, "/rootfs", "kubenext/node-base:x"); err != nil {
		t.Fatal(err)
	}
	var imported *exectest.Call
	for i, c := range host.Calls {
		if c.Line == "docker import - kubenext/node-base:x" {
			imported = &host.Calls[i]
		}
	}
	if imported == nil || imported.Stdin != "TAR STREAM" {
		t.Fatalf("docker import must read tar's output: %+v", host.Calls)
	}
	if !strings.Contains(strings.Join(host.Lines(), "\n"), "tar -C /rootfs --numeric-owner --exclude=./.kubenext-base -c .") {
		t.Errorf("tar %q", host.Lines())
	}
}

func TestDockerImportFailures(t *testing.T) {
	for name, script := range map[string]map[string]exectest.Result{
		"tar":    {"tar": {ExitCode: 2, Stderr: "tar: ./dev/x: Cannot open"}},
		"import": {"docker import": {ExitCode: 1, Stderr: "Error response from daemon: no space left"}},
	} {
		host := &exectest.Cmder{Script: script}
		err := DockerImport(context.Background(), host, "/rootfs", "t")
		want := map[string]string{"tar": "Cannot open", "import": "no space left"}[name]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
}
