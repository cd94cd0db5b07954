package exectest

import (
	"context"
	"testing"

	"github.com/kubenext/kubenext/internal/exec"
)

func TestHandleAnswersBeforeScript(t *testing.T) {
	started := false
	f := &Cmder{Script: map[string]Result{"docker version": {ExitCode: 1}}}
	f.Handle = func(line string) (Result, bool) {
		if line == "docker version" && started {
			return Result{Stdout: "27.0"}, true
		}
		return Result{}, false
	}
	ctx := context.Background()
	if _, err := exec.Output(f.Command(ctx, "docker", "version")); exec.ExitCode(err) != 1 {
		t.Fatalf("the script must answer while Handle declines: %v", err)
	}
	started = true
	if out, err := exec.Output(f.Command(ctx, "docker", "version")); err != nil || string(out) != "27.0" {
		t.Fatalf("Handle must answer first: %q, %v", out, err)
	}
	if len(f.Lines()) != 2 {
		t.Fatalf("calls %q: every command is recorded", f.Lines())
	}
}
