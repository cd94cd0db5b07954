package exec

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestOutputKeepsStderrForTheError(t *testing.T) {
	ctx := context.Background()
	out, err := Output(Host.Command(ctx, "sh", "-c", "echo out; echo why >&2; exit 3"))
	if string(out) != "out\n" {
		t.Errorf("stdout = %q", out)
	}
	var re *RunError
	if !errors.As(err, &re) || ExitCode(err) != 3 {
		t.Fatalf("err = %v (exit %d), want a RunError with exit 3", err, ExitCode(err))
	}
	if !strings.Contains(err.Error(), "sh -c echo out") || !strings.Contains(err.Error(), "why") {
		t.Errorf("error %q must name the command and the end of stderr", err)
	}
}

func TestEnvAndStdin(t *testing.T) {
	out, err := CombinedOutput(Host.Command(context.Background(), "sh", "-c", `echo "$KUBENEXT_X"; cat`).
		SetEnv("KUBENEXT_X=set").SetStdin(strings.NewReader("in")))
	if err != nil || string(out) != "set\nin" {
		t.Fatalf("out = %q, err = %v", out, err)
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	out, err := Output(Host.Command(context.Background(), "pwd").SetDir(dir))
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Fatalf("pwd in %s printed %q, %v", dir, out, err)
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 {
		t.Error("nil is exit 0")
	}
	if ExitCode(errors.New("no such file")) != -1 {
		t.Error("an error without a status is -1")
	}
	if _, err := Output(Host.Command(context.Background(), "/nonexistent/kubenext")); ExitCode(err) != -1 || err == nil {
		t.Errorf("a missing binary: %v", err)
	}
}

func TestLastLines(t *testing.T) {
	if got := LastLines("a\n\nb\nc\n", 2); got != "    b\n    c" {
		t.Errorf("LastLines = %q", got)
	}
}

func TestCauseAndOutputOf(t *testing.T) {
	_, err := Output(Host.Command(context.Background(), "sh", "-c", "echo said >&2; exit 4"))
	if c := Cause(err); ExitCode(c) != 4 || strings.Contains(c.Error(), "sh -c") {
		t.Errorf("Cause = %v, want the bare exit status", c)
	}
	if got := OutputOf(err); got != "said" {
		t.Errorf("OutputOf = %q", got)
	}
	plain := errors.New("plain")
	if Cause(plain) != plain || OutputOf(plain) != "" {
		t.Error("an error that is not a command's passes through")
	}
}
