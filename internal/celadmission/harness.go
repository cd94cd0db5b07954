// Package celadmission drives upstream's ValidatingAdmissionPolicy and
// MutatingAdmissionPolicy admission plugins in process, with no network and
// no etcd: the real plugins (their production compile path and wiring) over
// fake clients and informers. The benchmark of make bench-admission-cpu and
// the differential test of the CELAdmissionCache gate both use it.
package celadmission

import (
	"context"
	"fmt"
	"maps"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/discovery"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/openapitest"
)

// Plugin is one admission plugin over its own fake cluster.
type Plugin struct {
	Interfaces admission.ObjectInterfaces
	validate   admission.ValidationInterface
	mutate     admission.MutationInterface
	client     kubernetes.Interface
	stop       context.CancelFunc
}

// Close stops the plugin's informers.
func (p *Plugin) Close() { p.stop() }

// Kind says which plugin to build.
type Kind string

const (
	Validating Kind = "validating"
	Mutating   Kind = "mutating"
)

// New builds the plugin of the given kind over a fake cluster holding objs
// (namespaces, ConfigMaps, policies and bindings) and waits until its
// informers have synced. ready must return nil once the plugin sees every
// policy (the policy source compiles after its informers sync); New polls
// it for up to a minute.
func New(kind Kind, objs []runtime.Object, ready func(*Plugin) error) (*Plugin, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	client := &clientWithOpenAPI{fake.NewClientset(objs...)}
	dynamicClient := dynamicfake.NewSimpleDynamicClient(scheme)
	factory := informers.NewSharedInformerFactory(client, 0)
	ctx, cancel := context.WithCancel(context.Background())

	var plugin admission.Interface
	p := &Plugin{Interfaces: admission.NewObjectInterfacesFromScheme(scheme), client: client, stop: cancel}
	switch kind {
	case Validating:
		vp, err := validating.NewPlugin(nil)
		if err != nil {
			cancel()
			return nil, err
		}
		plugin, p.validate = vp, vp
	case Mutating:
		mp, err := mutating.NewPlugin(nil)
		if err != nil {
			cancel()
			return nil, err
		}
		plugin, p.mutate = mp, mp
	default:
		cancel()
		return nil, fmt.Errorf("unknown plugin kind %q: want %q or %q", kind, Validating, Mutating)
	}
	initializer.New(client, dynamicClient, factory, allowAll, utilfeature.DefaultFeatureGate,
		compatibility.DefaultBuildEffectiveVersion(), ctx.Done(), restMapper()).Initialize(plugin)
	if err := admission.ValidateInitialization(plugin); err != nil {
		cancel()
		return nil, fmt.Errorf("%s plugin: %w", kind, err)
	}
	factory.Start(ctx.Done())
	var last error
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		last = ready(p)
		return last == nil, nil
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s plugin not ready: %w (last check: %v)", kind, err, last)
	}
	return p, nil
}

// Admit runs the plugin on attr: Validate for the validating plugin,
// Admit for the mutating one.
func (p *Plugin) Admit(ctx context.Context, attr admission.Attributes) error {
	if p.validate != nil {
		return p.validate.Validate(ctx, attr, p.Interfaces)
	}
	return p.mutate.Admit(ctx, attr, p.Interfaces)
}

// Client is the fake cluster's client, for updating objects under a
// running plugin.
func (p *Plugin) Client() kubernetes.Interface { return p.client }

func restMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	v1 := schema.GroupVersion{Version: "v1"}
	m.AddSpecific(v1.WithKind("Pod"), v1.WithResource("pods"), v1.WithResource("pod"), meta.RESTScopeNamespace)
	m.AddSpecific(v1.WithKind("ConfigMap"), v1.WithResource("configmaps"), v1.WithResource("configmap"), meta.RESTScopeNamespace)
	m.AddSpecific(v1.WithKind("Namespace"), v1.WithResource("namespaces"), v1.WithResource("namespace"), meta.RESTScopeRoot)
	return m
}

