package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/kubenext/kubenext/internal/exec"
)

// kubectl runs our kubectl (the binary users get) against the cluster.
func kubectl(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	bin := os.Getenv("KUBENEXT_KUBECTL")
	if bin == "" {
		framework.Failf("KUBENEXT_KUBECTL must name our kubectl; run the suite with `make e2e`")
	}
	var out, errOut strings.Builder
	err = exec.Host.Command(ctx, bin, append([]string{"--kubeconfig", framework.TestContext.KubeConfig}, args...)...).
		SetStdout(&out).SetStderr(&errOut).Run()
	return out.String(), errOut.String(), err
}

// journalTime reads the short-precise timestamp of a journal line.
func journalTime(line string) (time.Time, bool) {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return time.Time{}, false
	}
	t, err := time.Parse("Jan 2 15:04:05.000000", strings.Join(fields[:3], " "))
	return t, err == nil
}

var _ = ginkgo.Describe("kubectl clients", func() {
	f := framework.NewDefaultFramework("kubectl-clients")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("node-logs --role control-plane returns kubelet journal lines from that node only", func(ctx context.Context) {
		out, stderr, err := kubectl(ctx, "node-logs", "--role", "control-plane", "-q", "kubelet", "--tail", "5")
		framework.ExpectNoError(err, stderr)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		gomega.Expect(len(lines)).To(gomega.And(gomega.BeNumerically(">=", 1), gomega.BeNumerically("<=", 5)), out)
		for _, line := range lines {
			gomega.Expect(line).To(gomega.MatchRegexp(`control-plane kubelet\[\d+\]: `), "a kubelet line of the control-plane node")
		}
	})

	ginkgo.It("node-logs merges several nodes' lines in time order", func(ctx context.Context) {
		out, stderr, err := kubectl(ctx, "node-logs", "-l", "kubernetes.io/os=linux", "-q", "kubelet", "--tail", "30")
		framework.ExpectNoError(err, stderr)
		seen := map[string]bool{}
		var last time.Time
		haveLast := false
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			node, rest, ok := strings.Cut(line, ": ")
			gomega.Expect(ok).To(gomega.BeTrueBecause("every merged line starts with its node: %q", line))
			seen[node] = true
			if strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t") {
				continue // journalctl indents the further lines of a message; they keep their place
			}
			t, ok := journalTime(rest)
			gomega.Expect(ok).To(gomega.BeTrueBecause("every journal line starts with a short-precise timestamp, or the order check checks nothing: %q", line))
			gomega.Expect(haveLast && t.Before(last)).To(gomega.BeFalseBecause("line out of order after %s: %q", last, line))
			last, haveLast = t, true
		}
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(seen).To(gomega.HaveLen(len(nodes.Items)), "lines from every node")
	})

	ginkgo.It("node-logs explains the missing nodes/proxy permission", func(ctx context.Context) {
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		// By name: listing nodes for --role would itself be forbidden first.
		_, stderr, err := kubectl(ctx, "--as", "e2e-without-node-proxy", "node-logs", nodes.Items[0].Name, "-q", "kubelet", "--tail", "1")
		gomega.Expect(err).To(gomega.HaveOccurred())
		gomega.Expect(stderr).To(gomega.ContainSubstring("'get' verb on 'nodes/proxy'"))
	})

	ginkgo.It("whoami shows the admin user and its groups", func(ctx context.Context) {
		out, stderr, err := kubectl(ctx, "whoami")
		framework.ExpectNoError(err, stderr)
		gomega.Expect(out).To(gomega.HavePrefix("kubernetes-admin\n"))
		// kubeadm >= 1.29 puts admin.conf's user in kubeadm:cluster-admins, not system:masters.
		gomega.Expect(out).To(gomega.ContainSubstring("groups: kubeadm:cluster-admins, system:authenticated"))
	})

	ginkgo.It("resize --wait changes CPU in place without a restart", func(ctx context.Context) {
		pod := testPod("resize-me", "", "exec sleep 3600")
		pod.Spec.Containers[0].Resources = v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m"), v1.ResourceMemory: resource.MustParse("64Mi")},
		}
		pod = e2epod.NewPodClient(f).CreateSync(ctx, pod)
		out, stderr, err := kubectl(ctx, "-n", f.Namespace.Name, "resize", "pod/"+pod.Name,
			"--requests=cpu=150m", "--limits=cpu=300m", "--wait", "--timeout=60s")
		framework.ExpectNoError(err, "%s%s", out, stderr)
		gomega.Expect(out).To(gomega.ContainSubstring("runs with the new resources (restarts: 0 before, 0 after)"))
		got, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, pod.Name, metav1.GetOptions{})
		framework.ExpectNoError(err)
		status := got.Status.ContainerStatuses[0]
		gomega.Expect(status.RestartCount).To(gomega.BeZero())
		gomega.Expect(status.Resources.Limits.Cpu().String()).To(gomega.Equal("300m"), fmt.Sprint(status.Resources))
	})
})
