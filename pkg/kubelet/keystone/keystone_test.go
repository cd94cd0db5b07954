package keystone

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func exitAt(code int32, at time.Time) Exit { return Exit{Exited: true, ExitCode: code, FinishedAt: at} }
func exit(code int32) Exit                 { return exitAt(code, t0) }

var (
	succeeded = Outcome{TerminatePod: true, Phase: v1.PodSucceeded}
	failed    = Outcome{TerminatePod: true, Phase: v1.PodFailed}
	upstream  = Outcome{}
)

// Every row of the combined table (docs/keystone.md), both APIs.
func TestDecideCombinedTable(t *testing.T) {
	const (
		restart      = v1.ContainerRestartRuleActionRestart
		restartAll   = v1.ContainerRestartRuleActionRestartAllContainers
		terminatePod = v1.ContainerRestartRuleActionTerminatePod
	)
	tests := []struct {
		name string
		in   Input
		want Outcome
	}{
		// lifecycle.type: Keystone (KEP-2872)
		{"lifecycle: exit 0, Never: pod ends Succeeded", Input{API: APILifecycle, Policy: v1.RestartPolicyNever, Exit: exit(0)}, succeeded},
		{"lifecycle: exit 0, OnFailure: pod ends Succeeded", Input{API: APILifecycle, Policy: v1.RestartPolicyOnFailure, Exit: exit(0)}, succeeded},
		{"lifecycle: exit 3, Never: pod ends Failed", Input{API: APILifecycle, Policy: v1.RestartPolicyNever, Exit: exit(3)}, failed},
		{"lifecycle: exit 137, Never: pod ends Failed", Input{API: APILifecycle, Policy: v1.RestartPolicyNever, Exit: exit(137)}, failed},
		{"lifecycle: exit 3, OnFailure: keystone restarts", Input{API: APILifecycle, Policy: v1.RestartPolicyOnFailure, Exit: exit(3)}, upstream},
		{"lifecycle: exit 0, Always: keystone restarts", Input{API: APILifecycle, Policy: v1.RestartPolicyAlways, Exit: exit(0)}, upstream},
		{"lifecycle: exit 3, Always: keystone restarts", Input{API: APILifecycle, Policy: v1.RestartPolicyAlways, Exit: exit(3)}, upstream},
		{"lifecycle: restart rules are not consulted", Input{API: APILifecycle, Policy: v1.RestartPolicyNever, Rule: restart, Exit: exit(42)}, failed},
		{"lifecycle: still running", Input{API: APILifecycle, Policy: v1.RestartPolicyNever}, upstream},
		{"lifecycle: an earlier reset wins", Input{API: APILifecycle, Policy: v1.RestartPolicyNever, Exit: exit(137), Resetting: true}, upstream},
		// restartPolicyRules with TerminatePod (KEP-5307 + ours)
		{"rules: TerminatePod, exit 0: pod ends Succeeded", Input{API: APIRestartRules, Rule: terminatePod, Exit: exit(0)}, succeeded},
		{"rules: TerminatePod, exit 3: pod ends Failed", Input{API: APIRestartRules, Rule: terminatePod, Exit: exit(3)}, failed},
		{"rules: TerminatePod, exit 137: pod ends Failed", Input{API: APIRestartRules, Rule: terminatePod, Exit: exit(137)}, failed},
		// The pod's and the container's restartPolicy play no part.
		{"rules: TerminatePod, exit 0, policy Always: pod ends Succeeded", Input{API: APIRestartRules, Policy: v1.RestartPolicyAlways, Rule: terminatePod, Exit: exit(0)}, succeeded},
		{"rules: TerminatePod, exit 3, policy OnFailure: pod ends Failed", Input{API: APIRestartRules, Policy: v1.RestartPolicyOnFailure, Rule: terminatePod, Exit: exit(3)}, failed},
		{"rules: Restart: restart in place", Input{API: APIRestartRules, Rule: restart, Exit: exit(42)}, upstream},
		{"rules: RestartAllContainers: upstream's reset", Input{API: APIRestartRules, Rule: restartAll, Exit: exit(7)}, upstream},
		{"rules: no rule matches: container's policy", Input{API: APIRestartRules, Exit: exit(1)}, upstream},
		{"rules: still running", Input{API: APIRestartRules, Rule: terminatePod}, upstream},
		{"rules: an earlier reset wins", Input{API: APIRestartRules, Rule: terminatePod, Exit: exit(143), Resetting: true}, upstream},
		// no keystone
		{"no keystone", Input{API: APINone, Policy: v1.RestartPolicyNever, Rule: terminatePod, Exit: exit(0)}, upstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.in); got != tt.want {
				t.Errorf("Decide(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPhaseWaitsForTheOthersToStop(t *testing.T) {
	for _, api := range []Input{
		{API: APILifecycle, Policy: v1.RestartPolicyNever},
		{API: APIRestartRules, Rule: v1.ContainerRestartRuleActionTerminatePod},
	} {
		in := api
		in.Exit = exit(0)
		if phase, applies := Phase(in, true); !applies || phase != v1.PodRunning {
			t.Errorf("%s, with a sidecar still stopping: %q, %v; want Running", api.API, phase, applies)
		}
		if phase, applies := Phase(in, false); !applies || phase != v1.PodSucceeded {
			t.Errorf("%s, after the sidecars stopped: %q, %v; want Succeeded", api.API, phase, applies)
		}
		// The sidecars' own exit codes (143 after SIGTERM) play no part:
		// only the keystone's exit is an input.
		in.Exit = exit(1)
		if phase, _ := Phase(in, false); phase != v1.PodFailed {
			t.Errorf("%s, failed keystone: %q, want Failed", api.API, phase)
		}
	}
	if _, applies := Phase(Input{API: APILifecycle, Policy: v1.RestartPolicyAlways, Exit: exit(0)}, false); applies {
		t.Error("restartPolicy Always keeps upstream's phase rules")
	}
	if _, applies := Phase(Input{API: APIRestartRules, Rule: v1.ContainerRestartRuleActionRestart, Exit: exit(42)}, false); applies {
		t.Error("a Restart rule keeps upstream's phase rules")
	}
}

func TestTriggerPerGate(t *testing.T) {
	lifecycle := v1.Container{Name: "ks", Lifecycle: &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}}
	rules := v1.Container{Name: "tp", RestartPolicy: ptr.To(v1.ContainerRestartPolicyNever), RestartPolicyRules: []v1.ContainerRestartRule{
		{Action: v1.ContainerRestartRuleActionRestart, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}},
		{Action: v1.ContainerRestartRuleActionTerminatePod, ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpNotIn, Values: []int32{42}}},
	}}
	restartOnly := v1.Container{Name: "r", RestartPolicy: ptr.To(v1.ContainerRestartPolicyNever), RestartPolicyRules: rules.RestartPolicyRules[:1]}
	plain := v1.Container{Name: "sidecar"}
	pod := func(cs ...v1.Container) *v1.Pod { return &v1.Pod{Spec: v1.PodSpec{Containers: cs}} }
	tests := []struct {
		name                      string
		pod                       *v1.Pod
		lifecycleOn, restartRules bool
		wantName                  string
		wantAPI                   API
	}{
		{"keystone, both gates", pod(plain, lifecycle), true, true, "ks", APILifecycle},
		{"keystone, its gate only", pod(lifecycle), true, false, "ks", APILifecycle},
		{"keystone, the other gate only", pod(lifecycle), false, true, "", APINone},
		{"keystone, no gate", pod(lifecycle), false, false, "", APINone},
		{"TerminatePod, both gates", pod(plain, rules), true, true, "tp", APIRestartRules},
		{"TerminatePod, its gate only", pod(rules), false, true, "tp", APIRestartRules},
		{"TerminatePod, the other gate only", pod(rules), true, false, "", APINone},
		{"TerminatePod, no gate", pod(rules), false, false, "", APINone},
		{"Restart rules only", pod(restartOnly, plain), true, true, "", APINone},
		{"both APIs (refused by validation): lifecycle wins", pod(rules, lifecycle), true, true, "ks", APILifecycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, api := Trigger(tt.pod, tt.lifecycleOn, tt.restartRules)
			name := ""
			if c != nil {
				name = c.Name
			}
			if name != tt.wantName || api != tt.wantAPI {
				t.Errorf("Trigger = %q, %q; want %q, %q", name, api, tt.wantName, tt.wantAPI)
			}
		})
	}
}

func TestBeforeTreatsUnknownTimesAsLatest(t *testing.T) {
	known, later := exitAt(0, t0), exitAt(0, t0.Add(time.Millisecond))
	unknown := Exit{Exited: true}
	for _, tt := range []struct {
		a, b Exit
		want bool
	}{
		{known, later, true},
		{later, known, false},
		{known, known, false},
		{unknown, known, false},
		{known, unknown, true},
		{unknown, unknown, false},
	} {
		if got := before(tt.a, tt.b); got != tt.want {
			t.Errorf("before(%v, %v) = %v, want %v", tt.a.FinishedAt, tt.b.FinishedAt, got, tt.want)
		}
	}
}
