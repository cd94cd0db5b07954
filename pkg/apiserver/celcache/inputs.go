package celcache

import (
	"context"
	"reflect"
	"sync/atomic"

	"github.com/google/cel-go/common/types/ref"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/library"
)

// Inputs holds the request-level CEL inputs of one policy Dispatch: the
// AdmissionRequest and the trimmed namespace object each policy gets, the
// namespace read from the lister, and their CEL values. Every policy and
// binding that evaluates the same request gets the same values.
//
// Entries are keyed by the identity of what they were built from (a
// pointer), so a different gvr, a different namespace object or the raw
// namespace that audit annotations get are different entries, exactly as
// upstream builds different values for them.
//
// An Inputs lives for one Dispatch and is not safe for concurrent use. So
// are the CEL values it holds (schemaless values cache their field
// conversions without a lock); both dispatchers evaluate policies one after
// another.
//
// Every method works on a nil *Inputs by calling the upstream constructor
// it was given: a hook is upstream's line with one wrapper, and with the
// gate off (no Inputs installed) the path is upstream's.
type Inputs struct {
	requests   []requestEntry
	nsObjects  []nsObjectEntry
	namespaces []namespaceEntry
	values     pointerMemo[ref.Val]
	authz      []authzEntry
}

type requestEntry struct {
	attr    admission.Attributes
	gvr     metav1.GroupVersionResource
	gvk     metav1.GroupVersionKind
	request *admissionv1.AdmissionRequest
}

type nsObjectEntry struct{ from, object *corev1.Namespace }

type namespaceEntry struct {
	name      string
	namespace *corev1.Namespace
}

type authzEntry struct {
	va                          *admission.VersionedAttributes
	authz                       authorizer.UnconditionalAuthorizer
	authorizer, requestResource ref.Val
}

type inputsKey struct{}

// installed is set the first time any Inputs is installed, so that
// FromContext in a process (or a test binary) that never runs a policy
// dispatcher with the gate on costs one atomic load, not a context walk.
var installed atomic.Bool

// WithInputs returns ctx carrying a new Inputs when the gate is on, and ctx
// itself, without allocating, when it is off.
func WithInputs(ctx context.Context) context.Context {
	if !Enabled() {
		return ctx
	}
	installed.Store(true)
	return context.WithValue(ctx, inputsKey{}, &Inputs{})
}

// FromContext returns the Inputs that WithInputs installed in ctx, or nil.
// ctx may be nil (the cel package's composition context is nil for
// webhooks).
func FromContext(ctx context.Context) *Inputs {
	if ctx == nil || !installed.Load() {
		return nil
	}
	in, _ := ctx.Value(inputsKey{}).(*Inputs)
	return in
}

// CompositionParent returns the context that a MutatingAdmissionPolicy
// invocation's composition context should wrap. Upstream wraps the previous
// invocation's, so at N policies every ctx.Value walks N contexts; nothing
// reads a value from a composition context except through the outermost
// one, so with Inputs installed each invocation wraps the Dispatch context
// (base) instead. Without Inputs it is upstream's cur.
func CompositionParent(base, cur context.Context) context.Context {
	if FromContext(base) != nil {
		return base
	}
	return cur
}

// AdmissionRequest returns build(attr, gvr, gvk), built once per request
// for each attr, gvr and gvk. An AdmissionRequest holds no object, so the
// same one serves every policy and every patch of a MutatingAdmissionPolicy.
func (in *Inputs) AdmissionRequest(attr admission.Attributes, gvr metav1.GroupVersionResource, gvk metav1.GroupVersionKind,
	build func(admission.Attributes, metav1.GroupVersionResource, metav1.GroupVersionKind) *admissionv1.AdmissionRequest) *admissionv1.AdmissionRequest {
	if in == nil || !isPointer(attr) {
		return build(attr, gvr, gvk)
	}
	for i := range in.requests {
		e := &in.requests[i]
		if e.attr == attr && e.gvr == gvr && e.gvk == gvk {
			return e.request
		}
	}
	r := build(attr, gvr, gvk)
	in.requests = append(in.requests, requestEntry{attr: attr, gvr: gvr, gvk: gvk, request: r})
	return r
}

