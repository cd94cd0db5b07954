package celadmission

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/warning"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/pkg/features"
)

// outcome is everything a policy plugin returns or records for a request.
type outcome struct {
	Err         string
	Status      *metav1.Status
	Annotations []string
	Warnings    []string
	Object      map[string]string // the mutated object's annotations and labels
}

type warnings struct{ list []string }

func (w *warnings) AddWarning(agent, text string) { w.list = append(w.list, agent+": "+text) }

func run(p *Plugin, attr func() *Recorder) outcome {
	var w warnings
	ctx := warning.WithWarningRecorder(context.Background(), &w)
	a := attr()
	err := p.Admit(ctx, a)
	var o outcome
	if err != nil {
		o.Err = err.Error()
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			s := status.Status()
			o.Status = &s
		}
	}
	o.Annotations, o.Warnings = a.Annotations, w.list
	if pod, ok := a.GetObject().(*corev1.Pod); ok && p.mutate != nil {
		o.Object = map[string]string{}
		for k, v := range pod.Annotations {
			o.Object["annotation "+k] = v
		}
		for k, v := range pod.Labels {
			o.Object["label "+k] = v
		}
	}
	return o
}

// compare runs every request gate off, gate on and gate on again (warm
// caches) and requires the same outcome each time. It returns the gate-off
// outcomes so that a caller can check the scenario did what it says.
func compare(t *testing.T, p *Plugin, requests map[string]func() *Recorder) map[string]outcome {
	t.Helper()
	off := map[string]outcome{}
	for name, attr := range requests {
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, false)
		want := run(p, attr)
		off[name] = want
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, true)
		for _, pass := range []string{"gate on", "gate on, warm"} {
			if got := run(p, attr); !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s:\n got  %+v\n want %+v (gate off)", name, pass, got, want)
			}
		}
	}
	return off
}

func pod(name, namespace string, labels map[string]string) *corev1.Pod {
	p := Pod()
	p.Name, p.Namespace, p.Labels = name, namespace, labels
	return p
}

func create(p *corev1.Pod) func() *Recorder {
	return func() *Recorder { return CreatePod(p.DeepCopy()) }
}

func update(newPod, oldPod *corev1.Pod) func() *Recorder {
	return func() *Recorder {
		n, o := newPod.DeepCopy(), oldPod.DeepCopy()
		return &Recorder{Attributes: admission.NewAttributesRecord(n, o, schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
			n.Namespace, n.Name, schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "", admission.Update,
			&metav1.UpdateOptions{}, true, User())}
	}
}

func createNamespace(name string) func() *Recorder {
	return func() *Recorder {
		ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "x"}}}
		return &Recorder{Attributes: admission.NewAttributesRecord(ns, nil, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"},
			name, name, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", admission.Create, &metav1.CreateOptions{}, false, User())}
	}
}

// vap is a validating policy that applies to pods whose name starts with
// prefix (a match condition), and its binding.
func vap(name, prefix string, mod func(*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding)) []runtime.Object {
	p, b := ValidatingPolicy(0)
	p.Name, b.Name, b.Spec.PolicyName = name, name+"-binding", name
	p.Spec.MatchConstraints.ResourceRules[0].Rule.Resources = []string{"pods", "namespaces"}
	p.Spec.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "prefix", Expression: fmt.Sprintf(`object.metadata.name.startsWith(%q)`, prefix)}}
	p.Spec.Validations = validation(fmt.Sprintf(`variables.name.startsWith(%q)`, prefix))
	if mod != nil {
		mod(p, b)
	}
	return []runtime.Object{p, b}
}

func validation(expr string) []admissionregistrationv1.Validation {
	return []admissionregistrationv1.Validation{{Expression: expr}}
}

