package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/kubernetes/test/e2e/framework"
)

// Admission policies and their bindings are cluster-scoped, and other
// people's specs run against the same cluster at the same time. So the
// specs that install them never use the names or selectors of the files as
// they are: each object gets the spec's unique name as a prefix, and each
// binding additionally selects only namespaces carrying admissionScopeLabel
// with the spec's unique value, which only the spec's own namespaces have.

// admissionScopeLabel marks the namespaces a spec's policy bindings may select.
const admissionScopeLabel = "e2e.kubenext.io/admission-scope"

// admissionPolicyTimeout bounds the wait for a new policy or binding to
// reach the admission plugin (an informer; about a second in practice).
const admissionPolicyTimeout = 2 * time.Minute

// repoFile is a file of this repository; go test runs the suite in its
// package directory, test/e2e.
func repoFile(rel string) string {
	path := filepath.Join("..", "..", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		framework.Failf("repository file %s: %v (the suite must run from test/e2e, as make e2e does)", rel, err)
	}
	return path
}

// readManifests decodes every object of a multi-document YAML file of this
// repository.
func readManifests(rel string) []*unstructured.Unstructured {
	file, err := os.Open(repoFile(rel))
	framework.ExpectNoError(err)
	defer file.Close()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(file, 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		framework.ExpectNoError(err, "decoding %s", rel)
		if len(obj.Object) != 0 {
			objs = append(objs, obj)
		}
	}
}

// scopeAdmissionObjects renames the objects of a policy manifest to
// prefix + "." + name (CRDs keep their names, which the API fixes), points
// each binding at the renamed policy and parameter object, and narrows
// each binding's namespaceSelector to namespaces labelled
// admissionScopeLabel=prefix on top of what the file selects.
func scopeAdmissionObjects(objs []*unstructured.Unstructured, prefix string) {
	renamed := map[string]string{}
	for _, obj := range objs {
		if obj.GetKind() == "CustomResourceDefinition" {
			continue
		}
		name := prefix + "." + obj.GetName()
		renamed[obj.GetName()] = name
		obj.SetName(name)
	}
	for _, obj := range objs {
		switch obj.GetKind() {
		case "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicyBinding":
		default:
			continue
		}
		for _, field := range [][]string{{"spec", "policyName"}, {"spec", "paramRef", "name"}} {
			if ref, ok, _ := unstructured.NestedString(obj.Object, field...); ok && renamed[ref] != "" {
				framework.ExpectNoError(unstructured.SetNestedField(obj.Object, renamed[ref], field...))
			}
		}
		labels, _, err := unstructured.NestedStringMap(obj.Object, "spec", "matchResources", "namespaceSelector", "matchLabels")
		framework.ExpectNoError(err, "binding %s", obj.GetName())
		if labels == nil {
			labels = map[string]string{}
		}
		labels[admissionScopeLabel] = prefix
		framework.ExpectNoError(unstructured.SetNestedStringMap(obj.Object, labels, "spec", "matchResources", "namespaceSelector", "matchLabels"))
	}
}

// createAdmissionObjects creates objs in order and deletes them, in
// reverse order, when the spec ends. A CRD that already exists is used as
// it is and left in place. An object whose kind a CRD created just before
// serves is retried until the apiserver serves it.
func createAdmissionObjects(ctx context.Context, f *framework.Framework, objs []*unstructured.Unstructured) {
	disco, err := discovery.NewDiscoveryClientForConfig(f.ClientConfig())
	framework.ExpectNoError(err)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	for _, obj := range objs {
		var client dynamic.ResourceInterface
		gomega.Eventually(ctx, func() error {
			mapping, err := mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
			if err != nil {
				mapper.Reset()
				return err
			}
			if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
				return gomega.StopTrying(fmt.Sprintf("%s %s is namespaced; these manifests hold cluster-scoped objects only", obj.GetKind(), obj.GetName()))
			}
			client = f.DynamicClient.Resource(mapping.Resource)
			return nil
		}).WithTimeout(time.Minute).Should(gomega.Succeed(), "the apiserver serves %s", obj.GroupVersionKind())

		var created *unstructured.Unstructured
		var createErr error
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			created, createErr = client.Create(ctx, obj, metav1.CreateOptions{})
			// A CRD's resource is in discovery a moment before it serves.
			return !apierrors.IsNotFound(createErr), nil
		})
		framework.ExpectNoError(err, "creating %s %s: %v", obj.GetKind(), obj.GetName(), createErr)
		if obj.GetKind() == "CustomResourceDefinition" && apierrors.IsAlreadyExists(createErr) {
			framework.Logf("CRD %s exists already; using it and leaving it in place", obj.GetName())
			continue
		}
		framework.ExpectNoError(createErr, "creating %s %s", obj.GetKind(), obj.GetName())
		framework.Logf("created %s %s", obj.GetKind(), created.GetName())
		ginkgo.DeferCleanup(deleteAdmissionObject, client, created.GetName(), created.GetUID())
	}
}

func deleteAdmissionObject(ctx context.Context, client dynamic.ResourceInterface, name string, uid types.UID) error {
	err := client.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// labelNamespaceForAdmission adds labels to namespace ns.
func labelNamespaceForAdmission(ctx context.Context, f *framework.Framework, ns string, labels map[string]string) {
	patch := map[string]any{"metadata": map[string]any{"labels": labels}}
	data, err := json.Marshal(patch)
	framework.ExpectNoError(err)
	_, err = f.ClientSet.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, data, metav1.PatchOptions{})
	framework.ExpectNoError(err, "labelling namespace %s with %v", ns, labels)
}
