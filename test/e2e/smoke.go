package e2e

import (
	"context"
	"fmt"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubernetes/test/e2e/framework"
	e2enode "k8s.io/kubernetes/test/e2e/framework/node"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/cluster"
)

const forkVersionPrefix = "v1.37.2+kubenext."

var _ = ginkgo.Describe("Smoke", func() {
	f := framework.NewDefaultFramework("smoke")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("shows our fork in the apiserver's /version", func(ctx context.Context) {
		info, err := f.ClientSet.Discovery().ServerVersion()
		framework.ExpectNoError(err)
		gomega.Expect(info.GitVersion).To(gomega.HavePrefix(forkVersionPrefix))
	})

	ginkgo.It("has every node Ready", func(ctx context.Context) {
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(nodes.Items).NotTo(gomega.BeEmpty())
		for _, node := range nodes.Items {
			gomega.Expect(isReady(node)).To(gomega.BeTrueBecause("node %s must be Ready", node.Name))
		}
	})

	// A cluster in the middle of a roll from upstream has other kubelets
	// on purpose, and runs the suite without this spec. The upstream
	// workers of make cluster UPSTREAM_WORKERS are labelled, and must run
	// exactly upstream's release of our base.
	ginkgo.It("runs our kubelet, of the apiserver's version, on every node but the labelled upstream workers", needsOurKubelet, func(ctx context.Context) {
		info, err := f.ClientSet.Discovery().ServerVersion()
		framework.ExpectNoError(err)
		upstreamVersion, _, _ := strings.Cut(info.GitVersion, "+")
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		upstreamNodes := 0
		for _, node := range nodes.Items {
			want := info.GitVersion
			if node.Labels[cluster.KubeletLabel] == cluster.KubeletLabelUpstream {
				want = upstreamVersion
				upstreamNodes++
			}
			gomega.Expect(node.Status.NodeInfo.KubeletVersion).To(gomega.Equal(want), "node %s", node.Name)
		}
		if recorded := env().UpstreamWorkers; recorded >= 0 {
			gomega.Expect(upstreamNodes).To(gomega.Equal(recorded), "nodes labelled %s=%s; make cluster was asked for UPSTREAM_WORKERS=%d",
				cluster.KubeletLabel, cluster.KubeletLabelUpstream, recorded)
		}
	})

	ginkgo.It("runs a pod from the locally built test image on every node", func(ctx context.Context) {
		nodes, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		for _, node := range nodes.Items {
			pod := testPod("hello-"+node.Name, node.Name, "echo hello from $(hostname)")
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			pod = e2epod.NewPodClient(f).Create(ctx, pod)
			framework.ExpectNoError(e2epod.WaitForPodSuccessInNamespace(ctx, f.ClientSet, pod.Name, f.Namespace.Name))
			logs, err := e2epod.GetPodLogs(ctx, f.ClientSet, f.Namespace.Name, pod.Name, "main")
			framework.ExpectNoError(err)
			gomega.Expect(logs).To(gomega.ContainSubstring("hello from"))
		}
	})

	ginkgo.It("connects pods across nodes, through a ClusterIP service, and resolves cluster DNS", func(ctx context.Context) {
		nodes, err := e2enode.GetReadySchedulableNodes(ctx, f.ClientSet)
		framework.ExpectNoError(err)
		all, err := f.ClientSet.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		framework.ExpectNoError(err)
		if len(all.Items) < 2 {
			e := env()
			missingNode(e.allWorkers(), "WORKERS", "a second node",
				fmt.Sprintf("the cluster has %d node", len(all.Items)))
		}
		// Server on a worker, client on another node, so the packets cross.
		serverNode := nodes.Items[0].Name
		clientNode := ""
		for _, n := range all.Items {
			if n.Name != serverNode {
				clientNode = n.Name
			}
		}

		server := testPod("web", serverNode, "mkdir -p /www && echo kubenext-ok > /www/index.html && exec httpd -f -p 8080 -h /www")
		server.Labels = map[string]string{"app": "web"}
		server.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 8080}}
		server.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
		server = e2epod.NewPodClient(f).CreateSync(ctx, server)

		svc, err := f.ClientSet.CoreV1().Services(f.Namespace.Name).Create(ctx, &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: v1.ServiceSpec{
				Selector: map[string]string{"app": "web"},
				Ports:    []v1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}, metav1.CreateOptions{})
		framework.ExpectNoError(err)

		client := e2epod.NewPodClient(f).CreateSync(ctx, testPod("client", clientNode, "exec sleep 3600"))

		ginkgo.By(fmt.Sprintf("fetching from pod %s on %s, from %s", server.Status.PodIP, serverNode, clientNode))
		gomega.Eventually(ctx, func() (string, error) {
			out, _, err := e2epod.ExecShellInPodWithFullOutput(ctx, f, client.Name, fmt.Sprintf("timeout 3 wget -q -O- http://%s:8080/", server.Status.PodIP))
			return out, err
		}).WithTimeout(framework.PodStartShortTimeout).Should(gomega.Equal("kubenext-ok"))

		ginkgo.By("fetching through the ClusterIP " + svc.Spec.ClusterIP)
		gomega.Eventually(ctx, func() (string, error) {
			out, _, err := e2epod.ExecShellInPodWithFullOutput(ctx, f, client.Name, fmt.Sprintf("timeout 3 wget -q -O- http://%s/", svc.Spec.ClusterIP))
			return out, err
		}).WithTimeout(framework.PodStartShortTimeout).Should(gomega.Equal("kubenext-ok"))

		ginkgo.By("resolving kubernetes.default and the service's name")
		apiSvc, err := f.ClientSet.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		framework.ExpectNoError(err)
		for name, ip := range map[string]string{
			"kubernetes.default":                             apiSvc.Spec.ClusterIP,
			"web." + f.Namespace.Name + ".svc.cluster.local": svc.Spec.ClusterIP,
		} {
			gomega.Eventually(ctx, func() (string, error) {
				// glibc's resolver, unlike busybox nslookup, applies the
				// pod's search domains, as applications do.
				out, _, err := e2epod.ExecShellInPodWithFullOutput(ctx, f, client.Name, "getent hosts "+name)
				return out, err
			}).WithTimeout(framework.PodStartShortTimeout).Should(gomega.HavePrefix(ip+" "), "resolving %s", name)
		}
	})
})

// testPod runs script under sh in the locally built test image (busybox
// 1.35's wget crashes with -T, hence timeout(1) around it), which is
// preloaded on every node and must never be pulled.
func testPod(name, node, script string) *v1.Pod {
	return placeOnSelectedNodes(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []v1.Container{{
				Name:            "main",
				Image:           env().TestImage,
				ImagePullPolicy: env().PullPolicy,
				Command:         []string{"sh", "-c", script},
			}},
		},
	})
}

func isReady(node v1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