// NamespaceObject returns build(ns), built once per request for each ns.
func (in *Inputs) NamespaceObject(ns *corev1.Namespace, build func(*corev1.Namespace) *corev1.Namespace) *corev1.Namespace {
	if in == nil || ns == nil {
		return build(ns)
	}
	for _, e := range in.nsObjects {
		if e.from == ns {
			return e.object
		}
	}
	o := build(ns)
	in.nsObjects = append(in.nsObjects, nsObjectEntry{from: ns, object: o})
	return o
}

// Namespace returns get(ctx, name), read once per request. Only a success
// is kept, so an error is returned by every call that meets it, as
// upstream's per-binding reads would.
func (in *Inputs) Namespace(ctx context.Context, name string, get func(context.Context, string) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	if in == nil {
		return get(ctx, name)
	}
	for _, e := range in.namespaces {
		if e.name == name {
			return e.namespace, nil
		}
	}
	ns, err := get(ctx, name)
	if err == nil {
		in.namespaces = append(in.namespaces, namespaceEntry{name: name, namespace: ns})
	}
	return ns, err
}

// Value returns conv(v), converted once per request for each v. Only a
// non-nil pointer is a key; anything else is converted on every call.
func (in *Inputs) Value(v any, conv func(any) ref.Val) ref.Val {
	if in == nil || !isPointer(v) {
		return conv(v)
	}
	if val, ok := in.values.get(v); ok {
		return val
	}
	val := conv(v)
	in.values.put(v, val)
	return val
}

// Authorizer returns the two authorizer values of an activation, as the cel
// package's newActivation builds them, once per request for each
// VersionedAttributes and authorizer. authz must not be nil.
func (in *Inputs) Authorizer(va *admission.VersionedAttributes, authz authorizer.UnconditionalAuthorizer) (authorizerVal, requestResourceVal ref.Val) {
	if in == nil || va == nil || !isPointer(authz) {
		return newAuthorizerVals(va, authz)
	}
	for _, e := range in.authz {
		if e.va == va && e.authz == authz {
			return e.authorizer, e.requestResource
		}
	}
	a, r := newAuthorizerVals(va, authz)
	in.authz = append(in.authz, authzEntry{va: va, authz: authz, authorizer: a, requestResource: r})
	return a, r
}

func newAuthorizerVals(va *admission.VersionedAttributes, authz authorizer.UnconditionalAuthorizer) (ref.Val, ref.Val) {
	return library.NewAuthorizerVal(va.GetUserInfo(), authz), library.NewResourceAuthorizerVal(va.GetUserInfo(), authz, va)
}

// isPointer reports whether v is a non-nil pointer: only those are
// comparable by identity (an interface holding a map or a slice would
// panic in ==, and two equal structs are not the same input).
func isPointer(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && !rv.IsNil()
}

// pointerMemo maps pointers (held in interfaces) to values: a slice for
// the usual handful of entries, a map once there are more (params of
// hundreds of bindings).
type pointerMemo[V any] struct {
	keys  []any
	vals  []V
	spill map[any]V
}

const memoSliceMax = 8

func (m *pointerMemo[V]) get(k any) (V, bool) {
	if m.spill != nil {
		v, ok := m.spill[k]
		return v, ok
	}
	for i, key := range m.keys {
		if key == k {
			return m.vals[i], true
		}
	}
	var zero V
	return zero, false
}

func (m *pointerMemo[V]) put(k any, v V) {
	if m.spill != nil {
		m.spill[k] = v
		return
	}
	if len(m.keys) < memoSliceMax {
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		return
	}
	m.spill = make(map[any]V, 2*memoSliceMax)
	for i, key := range m.keys {
		m.spill[key] = m.vals[i]
	}
	m.spill[k] = v
	m.keys, m.vals = nil, nil
}
