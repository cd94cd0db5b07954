// Package kubetest gives the kubectl command tests an apiserver played by an
// httptest.Server, reached either through kubectl's test factory or through
// a real kubeconfig, without ever reading the user's own kubeconfig or
// kuberc.
package kubetest

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/rest/fake"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"
)

// Factory returns kubectl's test factory with every client sent to
// serverURL. The fake REST client only carries the HTTP client, which
// TestFactory.KubernetesClientSet puts under each API group it knows; the
// rest config covers the groups it does not (authentication.k8s.io/v1).
func Factory(t *testing.T, serverURL, namespace string) *cmdtesting.TestFactory {
	t.Helper()
	isolate(t)
	tf := cmdtesting.NewTestFactory()
	t.Cleanup(tf.Cleanup)
	if namespace != "" {
		tf = tf.WithNamespace(namespace)
	}
	tf.ClientConfigVal = &rest.Config{Host: serverURL}
	tf.Client = &fake.RESTClient{Client: http.DefaultClient}
	return tf
}

// Kubeconfig writes a throwaway kubeconfig with one context per entry of
// servers (context name to server URL), all with namespace, current-context
// set to current, and returns its path for --kubeconfig.
func Kubeconfig(t *testing.T, servers map[string]string, current, namespace string) string {
	t.Helper()
	isolate(t)
	if namespace == "" {
		namespace = "default"
	}
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var clusters, contexts strings.Builder
	for _, name := range names {
		clusters.WriteString("- name: " + name + "\n  cluster:\n    server: " + servers[name] + "\n")
		contexts.WriteString("- name: " + name + "\n  context:\n    cluster: " + name + "\n    user: test\n    namespace: " + namespace + "\n")
	}
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n" + clusters.String() +
		"users:\n- name: test\n  user:\n    token: test-token\ncontexts:\n" + contexts.String() +
		"current-context: " + current + "\n"
	return WriteFile(t, "kubeconfig", kubeconfig)
}

// Kuberc writes a kubectl preferences file holding defaults, the YAML list
// under "defaults:", and makes it the one kubectl reads ($KUBERC, as
// --kuberc would).
func Kuberc(t *testing.T, defaults string) string {
	t.Helper()
	path := WriteFile(t, "kuberc", "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ndefaults:\n"+defaults)
	isolate(t)
	written[path] = true
	t.Setenv("KUBERC", path)
	return path
}

// written holds the kuberc files Kuberc wrote, which isolate leaves in
// place whatever order a test calls the helpers in.
var written = map[string]bool{}

// WriteFile writes content to a file of that name in the test's temporary
// directory and returns its path.
func WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// isolate keeps a developer's ~/.kube/config and ~/.kube/kuberc out of a
// test: only files the test names explicitly are read. kuberc's default
// path is fixed when its package loads, so $HOME cannot hide it; KUBERC=off
// does, until Kuberc names a file.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	t.Setenv("HOME", t.TempDir())
	if !written[os.Getenv("KUBERC")] {
		t.Setenv("KUBERC", "off")
	}
}
