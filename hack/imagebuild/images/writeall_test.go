package images

import "testing"

func TestArchiveName(t *testing.T) {
	for ref, want := range map[[2]string]string{
		{"registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io"}:         "coredns_coredns_v1.14.6.tar",
		{"docker.io/kubenext/busybox:v1.37.2_kubenext.abc", "registry.k8s.io"}: "kubenext_busybox_v1.37.2_kubenext.abc.tar",
		{"registry.k8s.io/e2e-test-images/agnhost:2.66.1", E2ERegistry}:        "agnhost_2.66.1.tar",
	} {
		if got := ArchiveName(ref[0], ref[1]); got != want {
			t.Errorf("ArchiveName(%q, %q) = %q, want %q", ref[0], ref[1], got, want)
		}
	}
}
