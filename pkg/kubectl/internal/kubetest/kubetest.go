// Package kubetest gives the kubectl command tests a kubeconfig that points
// at an httptest.Server playing the apiserver, without reading the user's
// real kubeconfig.
package kubetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Kubeconfig writes a throwaway kubeconfig for serverURL and points
// $KUBECONFIG at it, so a developer's ~/.kube/config can never leak into a
// test. Tests pass the returned path as --kubeconfig.
func Kubeconfig(t *testing.T, serverURL, namespace string) string {
	t.Helper()
	if namespace == "" {
		namespace = "default"
	}
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ` + serverURL + `
users:
- name: test
  user:
    token: test-token
contexts:
- name: test
  context:
    cluster: test
    user: test
    namespace: ` + namespace + `
current-context: test
`
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	return path
}