func TestValidatingSameOutcomes(t *testing.T) {
	objs := BaseObjects()
	objs = append(objs,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"team": "other", "env": "prod"}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second", Namespace: Namespace, Labels: map[string]string{"kind": "small"}}, Data: map[string]string{"maxLen": "4", "prefix": "pod-"}})
	// The benchmark's own policies (params by name and selector, the
	// authorizer), for pods named pod-*: a plugin returns only the first
	// denial, so each scenario's policies apply to their own names only.
	for i := 0; i < 10; i++ {
		p, b := ValidatingPolicy(i)
		p.Spec.MatchConditions = append(p.Spec.MatchConditions, admissionregistrationv1.MatchCondition{Name: "bench", Expression: `object.metadata.name.startsWith("pod-")`})
		objs = append(objs, p, b)
	}
	add := func(o []runtime.Object) { objs = append(objs, o...) }
	add(vap("deny-reason", "deny-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = []admissionregistrationv1.Validation{
			{Expression: `!object.metadata.name.endsWith("-x")`, Reason: ptr.To(metav1.StatusReasonForbidden), MessageExpression: `"no -x: " + object.metadata.name`},
			{Expression: `!object.metadata.name.endsWith("-y")`, Message: "no -y"},
			{Expression: `!object.metadata.name.endsWith("-z")`},
			{Expression: `!object.metadata.name.endsWith("-m")`, MessageExpression: `"multi\nline"`, Message: "fallback message"},
			{Expression: `!object.metadata.name.endsWith("-n")`, MessageExpression: `string(request.namespace) + " " + variables.team`},
		}
	}))
	add(vap("warn-audit", "warn-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = []admissionregistrationv1.Validation{{Expression: `false`, MessageExpression: `"warned " + object.metadata.name`}}
		b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Audit}
	}))
	add(vap("runtime-error", "err-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = validation(`object.metadata.labels["missing"] == "x"`)
	}))
	add(vap("runtime-error-ignored", "err-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = validation(`object.metadata.labels["missing"] == "x"`)
		p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
	}))
	add(vap("compile-error", "compile-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = validation(`object.metadata.name.nope(`)
	}))
	add(vap("param-missing-deny", "param-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		p.Spec.Validations = validation(`params.data.maxLen == "32"`)
		b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: "absent", Namespace: Namespace, ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)}
		// Params are collected before match conditions run: the binding's
		// object selector keeps this scenario to its own request.
		b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"scenario": "param"}}
	}))
	add(vap("param-missing-allow", "param-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		p.Spec.Validations = validation(`params.data.maxLen == "32"`)
		b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: "absent", Namespace: Namespace, ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction)}
		// Params are collected before match conditions run: the binding's
		// object selector keeps this scenario to its own request.
		b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"scenario": "param"}}
	}))
	add(vap("param-selector-two", "sel-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		p.Spec.Validations = validation(`size(object.metadata.name) <= int(params.data.maxLen)`)
		b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Namespace: Namespace, Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kind", Operator: metav1.LabelSelectorOpIn, Values: []string{"limits", "small"}}}}, ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)}
	}))
	add(vap("match-error", "mc-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.MatchConditions = append(p.Spec.MatchConditions, admissionregistrationv1.MatchCondition{Name: "broken", Expression: `object.metadata.labels["nope"] == "x"`})
		p.Spec.Validations = validation(`true`)
	}))
	add(vap("match-error-ignored", "mc-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.MatchConditions = append(p.Spec.MatchConditions, admissionregistrationv1.MatchCondition{Name: "broken", Expression: `object.metadata.labels["nope"] == "x"`})
		p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
		p.Spec.Validations = validation(`false`)
	}))
	add(vap("cost", "cost-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		l := "[" + strings.Repeat("1,", 39) + "1]"
		p.Spec.Variables = append(p.Spec.Variables, admissionregistrationv1.Variable{Name: "big", Expression: l + ".map(a, " + l + ".map(b, " + l + ".map(c, a+b+c)))"})
		p.Spec.Validations = validation(`size(variables.big) > 0 && size(variables.big) > 0 && size(variables.big) > 0`)
	}))
	add(vap("ns-selector-other", "nsel-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = []admissionregistrationv1.Validation{{Expression: `false`, Message: "selected"}}
		b.Spec.MatchResources.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "other"}}
		b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{}
	}))
	add(vap("object-selector-old", "upd-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"old": "yes"}}
		p.Spec.Validations = validation(`oldObject != null && request.dryRun`)
		p.Spec.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "old", ValueExpression: `string(oldObject.metadata.labels["old"])`}}
	}))
	add(vap("namespace-create", "nsc-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		b.Spec.MatchResources = nil
		p.Spec.Variables = nil
		p.Spec.Validations = validation(`namespaceObject == null && request.namespace == object.metadata.name`)
		p.Spec.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "ns", ValueExpression: `request.name`}}
	}))
	add(vap("authz", "authz-", func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p.Spec.Validations = []admissionregistrationv1.Validation{
			{Expression: `authorizer.requestResource.check("create").allowed()`},
			{Expression: `!authorizer.group("apps").resource("deployments").namespace("bench").check("delete").allowed()`, MessageExpression: `"delete allowed for " + request.userInfo.username`},
		}
	}))
	multi := vap("two-bindings", "multi-", nil)
	second := multi[1].(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).DeepCopy()
	second.Name = "two-bindings-second"
	add(append(multi, second))

	p, err := New(Validating, objs, func(p *Plugin) error { return CheckValidated(p, 10) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	labels := map[string]string{"app": "web"}
	requests := map[string]func() *Recorder{
		"allowed":                        create(Pod()),
		"denied with messageExpression":  create(pod("deny-a-x", Namespace, labels)),
		"denied with message":            create(pod("deny-a-y", Namespace, labels)),
		"denied with expression":         create(pod("deny-a-z", Namespace, labels)),
		"denied, multi-line message":     create(pod("deny-a-m", Namespace, labels)),
		"denied, message from namespace": create(pod("deny-a-n", Namespace, labels)),
		"warn and audit":                 create(pod("warn-a", Namespace, labels)),
		"runtime errors":                 create(pod("err-a", Namespace, labels)),
		"compile error":                  create(pod("compile-a", Namespace, labels)),
		"params missing":                 create(pod("param-a", Namespace, map[string]string{"app": "web", "scenario": "param"})),
		"params by selector":             create(pod("sel-", Namespace, labels)),
		"params by selector, too long":   create(pod("sel-abcdef", Namespace, labels)),
		"match condition errors":         create(pod("mc-a", Namespace, labels)),
		"cost limit":                     create(pod("cost-a", Namespace, labels)),
		"namespace selector miss":        create(pod("nsel-a", Namespace, labels)),
		"namespace selector hit":         create(pod("nsel-a", "other", labels)),
		"namespace missing":              create(pod("pod-a", "ghost", labels)),
		"object selector unlabelled":     create(pod("pod-a", Namespace, nil)),
		"object selector on old":         update(pod("upd-a", Namespace, labels), pod("upd-a", Namespace, map[string]string{"old": "yes", "app": "web"})),
		"namespace create":               createNamespace("nsc-new"),
		"authorizer":                     create(pod("authz-a", Namespace, labels)),
		"several bindings":               create(pod("multi-a", Namespace, labels)),
	}
	off := compare(t, p, requests)

	// The scenarios do what their names say (gate off is upstream).
	for name, want := range map[string]string{
		"denied with messageExpression": "no -x: deny-a-x",
		"denied with message":           "no -y",
		"denied with expression":        "failed expression: !object.metadata.name.endsWith(\"-z\")",
		"denied, multi-line message":    "fallback message",
		"runtime errors":                "no such key",
		"compile error":                 "compilation error",
		"params missing":                "no params found",
		"params by selector, too long":  "failed expression",
		"match condition errors":        "no such key",
		"namespace missing":             "not found",
		"namespace selector hit":        "selected",
		"authorizer":                    "delete allowed for alice",
	} {
		if !strings.Contains(off[name].Err, want) {
			t.Errorf("%s: error %q does not contain %q", name, off[name].Err, want)
		}
	}
	for _, name := range []string{"allowed", "params by selector", "namespace selector miss", "object selector on old", "namespace create", "several bindings", "warn and audit"} {
		if off[name].Err != "" {
			t.Errorf("%s: denied: %s", name, off[name].Err)
		}
	}
	if len(off["warn and audit"].Warnings) == 0 {
		t.Error("warn and audit: no warning")
	}
	if a := off["several bindings"].Annotations; len(a) == 0 || !strings.HasPrefix(a[0], "two-bindings/checked=") {
		t.Errorf("several bindings: annotations %v", a)
	}

	// An informer update of a binding's selector and of a param: the caches
	// must follow it.
	ctx := context.Background()
	b, err := p.Client().AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, "ns-selector-other-binding", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Spec.MatchResources.NamespaceSelector.MatchLabels["team"] = "bench"
	b.ResourceVersion = "2"
	if _, err := p.Client().AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := p.Client().CoreV1().ConfigMaps(Namespace).Get(ctx, ParamName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["maxLen"] = "3"
	cm.ResourceVersion = "2"
	if _, err := p.Client().CoreV1().ConfigMaps(Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, true)
	if err := waitFor(p, create(pod("nsel-a", Namespace, labels)), "selected"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(p, create(Pod()), "name too long"); err != nil {
		t.Fatal(err)
	}
	after := compare(t, p, requests)
	if !strings.Contains(after["namespace selector miss"].Err, "selected") || !strings.Contains(after["allowed"].Err, "name too long") {
		t.Errorf("gate off does not see the updates: %+v, %+v", after["namespace selector miss"], after["allowed"])
	}
}

// waitFor polls, gate on, until the plugin's error for attr contains msg:
// an informer update has reached it.
func waitFor(p *Plugin, attr func() *Recorder, msg string) error {
	var last outcome
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		last = run(p, attr)
		return strings.Contains(last.Err, msg), nil
	})
	if err != nil {
		return fmt.Errorf("an update never reached the plugin (want an error with %q): last outcome %+v", msg, last)
	}
	return nil
}

func mapPolicy(name, prefix string, failure admissionregistrationv1.FailurePolicyType, m admissionregistrationv1.Mutation) []runtime.Object {
	p, b := MutatingPolicy(0)
	p.Name, b.Name, b.Spec.PolicyName = name, name+"-binding", name
	p.Spec.FailurePolicy = ptr.To(failure)
	p.Spec.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "prefix", Expression: fmt.Sprintf(`object.metadata.name.startsWith(%q)`, prefix)}}
	p.Spec.Mutations = []admissionregistrationv1.Mutation{m}
	return []runtime.Object{p, b}
}

