package e2e

import (
	"context"
	"path/filepath"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"
)

// talkPodManifest is the talk's keystone pod, kept verbatim in manifests/.
// go test runs the suite in its package directory.
var talkPodManifest = filepath.Join("..", "..", "manifests", "examples", "keystone", "talk-pod.yaml")

var _ = ginkgo.Describe("kubectl and keystone containers", func() {
	f := framework.NewDefaultFramework("keystone-kubectl")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("explains pod.spec.containers.lifecycle.type", func(ctx context.Context) {
		out, stderr, err := kubectl(ctx, "explain", "pod.spec.containers.lifecycle.type")
		framework.ExpectNoError(err, stderr)
		gomega.Expect(out).To(gomega.ContainSubstring("FIELD: type <string>"))
		gomega.Expect(out).To(gomega.ContainSubstring(`"Keystone"`))
		gomega.Expect(out).To(gomega.ContainSubstring("KEP-2872"))
	})

	// The talk's images are placeholders that would be pulled from the
	// internet, so the applies here are server-side dry runs: admission,
	// validation, defaulting and the apply merge all run, nothing is
	// scheduled. test/integration applies the same file for real.
	ginkgo.It("applies the talk's pod client-side and server-side", func(ctx context.Context) {
		for _, mode := range [][]string{
			{"apply"},
			{"apply", "--server-side"},
		} {
			args := append(mode, "-n", f.Namespace.Name, "--dry-run=server", "-f", talkPodManifest,
				"-o", "jsonpath={.spec.containers[0].lifecycle.type}")
			out, stderr, err := kubectl(ctx, args...)
			framework.ExpectNoError(err, "kubectl %v: %s", mode, stderr)
			gomega.Expect(out).To(gomega.Equal("Keystone"), "kubectl %v", mode)
		}
	})
})