// clientWithOpenAPI serves the OpenAPI v3 documents embedded in client-go:
// the mutating plugin reads schemas for ApplyConfiguration through
// Discovery().OpenAPIV3(), which the fake discovery client does not have.
type clientWithOpenAPI struct{ *fake.Clientset }

func (c *clientWithOpenAPI) Discovery() discovery.DiscoveryInterfaces {
	return discoveryWithOpenAPI{c.Clientset.Discovery()}
}

type discoveryWithOpenAPI struct{ discovery.DiscoveryInterfaces }

func (discoveryWithOpenAPI) OpenAPIV3() openapi.Client { return openapitest.NewEmbeddedFileClient() }

// allowAll allows every request: the policies' authorizer checks then
// always run to the end.
var allowAll = authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
})

// User is the requester of the benchmark's requests.
func User() user.Info {
	return &user.DefaultInfo{Name: "alice", UID: "1", Groups: []string{"system:authenticated", "devs"}, Extra: map[string][]string{"scopes": {"a", "b"}}}
}

// Recorder is admission.Attributes that records the audit annotations a
// plugin adds, in order, with their level.
type Recorder struct {
	admission.Attributes
	Annotations []string
}

func (r *Recorder) AddAnnotation(key, value string) error {
	r.Annotations = append(r.Annotations, key+"="+value)
	return r.Attributes.AddAnnotation(key, value)
}

func (r *Recorder) AddAnnotationWithLevel(key, value string, level auditinternal.Level) error {
	r.Annotations = append(r.Annotations, fmt.Sprintf("%s=%s@%s", key, value, level))
	return r.Attributes.AddAnnotationWithLevel(key, value, level)
}

// CreatePod is a CREATE of pod as User, wrapped in a Recorder.
func CreatePod(pod *corev1.Pod) *Recorder {
	return &Recorder{Attributes: admission.NewAttributesRecord(pod, nil, schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
		pod.Namespace, pod.Name, schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "", admission.Create,
		nil, false, User())}
}

// AnnotationsOf returns the annotations of the object a mutating plugin
// left in attr.
func AnnotationsOf(attr admission.Attributes) map[string]string {
	if pod, ok := attr.GetObject().(*corev1.Pod); ok {
		return maps.Clone(pod.Annotations)
	}
	return nil
}

// Workload is n policies and bindings of one kind, ready to build.
func Workload(kind Kind, n int) (objs []runtime.Object, ready func(*Plugin) error) {
	if kind == Mutating {
		return MutatingWorkload(n), func(p *Plugin) error { return CheckMutated(p, n) }
	}
	return ValidatingWorkload(n), func(p *Plugin) error { return CheckValidated(p, n) }
}

// CheckValidated admits the benchmark's request once and checks that all n
// validating policies ran: it is allowed, with one audit annotation each.
func CheckValidated(p *Plugin, n int) error {
	attr := CreatePod(Pod())
	if err := p.Admit(context.Background(), attr); err != nil {
		return fmt.Errorf("the benchmark's request was denied: %w", err)
	}
	if len(attr.Annotations) != n {
		return fmt.Errorf("%d audit annotations, want one for each of %d policies", len(attr.Annotations), n)
	}
	return nil
}

// CheckMutated admits the benchmark's request once and checks that all n
// mutating policies added their annotation.
func CheckMutated(p *Plugin, n int) error {
	attr := CreatePod(Pod())
	if err := p.Admit(context.Background(), attr); err != nil {
		return fmt.Errorf("the benchmark's request was refused: %w", err)
	}
	got := AnnotationsOf(attr)
	for i := 0; i < n; i++ {
		if _, ok := got[AnnotationKey(i)]; !ok {
			return fmt.Errorf("annotation %s missing (%d of %d present)", AnnotationKey(i), len(got)-1, n)
		}
	}
	return nil
}
