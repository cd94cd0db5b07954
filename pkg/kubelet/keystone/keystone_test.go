package keystone

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestDecideFollowsTheKEPTable(t *testing.T) {
	tests := []struct {
		name   string
		policy v1.RestartPolicy
		exit   Exit
		want   Outcome
	}{
		{"exit 0, Never: pod ends Succeeded", v1.RestartPolicyNever, Exit{Exited: true, ExitCode: 0}, Outcome{TerminatePod: true, Phase: v1.PodSucceeded}},
		{"exit 0, OnFailure: pod ends Succeeded", v1.RestartPolicyOnFailure, Exit{Exited: true, ExitCode: 0}, Outcome{TerminatePod: true, Phase: v1.PodSucceeded}},
		{"exit 3, Never: pod ends Failed", v1.RestartPolicyNever, Exit{Exited: true, ExitCode: 3}, Outcome{TerminatePod: true, Phase: v1.PodFailed}},
		{"exit 137, Never: pod ends Failed", v1.RestartPolicyNever, Exit{Exited: true, ExitCode: 137}, Outcome{TerminatePod: true, Phase: v1.PodFailed}},
		{"exit 3, OnFailure: keystone restarts", v1.RestartPolicyOnFailure, Exit{Exited: true, ExitCode: 3}, Outcome{}},
		{"exit 0, Always: keystone restarts", v1.RestartPolicyAlways, Exit{Exited: true, ExitCode: 0}, Outcome{}},
		{"exit 3, Always: keystone restarts", v1.RestartPolicyAlways, Exit{Exited: true, ExitCode: 3}, Outcome{}},
		{"still running: nothing to decide", v1.RestartPolicyNever, Exit{}, Outcome{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.policy, tt.exit); got != tt.want {
				t.Errorf("Decide(%s, %+v) = %+v, want %+v", tt.policy, tt.exit, got, tt.want)
			}
		})
	}
}

func TestPhaseWaitsForTheOthersToStop(t *testing.T) {
	exit := Exit{Exited: true, ExitCode: 0}
	if phase, applies := Phase(v1.RestartPolicyNever, exit, true); !applies || phase != v1.PodRunning {
		t.Errorf("with a sidecar still stopping: %q, %v; want Running", phase, applies)
	}
	if phase, applies := Phase(v1.RestartPolicyNever, exit, false); !applies || phase != v1.PodSucceeded {
		t.Errorf("after the sidecars stopped: %q, %v; want Succeeded", phase, applies)
	}
	// The sidecars' own exit codes (143 after SIGTERM) play no part: only
	// the keystone's exit is an input.
	if phase, _ := Phase(v1.RestartPolicyNever, Exit{Exited: true, ExitCode: 1}, false); phase != v1.PodFailed {
		t.Errorf("failed keystone: %q, want Failed", phase)
	}
	if _, applies := Phase(v1.RestartPolicyAlways, exit, false); applies {
		t.Error("restartPolicy Always keeps upstream's phase rules")
	}
}
