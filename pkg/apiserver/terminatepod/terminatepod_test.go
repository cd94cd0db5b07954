package terminatepod

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	api "k8s.io/kubernetes/pkg/apis/core"
	"k8s.io/utils/ptr"
)

func rule(action api.ContainerRestartRuleAction, op api.ContainerRestartRuleOnExitCodesOperator, codes ...int32) api.ContainerRestartRule {
	return api.ContainerRestartRule{Action: action, ExitCodes: &api.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
}

var (
	restart42      = rule(api.ContainerRestartRuleActionRestart, api.ContainerRestartRuleOnExitCodesOpIn, 42)
	terminateNot42 = rule(api.ContainerRestartRuleActionTerminatePod, api.ContainerRestartRuleOnExitCodesOpNotIn, 42)
	restartAll7    = rule(api.ContainerRestartRuleActionRestartAllContainers, api.ContainerRestartRuleOnExitCodesOpIn, 7)
)

func ctr(name string, policy *api.ContainerRestartPolicy, rules ...api.ContainerRestartRule) api.Container {
	return api.Container{Name: name, RestartPolicy: policy, RestartPolicyRules: rules}
}

var (
	never  = ptr.To(api.ContainerRestartPolicyNever)
	always = ptr.To(api.ContainerRestartPolicyAlways)
)

func TestSupportedActions(t *testing.T) {
	upstream := sets.New(api.ContainerRestartRuleActionRestart, api.ContainerRestartRuleActionRestartAllContainers)
	if got := SupportedActions(upstream, false); !got.Equal(upstream) {
		t.Errorf("not allowed: %v, want upstream's %v", sets.List(got), sets.List(upstream))
	}
	got := SupportedActions(upstream, true)
	want := sets.New(api.ContainerRestartRuleActionRestart, api.ContainerRestartRuleActionRestartAllContainers, api.ContainerRestartRuleActionTerminatePod)
	if !got.Equal(want) {
		t.Errorf("allowed: %v, want %v", sets.List(got), sets.List(want))
	}
	if upstream.Has(api.ContainerRestartRuleActionTerminatePod) {
		t.Error("upstream's set was changed")
	}
}

func TestAllowedRatchets(t *testing.T) {
	withRules := func(rules ...api.ContainerRestartRule) *api.PodSpec {
		return &api.PodSpec{Containers: []api.Container{ctr("main", never, rules...)}}
	}
	tests := []struct {
		name    string
		enabled bool
		old     *api.PodSpec
		want    bool
	}{
		{"gate on, create", true, nil, true},
		{"gate on, update", true, withRules(restart42), true},
		{"gate off, create", false, nil, false},
		{"gate off, update of an object without rules", false, &api.PodSpec{Containers: []api.Container{{Name: "main"}}}, false},
		{"gate off, update of an object with Restart rules only", false, withRules(restart42), false},
		{"gate off, update of an object that uses TerminatePod", false, withRules(restart42, terminateNot42), true},
		{"gate off, TerminatePod on an init container (stored before validation refused it)", false,
			&api.PodSpec{InitContainers: []api.Container{ctr("init", never, terminateNot42)}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowed(tt.enabled, tt.old); got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidatePodSpec(t *testing.T) {
	tests := []struct {
		name string
		spec *api.PodSpec
		want []string // "<type> <field>: <detail fragment>", in order
	}{
		{"V1: regular container", &api.PodSpec{Containers: []api.Container{ctr("main", never, restart42, terminateNot42), {Name: "sidecar"}}}, nil},
		{"V1: regular container beside a native sidecar and RestartAllContainers", &api.PodSpec{
			InitContainers: []api.Container{ctr("native", always, restartAll7)},
			Containers:     []api.Container{ctr("main", never, restartAll7, restart42, terminateNot42)}}, nil},
		{"no TerminatePod at all", &api.PodSpec{Containers: []api.Container{ctr("main", never, restart42)}}, nil},
		{"V2: init container", &api.PodSpec{
			InitContainers: []api.Container{ctr("init", never, terminateNot42)}, Containers: []api.Container{{Name: "main"}}},
			[]string{"FieldValueForbidden spec.initContainers[0].restartPolicyRules[0].action: move the container to spec.containers, or use action Restart"}},
		{"V3: sidecar", &api.PodSpec{
			InitContainers: []api.Container{ctr("native", always, restartAll7, terminateNot42)}, Containers: []api.Container{{Name: "main"}}},
			[]string{"FieldValueForbidden spec.initContainers[0].restartPolicyRules[1].action: not valid on sidecar containers"}},
		{"V4: ephemeral container", &api.PodSpec{Containers: []api.Container{{Name: "main"}},
			EphemeralContainers: []api.EphemeralContainer{{EphemeralContainerCommon: api.EphemeralContainerCommon{
				Name: "debug", RestartPolicy: never, RestartPolicyRules: []api.ContainerRestartRule{terminateNot42}}}}},
			[]string{"FieldValueForbidden spec.ephemeralContainers[0].restartPolicyRules[0].action: remove the rule"}},
		{"V5: a second container", &api.PodSpec{Containers: []api.Container{ctr("a", never, terminateNot42), ctr("b", never, restart42, terminateNot42)}},
			[]string{"FieldValueInvalid spec.containers[1].restartPolicyRules[1].action: one container only; spec.containers[0] already has them"}},
		{"V5: two TerminatePod rules on one container are fine", &api.PodSpec{Containers: []api.Container{
			ctr("a", never, rule(api.ContainerRestartRuleActionTerminatePod, api.ContainerRestartRuleOnExitCodesOpIn, 0), terminateNot42)}}, nil},
		{"V6: beside a keystone", &api.PodSpec{Containers: []api.Container{
			{Name: "ks", Lifecycle: &api.Lifecycle{Type: api.LifecycleTypeKeystone}}, ctr("main", never, terminateNot42)}},
			[]string{"FieldValueForbidden spec.containers[1].restartPolicyRules[0].action: lifecycle.type: Keystone (spec.containers[0]) or TerminatePod restart rules, not both; to move the keystone to restart rules, remove its lifecycle.type"}},
		{"V6: on the keystone itself", &api.PodSpec{Containers: []api.Container{{
			Name: "ks", Lifecycle: &api.Lifecycle{Type: api.LifecycleTypeKeystone}, RestartPolicy: never,
			RestartPolicyRules: []api.ContainerRestartRule{terminateNot42}}}},
			[]string{"FieldValueForbidden spec.containers[0].restartPolicyRules[0].action: not both"}},
		{"a keystone with Restart rules only is not both APIs", &api.PodSpec{Containers: []api.Container{{
			Name: "ks", Lifecycle: &api.Lifecycle{Type: api.LifecycleTypeKeystone}, RestartPolicy: never,
			RestartPolicyRules: []api.ContainerRestartRule{restart42}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidatePodSpec(tt.spec, field.NewPath("spec"))
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tt.want), errs)
			}
			for i, e := range errs {
				got := string(e.Type) + " " + e.Field + ": " + e.Detail
				typ, rest, _ := strings.Cut(tt.want[i], " ")
				fld, frag, _ := strings.Cut(rest, ": ")
				if string(e.Type) != typ || e.Field != fld || !strings.Contains(got, frag) {
					t.Errorf("error %d = %q, want %s %s containing %q", i, got, typ, fld, frag)
				}
			}
		})
	}
}

func TestInUse(t *testing.T) {
	if InUse(nil) || InUse(&api.PodSpec{Containers: []api.Container{ctr("main", never, restart42)}}) {
		t.Error("no TerminatePod rule: not in use")
	}
	for _, s := range []*api.PodSpec{
		{Containers: []api.Container{ctr("main", never, restart42, terminateNot42)}},
		{InitContainers: []api.Container{ctr("init", never, terminateNot42)}},
		{EphemeralContainers: []api.EphemeralContainer{{EphemeralContainerCommon: api.EphemeralContainerCommon{RestartPolicyRules: []api.ContainerRestartRule{terminateNot42}}}}},
	} {
		if !InUse(s) {
			t.Errorf("%+v: want in use", s)
		}
	}
}
