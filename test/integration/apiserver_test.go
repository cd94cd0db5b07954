package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/test/integration/controlplane"
)

// repoPath finds a file of this repository: go test runs a package's tests
// in its own directory. (runtime.Caller would not do: -trimpath rewrites
// source paths to import paths.)
func repoPath(t *testing.T, rel string) string {
	path := filepath.Join("..", "..", rel)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("repository file %s: %v", rel, err)
	}
	return path
}

func admin(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	c, err := cluster.ClientFor(controlplane.AdminUser, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegrationVersionNamesTheFork(t *testing.T) {
	info, err := admin(t).Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.GitVersion, "v1.37.2+kubenext.") {
		t.Errorf("/version gitVersion = %q, want the v1.37.2 base and +kubenext.<commit>", info.GitVersion)
	}
	if len(info.GitCommit) != 40 || !strings.HasPrefix(info.GitVersion, "v1.37.2+kubenext."+info.GitCommit[:10]) {
		t.Errorf("/version gitCommit = %q does not match gitVersion %q", info.GitCommit, info.GitVersion)
	}
}

// KEP-3325: a SelfSubjectReview echoes the identity the apiserver
// authenticated, here from a client certificate's CN and O.
func TestIntegrationWhoAmIClientCertificate(t *testing.T) {
	ctx := t.Context()
	cfg, err := cluster.ConfigFor("alice", "dev", "ops")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := alice.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := review.Status.UserInfo
	if got.Username != "alice" || got.UID != "" {
		t.Errorf("user = %q uid %q, want alice with no uid", got.Username, got.UID)
	}
	wantGroups := []string{"dev", "ops", "system:authenticated"}
	if !slices.Equal(got.Groups, wantGroups) {
		t.Errorf("groups = %v, want %v", got.Groups, wantGroups)
	}
	// The only extra is the credential ID, the fingerprint of the very
	// certificate this client presented.
	block, _ := pem.Decode(cfg.CertData)
	fingerprint := sha256.Sum256(block.Bytes)
	wantExtra := map[string]authenticationv1.ExtraValue{
		"authentication.kubernetes.io/credential-id": {"X509SHA256=" + hex.EncodeToString(fingerprint[:])},
	}
	if !reflect.DeepEqual(got.Extra, wantExtra) {
		t.Errorf("extra = %v, want %v", got.Extra, wantExtra)
	}
}

func createNamespace(t *testing.T, c kubernetes.Interface, labels map[string]string) string {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-", Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

func deployment(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// The talk's ValidatingAdmissionPolicy (KEP-3488) with a ReplicaLimit
// params CRD, bound to namespaces labelled environment=test.
func TestIntegrationValidatingAdmissionPolicyReplicaLimit(t *testing.T) {
	ctx := t.Context()
	c := admin(t)
	cfg, err := cluster.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controlplane.CreateFromFile(ctx, cfg, repoPath(t, "manifests/examples/cel-admission/replicalimit.yaml")); err != nil {
		t.Fatal(err)
	}
	testNS := createNamespace(t, c, map[string]string{"environment": "test"})
	otherNS := createNamespace(t, c, nil)

	const wantMessage = "object.spec.replicas must be no greater than 3"
	// Policies reach the admission plugin through an informer; wait, with
	// server-side dry runs that store nothing, until the binding denies.
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, lastErr = c.AppsV1().Deployments(testNS).Create(ctx, deployment(4), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return lastErr != nil && strings.Contains(lastErr.Error(), wantMessage), nil
	})
	if err != nil {
		t.Fatalf("the policy never denied 4 replicas (last result: %v)", lastErr)
	}

	_, err = c.AppsV1().Deployments(testNS).Create(ctx, deployment(4), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), wantMessage) {
		t.Errorf("4 replicas in %s: got %v, want Invalid with %q", testNS, err, wantMessage)
	}
	if _, err := c.AppsV1().Deployments(testNS).Create(ctx, deployment(3), metav1.CreateOptions{}); err != nil {
		t.Errorf("3 replicas in %s must be admitted: %v", testNS, err)
	}
	if _, err := c.AppsV1().Deployments(otherNS).Create(ctx, deployment(4), metav1.CreateOptions{}); err != nil {
		t.Errorf("4 replicas in unlabelled %s must be admitted (binding selects environment=test): %v", otherNS, err)
	}
}

// A MutatingAdmissionPolicy (KEP-3962) sets a default label.
func TestIntegrationMutatingAdmissionPolicyDefaultsLabel(t *testing.T) {
	ctx := t.Context()
	c := admin(t)
	cfg, err := cluster.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controlplane.CreateFromFile(ctx, cfg, repoPath(t, "manifests/examples/cel-admission/default-team-label.yaml")); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(t, c, map[string]string{"kubenext.io/default-team-label": "true"})
	otherNS := createNamespace(t, c, nil)

	cm := func() *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "cm-"}}
	}
	var got *corev1.ConfigMap
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err = c.CoreV1().ConfigMaps(ns).Create(ctx, cm(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && got.Labels["team"] == "unassigned", err
	})
	if err != nil {
		t.Fatalf("the policy never set team=unassigned (last object labels: %v)", labelsOf(got))
	}

	stored, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Labels["team"] != "unassigned" {
		t.Errorf("stored labels = %v, want team=unassigned", stored.Labels)
	}
	explicit := cm()
	explicit.Labels = map[string]string{"team": "storage"}
	if stored, err := c.CoreV1().ConfigMaps(ns).Create(ctx, explicit, metav1.CreateOptions{}); err != nil || stored.Labels["team"] != "storage" {
		t.Errorf("an explicit team label must be kept: labels %v, err %v", labelsOf(stored), err)
	}
	if stored, err := c.CoreV1().ConfigMaps(otherNS).Create(ctx, cm(), metav1.CreateOptions{}); err != nil || stored.Labels["team"] != "" {
		t.Errorf("unbound namespace must not be mutated: labels %v, err %v", labelsOf(stored), err)
	}
}

func labelsOf(cm *corev1.ConfigMap) map[string]string {
	if cm == nil {
		return nil
	}
	return cm.Labels
}
