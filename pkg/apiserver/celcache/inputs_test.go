package celcache

import (
	"context"
	"errors"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func attrs() admission.Attributes {
	return admission.NewAttributesRecord(nil, nil, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "ns", "p",
		schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "", admission.Create, nil, false, &user.DefaultInfo{Name: "u"})
}

type counter struct{ n int }

func (c *counter) request(a admission.Attributes, gvr metav1.GroupVersionResource, gvk metav1.GroupVersionKind) *admissionv1.AdmissionRequest {
	c.n++
	return &admissionv1.AdmissionRequest{Name: a.GetName(), Resource: gvr, Kind: gvk}
}

func (c *counter) nsObject(ns *corev1.Namespace) *corev1.Namespace {
	c.n++
	if ns == nil {
		return nil
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name}}
}

func (c *counter) conv(v any) ref.Val {
	c.n++
	return types.String("v")
}

func TestNilInputsCallsUpstream(t *testing.T) {
	var in *Inputs
	var c counter
	a := attrs()
	gvr, gvk := metav1.GroupVersionResource{Resource: "pods"}, metav1.GroupVersionKind{Kind: "Pod"}
	r1, r2 := in.AdmissionRequest(a, gvr, gvk, c.request), in.AdmissionRequest(a, gvr, gvk, c.request)
	ns := &corev1.Namespace{}
	in.NamespaceObject(ns, c.nsObject)
	in.NamespaceObject(ns, c.nsObject)
	in.Value(ns, c.conv)
	in.Value(ns, c.conv)
	if r1 == r2 || c.n != 6 {
		t.Errorf("nil Inputs memoized: same request %v, %d builds, want 6", r1 == r2, c.n)
	}
	gets := 0
	get := func(context.Context, string) (*corev1.Namespace, error) { gets++; return ns, nil }
	in.Namespace(context.Background(), "ns", get)
	in.Namespace(context.Background(), "ns", get)
	if gets != 2 {
		t.Errorf("nil Inputs: %d namespace reads, want 2", gets)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	gate(t, false)
	if got := WithInputs(ctx); got != ctx {
		t.Error("gate off: WithInputs changed the context")
	}
	if n := testing.AllocsPerRun(10, func() { WithInputs(ctx) }); n != 0 {
		t.Errorf("gate off: WithInputs allocates %v", n)
	}
	if FromContext(nil) != nil || FromContext(ctx) != nil {
		t.Error("FromContext without Inputs is not nil")
	}
	if CompositionParent(ctx, context.TODO()) != context.TODO() {
		t.Error("without Inputs CompositionParent is not upstream's cur")
	}
	gate(t, true)
	base := WithInputs(ctx)
	in := FromContext(base)
	if in == nil {
		t.Fatal("gate on: no Inputs installed")
	}
	type k struct{}
	cur := context.WithValue(base, k{}, 1)
	if FromContext(cur) != in {
		t.Error("a derived context lost the Inputs")
	}
	if CompositionParent(base, cur) != base {
		t.Error("with Inputs CompositionParent is not the dispatch context")
	}
	if FromContext(WithInputs(ctx)) == in {
		t.Error("two dispatches share one Inputs")
	}
}

func TestInputsMemo(t *testing.T) {
	in := &Inputs{}
	var c counter
	a, other := attrs(), attrs()
	gvr, gvk := metav1.GroupVersionResource{Resource: "pods"}, metav1.GroupVersionKind{Kind: "Pod"}
	r := in.AdmissionRequest(a, gvr, gvk, c.request)
	if in.AdmissionRequest(a, gvr, gvk, c.request) != r || c.n != 1 {
		t.Errorf("same key built again (%d builds)", c.n)
	}
	if in.AdmissionRequest(a, metav1.GroupVersionResource{Resource: "pods", Version: "v1"}, gvk, c.request) == r {
		t.Error("another gvr got the same request")
	}
	if in.AdmissionRequest(a, gvr, metav1.GroupVersionKind{Kind: "Pod", Version: "v1"}, c.request) == r {
		t.Error("another gvk got the same request")
	}
	if in.AdmissionRequest(other, gvr, gvk, c.request) == r {
		t.Error("other attributes got the same request")
	}

	raw := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	trimmed := in.NamespaceObject(raw, c.nsObject)
	if trimmed == raw || in.NamespaceObject(raw, c.nsObject) != trimmed {
		t.Error("namespace object not built once")
	}
	if in.NamespaceObject(nil, c.nsObject) != nil {
		t.Error("nil namespace gave an object")
	}
	c.n = 0
	vRaw, vTrimmed := in.Value(raw, c.conv), in.Value(trimmed, c.conv)
	in.Value(raw, c.conv)
	in.Value(trimmed, c.conv)
	if c.n != 2 || vRaw == nil || vTrimmed == nil {
		t.Errorf("raw and trimmed namespaces: %d conversions, want 2 (one each)", c.n)
	}
	c.n = 0
	in.Value((*corev1.Namespace)(nil), c.conv)
	in.Value((*corev1.Namespace)(nil), c.conv)
	in.Value(corev1.Namespace{}, c.conv)
	in.Value(corev1.Namespace{}, c.conv)
	if c.n != 4 {
		t.Errorf("nil pointers and values: %d conversions, want 4 (never memoized)", c.n)
	}
}

func TestInputsNamespaceKeepsOnlySuccesses(t *testing.T) {
	in := &Inputs{}
	ns := &corev1.Namespace{}
	fail := errors.New("not found")
	var calls int
	get := func(_ context.Context, name string) (*corev1.Namespace, error) {
		calls++
		if name == "missing" {
			return nil, fail
		}
		return ns, nil
	}
	for i := 0; i < 2; i++ {
		if _, err := in.Namespace(context.Background(), "missing", get); !errors.Is(err, fail) {
			t.Errorf("missing: %v", err)
		}
		if got, err := in.Namespace(context.Background(), "ns", get); got != ns || err != nil {
			t.Errorf("ns: %v %v", got, err)
		}
	}
	if calls != 3 {
		t.Errorf("%d reads, want 3 (the error read twice, the success once)", calls)
	}
}

func TestPointerMemoSpills(t *testing.T) {
	var m pointerMemo[int]
	keys := make([]*int, 3*memoSliceMax)
	for i := range keys {
		keys[i] = new(int)
		m.put(keys[i], i)
	}
	if m.spill == nil {
		t.Fatal("no map past the slice bound")
	}
	for i, k := range keys {
		if v, ok := m.get(k); !ok || v != i {
			t.Errorf("key %d: %v %v", i, v, ok)
		}
	}
	if _, ok := m.get(new(int)); ok {
		t.Error("an unknown key was found")
	}
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
}

type pointerAuthz struct{ allowAll }

func TestInputsAuthorizer(t *testing.T) {
	in := &Inputs{}
	va := &admission.VersionedAttributes{Attributes: attrs()}
	authz := &pointerAuthz{}
	a1, r1 := in.Authorizer(va, authz)
	a2, r2 := in.Authorizer(va, authz)
	if a1 == nil || r1 == nil || a1.Type() != a2.Type() || r1.Type() != r2.Type() {
		t.Fatalf("authorizer values: %v %v", a1, r1)
	}
	if len(in.authz) != 1 {
		t.Errorf("%d entries for one VersionedAttributes and authorizer, want 1", len(in.authz))
	}
	in.Authorizer(&admission.VersionedAttributes{Attributes: attrs()}, authz)
	in.Authorizer(va, allowAll{}) // not a pointer: never memoized
	in.Authorizer(va, allowAll{})
	if len(in.authz) != 2 {
		t.Errorf("%d entries, want 2", len(in.authz))
	}
}