func jsonPatch(expr string) admissionregistrationv1.Mutation {
	return admissionregistrationv1.Mutation{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: expr}}
}

func TestMutatingSameOutcomes(t *testing.T) {
	objs := append(BaseObjects(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"team": "other", "env": "prod"}}})
	const bench = 8
	for i := 0; i < bench; i++ {
		p, b := MutatingPolicy(i)
		p.Spec.MatchConditions = append(p.Spec.MatchConditions, admissionregistrationv1.MatchCondition{Name: "bench", Expression: `object.metadata.name.startsWith("pod-")`})
		objs = append(objs, p, b)
	}
	objs = append(objs, mapPolicy("test-op", "jt-", admissionregistrationv1.Fail,
		jsonPatch(`[JSONPatch{op: "test", path: "/metadata/name", value: "other"}, JSONPatch{op: "add", path: "/metadata/labels/x", value: "y"}]`))...)
	objs = append(objs, mapPolicy("runtime-error", "merr-", admissionregistrationv1.Fail,
		jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/x", value: object.metadata.labels["missing"]}]`))...)
	objs = append(objs, mapPolicy("runtime-error-ignored", "mign-", admissionregistrationv1.Ignore,
		jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/x", value: object.metadata.labels["missing"]}]`))...)
	objs = append(objs, mapPolicy("chain-a", "chain-", admissionregistrationv1.Fail,
		jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/step", value: "1"}]`))...)
	objs = append(objs, mapPolicy("chain-b", "chain-", admissionregistrationv1.Fail,
		jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/step", value: object.metadata.labels.?step.orValue("") + "2"}]`))...)
	objs = append(objs, mapPolicy("chain-c", "chain-", admissionregistrationv1.Fail, admissionregistrationv1.Mutation{
		PatchType:          admissionregistrationv1.PatchTypeApplyConfiguration,
		ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"seen": object.metadata.labels.?step.orValue("") + variables.team}}}`},
	})...)

	p, err := New(Mutating, objs, func(p *Plugin) error { return CheckMutated(p, bench) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	labels := map[string]string{"app": "web"}
	requests := map[string]func() *Recorder{
		"benchmark chain":         create(Pod()),
		"failing test op":         create(pod("jt-a", Namespace, labels)),
		"runtime error":           create(pod("merr-a", Namespace, labels)),
		"runtime error ignored":   create(pod("mign-a", Namespace, labels)),
		"policies chained":        create(pod("chain-a", Namespace, labels)),
		"namespace selector miss": create(pod("pod-a", "other", labels)),
		"object selector miss":    create(pod("pod-a", Namespace, nil)),
		"namespace missing":       create(pod("pod-a", "ghost", labels)),
	}
	off := compare(t, p, requests)
	// The plugin's order of the three is the informer's; each reads what the
	// one before it wrote.
	if got := off["policies chained"]; got.Err != "" || len(got.Object["label step"]) < 1 || !strings.HasSuffix(got.Object["label seen"], "bench") {
		t.Errorf("policies chained: %+v", off["policies chained"])
	}
	if jt := off["failing test op"]; jt.Err != "" || jt.Object["label x"] != "" {
		t.Errorf("failing test op: upstream applies none of the patch and admits: %+v", jt)
	}
	if !strings.Contains(off["runtime error"].Err, "no such key") || off["runtime error ignored"].Err != "" {
		t.Errorf("errors: runtime %q, ignored %q", off["runtime error"].Err, off["runtime error ignored"].Err)
	}
	if n := len(off["benchmark chain"].Object); n != bench+2 {
		t.Errorf("benchmark chain: %d annotations and labels, want %d: %v", n, bench+2, off["benchmark chain"].Object)
	}
}

// TestConcurrentDispatch admits in parallel with the gate on: under -race
// it shows that nothing a dispatch shares (the selector cache) races, and
// that each dispatch's Inputs stay its own.
func TestConcurrentDispatch(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.CELAdmissionCache, true)
	const n = 12
	objs, ready := Workload(Validating, n)
	p, err := New(Validating, objs, ready)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 25; i++ {
				if err := CheckValidated(p, n); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
