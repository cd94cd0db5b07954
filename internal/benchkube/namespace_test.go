package benchkube

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestDeleteNamespace(t *testing.T) {
	client := fake.NewSimpleClientset(&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}})
	if err := DeleteNamespace(context.Background(), client, "bench"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Get(context.Background(), "bench", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace still there")
	}
	// Gone already: not an error.
	if err := DeleteNamespace(context.Background(), client, "bench"); err != nil {
		t.Fatalf("deleting a missing namespace: %v", err)
	}
}
