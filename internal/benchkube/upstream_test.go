package benchkube

import (
	"bytes"
	"context"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubenext/kubenext/internal/cluster"
)

func node(name string, upstream bool) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if upstream {
		n.Labels = map[string]string{cluster.KubeletLabel: cluster.KubeletLabelUpstream}
	}
	return n
}

func TestResolveUpstreamNode(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	client := fake.NewClientset(node("kn-worker", false), node("kn-worker4", true), node("kn-worker3", true))
	if got, err := ResolveUpstreamNode(ctx, client, Auto, &log); err != nil || got != "kn-worker3" {
		t.Errorf("auto = %q, %v; want the first labelled node by name, kn-worker3", got, err)
	}
	if got, _ := ResolveUpstreamNode(ctx, client, "kn-worker4", &log); got != "kn-worker4" {
		t.Errorf("a named node must be kept, got %q", got)
	}
	none := fake.NewClientset(node("kn-worker", false))
	if got, err := ResolveUpstreamNode(ctx, none, Auto, &log); err != nil || got != "" || !strings.Contains(log.String(), "UPSTREAM_WORKERS=1") {
		t.Errorf("no upstream node: %q, %v, log %q", got, err, log.String())
	}
}
