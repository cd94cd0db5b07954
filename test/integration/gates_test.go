package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// Every component parses --feature-gates against the same registry, ours
// included. kube-proxy and the kubelet copy the flag into their config and
// check it later, so for them an invalid value elsewhere on the command
// line stops the run just after the gates were applied.
func TestIntegrationEveryComponentKnowsOurGates(t *testing.T) {
	bin := os.Getenv("KUBENEXT_BIN")
	if bin == "" {
		t.Fatal("KUBENEXT_BIN must name the directory of the built components; run `make integration`")
	}
	components := []struct {
		name string
		args []string
		// accepted is what the run must print when the gate is known.
		accepted string
	}{
		{"kube-apiserver", []string{"--version"}, "v1.37.2+kubenext."},
		{"kube-controller-manager", []string{"--version"}, "v1.37.2+kubenext."},
		{"kube-scheduler", []string{"--version"}, "v1.37.2+kubenext."},
		{"kube-proxy", []string{"--kubeconfig=/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig"},
		{"kubelet", []string{"--max-pods=-1"}, "KeystoneContainers: true"},
	}
	for _, c := range components {
		t.Run(c.name, func(t *testing.T) {
			out := runComponent(t, filepath.Join(bin, c.name), append([]string{"--feature-gates=KeystoneContainers=true"}, c.args...)...)
			if strings.Contains(out, "unrecognized feature gate") || !strings.Contains(out, c.accepted) {
				t.Errorf("with KeystoneContainers=true, want output containing %q; got:\n%s", c.accepted, out)
			}
			out = runComponent(t, filepath.Join(bin, c.name), append([]string{"--feature-gates=KeystoneContainer=true"}, c.args...)...)
			if !strings.Contains(out, "unrecognized feature gate: KeystoneContainer") {
				t.Errorf("a misspelt gate must get upstream's error; got:\n%s", out)
			}
		})
	}
}

func runComponent(t *testing.T, binary string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The exit code says little; the output says which check failed.
	out, _ := exec.CombinedOutput(exec.Host.Command(ctx, binary, args...).SetDir(t.TempDir()))
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not exit within 30s; output:\n%s", binary, args, out)
	}
	return string(out)
}
