package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/test/integration/controlplane"
)

const talkPod = "../../manifests/examples/keystone/talk-pod.yaml"

// newNamespace creates a namespace with the default ServiceAccount that
// pod admission requires (no controller-manager runs here to create it).
func newNamespace(t *testing.T, client kubernetes.Interface, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if _, err := client.CoreV1().ServiceAccounts(name).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func keystonePod(name string, containers ...v1.Container) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, Containers: containers}}
}

func container(name string, lifecycle *v1.Lifecycle) v1.Container {
	return v1.Container{Name: name, Image: "kubenext.invalid/never-pulled", Lifecycle: lifecycle}
}

var keystone = &v1.Lifecycle{Type: v1.LifecycleTypeKeystone}

func adminClient(t *testing.T, cp *controlplane.ControlPlane, protobuf bool) *kubernetes.Clientset {
	t.Helper()
	cfg, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	if protobuf {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestIntegrationKeystoneAPI(t *testing.T) {
	ctx := context.Background()
	client := adminClient(t, cluster, true)
	ns := newNamespace(t, client, "keystone-api")

	t.Run("the field round-trips through protobuf and etcd", func(t *testing.T) {
		_, err := client.CoreV1().Pods(ns).Create(ctx, keystonePod("roundtrip", container("main", keystone), container("sidecar", nil)), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := client.CoreV1().Pods(ns).Get(ctx, "roundtrip", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if l := got.Spec.Containers[0].Lifecycle; l == nil || l.Type != v1.LifecycleTypeKeystone {
			t.Errorf("stored lifecycle = %+v, want type Keystone", l)
		}
	})

	t.Run("validation", func(t *testing.T) {
		tests := []struct {
			name string
			pod  *v1.Pod
			want string
		}{
			{"two keystones", keystonePod("two", container("a", keystone), container("b", keystone)),
				"spec.containers[1].lifecycle.type: Invalid value: \"Keystone\": a pod may have at most one keystone container"},
			{"unknown value", keystonePod("unknown", container("a", &v1.Lifecycle{Type: "Sidecar"})),
				"spec.containers[0].lifecycle.type: Unsupported value: \"Sidecar\": supported values: \"Keystone\""},
			{"init container", func() *v1.Pod {
				p := keystonePod("init", container("a", nil))
				p.Spec.InitContainers = []v1.Container{container("setup", keystone)}
				return p
			}(), "spec.initContainers[0].lifecycle.type: Forbidden: only regular containers"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := client.CoreV1().Pods(ns).Create(ctx, tt.pod, metav1.CreateOptions{})
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("create: %v; want an Invalid error containing %q", err, tt.want)
				}
			})
		}
	})

	t.Run("typed apply configurations carry the field", func(t *testing.T) {
		pod := corev1ac.Pod("applied", ns).WithSpec(corev1ac.PodSpec().
			WithRestartPolicy(v1.RestartPolicyNever).
			WithContainers(
				corev1ac.Container().WithName("main").WithImage("kubenext.invalid/never-pulled").
					WithLifecycle(corev1ac.Lifecycle().WithType(v1.LifecycleTypeKeystone)),
				corev1ac.Container().WithName("sidecar").WithImage("kubenext.invalid/never-pulled")))
		got, err := client.CoreV1().Pods(ns).Apply(ctx, pod, metav1.ApplyOptions{FieldManager: "integration", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Containers[0].Lifecycle == nil || got.Spec.Containers[0].Lifecycle.Type != v1.LifecycleTypeKeystone {
			t.Fatalf("applied lifecycle = %+v", got.Spec.Containers[0].Lifecycle)
		}
		// The apply configuration extracted back must own the field too.
		extracted, err := corev1ac.ExtractPod(got, "integration")
		if err != nil {
			t.Fatal(err)
		}
		if l := extracted.Spec.Containers[0].Lifecycle; l == nil || l.Type == nil || *l.Type != v1.LifecycleTypeKeystone {
			t.Errorf("extracted lifecycle = %+v, want the integration manager to own type", l)
		}
	})

	t.Run("the OpenAPI v3 document describes the field", func(t *testing.T) {
		prop, ok := coreV1Property(ctx, t, client, "io.k8s.api.core.v1.Lifecycle", "type")
		if !ok || len(prop.Enum) != 1 || prop.Enum[0] != "Keystone" || !strings.Contains(prop.Description, "KEP-2872") {
			t.Errorf("Lifecycle.type in /openapi/v3 = %+v (present %v)", prop, ok)
		}
	})
}

// TestIntegrationKeystoneKubectl drives our kubectl binary: explain, then
// the talk's pod applied client-side (create, then a patch), then
// server-side.
func TestIntegrationKeystoneKubectl(t *testing.T) {
	client := adminClient(t, cluster, false)
	ns := newNamespace(t, client, "keystone-kubectl")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := cluster.WriteKubeconfig(kubeconfig, controlplane.AdminUser, "system:masters"); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		out, err := exec.CombinedOutput(exec.Host.Command(t.Context(), filepath.Join(os.Getenv("KUBENEXT_BIN"), "kubectl"),
			append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...))
		return string(out), err
	}
	mustKubectl := func(args ...string) string {
		t.Helper()
		out, err := kubectl(args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	explained := mustKubectl("explain", "pod.spec.containers.lifecycle.type")
	for _, want := range []string{"FIELD: type <string>", "Keystone", "KEP-2872"} {
		if !strings.Contains(explained, want) {
			t.Errorf("kubectl explain lacks %q:\n%s", want, explained)
		}
	}

	typeOf := func() string {
		return mustKubectl("get", "pod", "myapp-pod", "-o", "jsonpath={.spec.containers[0].lifecycle.type}")
	}
	mustKubectl("apply", "-f", talkPod)
	if got := typeOf(); got != "Keystone" {
		t.Fatalf("after client-side apply (create): type = %q", got)
	}
	// A second client-side apply goes through the strategic merge patch
	// that kubectl computes from the OpenAPI schema.
	edited, err := os.ReadFile(talkPod)
	if err != nil {
		t.Fatal(err)
	}
	edited = []byte(strings.Replace(string(edited), "app: myapp", "app: myapp\n    edited: \"true\"", 1))
	editedPath := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(editedPath, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustKubectl("apply", "-f", editedPath); !strings.Contains(out, "configured") {
		t.Errorf("second client-side apply: %s", out)
	}
	if got := typeOf(); got != "Keystone" {
		t.Errorf("after client-side apply (patch): type = %q", got)
	}
	mustKubectl("apply", "--server-side", "--force-conflicts", "-f", talkPod)
	if got := typeOf(); got != "Keystone" {
		t.Errorf("after server-side apply: type = %q", got)
	}
	managed := mustKubectl("get", "pod", "myapp-pod", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[?(@.manager==\"kubectl\")].fieldsV1}")
	if !strings.Contains(managed, `"f:type"`) {
		t.Errorf("server-side apply does not own lifecycle.type: %s", managed)
	}

	bad := strings.Replace(string(edited), "type: Keystone", "type: Sidecar", 1)
	badPath := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badPath, []byte(strings.Replace(bad, "myapp-pod", "bad-pod", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl("apply", "--server-side", "-f", badPath); err == nil || !strings.Contains(out, `Unsupported value: "Sidecar"`) {
		t.Errorf("applying type: Sidecar: err=%v\n%s", err, out)
	}
}

// TestIntegrationKeystoneGateOff runs a second control plane with the gate
// off: the field is dropped on create, and the rest of the lifecycle stays.
func TestIntegrationKeystoneGateOff(t *testing.T) {
	client := gateOffClient(t, "KeystoneContainers")
	ns := newNamespace(t, client, "keystone-off")
	withHook := &v1.Lifecycle{Type: v1.LifecycleTypeKeystone, PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 1}}}
	pod := keystonePod("off", container("main", keystone), container("hooked", withHook))
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	got, err := client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Containers[0].Lifecycle != nil {
		t.Errorf("gate off: lifecycle {type: Keystone} must be dropped entirely, got %+v", got.Spec.Containers[0].Lifecycle)
	}
	if l := got.Spec.Containers[1].Lifecycle; l == nil || l.Type != "" || l.PreStop == nil {
		t.Errorf("gate off: want type dropped and preStop kept, got %+v", l)
	}
}

// openAPIProperty is one property of a schema in the apiserver's OpenAPI v3
// document for core/v1.
type openAPIProperty struct {
	Description string
	Enum        []string
}

// coreV1Property reads schema's property from /openapi/v3/api/v1; false
// when the document has no such property.
func coreV1Property(ctx context.Context, t *testing.T, client kubernetes.Interface, schema, property string) (openAPIProperty, bool) {
	t.Helper()
	raw, err := client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/api/v1").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]openAPIProperty
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	prop, ok := doc.Components.Schemas[schema].Properties[property]
	return prop, ok
}

// gateOffClient starts a control plane of its own, stopped when t ends,
// with gate off in its apiserver, and returns an admin client of it.
func gateOffClient(t *testing.T, gate string) kubernetes.Interface {
	t.Helper()
	opts, err := controlplane.OptionsFromEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraAPIServerArgs = []string{"--feature-gates=" + gate + "=false"}
	cp, err := controlplane.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	})
	return adminClient(t, cp, true)
}
