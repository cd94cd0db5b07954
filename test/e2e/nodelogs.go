package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"
)

// nodeLogs is one node log query through the API server's node proxy, as a
// user would send it. It returns the HTTP status and the body.
func nodeLogs(ctx context.Context, client kubernetes.Interface, node string, query url.Values) (int, string) {
	req := client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/logs/")
	for k, vs := range query {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	body, err := req.DoRaw(ctx)
	if err == nil {
		return 200, string(body)
	}
	// client-go turns any non-2xx answer into an API status error that
	// keeps the code; the body is the kubelet's (or the API server's) text.
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		framework.Failf("node log query %v on %s: %v", query, node, err)
	}
	return int(status.Status().Code), string(body)
}

// journalLines runs a transient unit on the node that writes lines to the
// journal under that unit, and returns once the unit has finished.
func journalLines(ctx context.Context, node, unit string, lines ...string) {
	script := ""
	for _, l := range lines {
		script += fmt.Sprintf("echo '%s'; ", l)
	}
	// --description keeps the command line (and so the text) out of
	// systemd's own "Started" line, which journalctl -u also shows.
	nodeExec(ctx, node, "systemd-run", "--wait", "--collect", "--quiet", "--unit", unit, "--description", "kubenext e2e log lines", "sh", "-c", script)
}

// markerLines are the lines of a body that carry the test's marker text.
func markerLines(body, marker string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, marker) {
			out = append(out, l[strings.Index(l, marker):])
		}
	}
	return out
}

// waitForNextSecond returns once the wall clock has passed into a second
// after t: journalctl's --since and --until work in whole seconds.
func waitForNextSecond(ctx context.Context, t time.Time) time.Time {
	boundary := t.Truncate(time.Second).Add(time.Second)
	gomega.Eventually(ctx, func() bool { return time.Now().After(boundary) }).WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(gomega.BeTrue())
	return boundary
}

var _ = ginkgo.Describe("Node log viewer", framework.WithFeatureGate(features.NodeLogQuery), func() {
	f := framework.NewDefaultFramework("nodelogs")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	var node string
	ginkgo.BeforeEach(func(ctx context.Context) {
		node = nodeWithKeystoneGate(ctx, f, true) // any worker does; this one is known to be Ready
	})

	ginkgo.It("returns the kubelet's journal lines, tailLines of them", func(ctx context.Context) {
		status, body := nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {"kubelet"}, "tailLines": {"3"}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
		gomega.Expect(lines).To(gomega.HaveLen(3), body)
		for _, l := range lines {
			gomega.Expect(l).To(gomega.MatchRegexp(`^\w{3} +\d+ [\d:.]+ %s kubelet\[\d+\]: `, node))
		}
	})

	ginkgo.It("returns a file under /var/log", func(ctx context.Context) {
		want, err := nodeOutput(ctx, node, "cat", "/var/log/dpkg.log")
		framework.ExpectNoError(err, "read /var/log/dpkg.log on %s", node)
		status, body := nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {"dpkg.log"}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		gomega.Expect(body).To(gomega.Equal(string(want)))
	})

	ginkgo.It("filters a unit's lines by pattern, by tailLines, and to a sinceTime/untilTime window", func(ctx context.Context) {
		unit := "kubenext-e2e-" + rand.String(6)
		marker := "kubenext-e2e-line"
		journalLines(ctx, node, unit, marker+" batch=1 alpha", marker+" batch=1 beta")
		since := waitForNextSecond(ctx, time.Now())
		journalLines(ctx, node, unit, marker+" batch=2 alpha", marker+" batch=2 beta")
		until := waitForNextSecond(ctx, time.Now())
		waitForNextSecond(ctx, until) // batch 3 lands a whole second after the window
		journalLines(ctx, node, unit, marker+" batch=3 alpha", marker+" batch=3 beta")

		status, body := nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {unit}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		gomega.Expect(markerLines(body, marker)).To(gomega.HaveLen(6), body)

		ginkgo.By("pattern")
		status, body = nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {unit}, "pattern": {"batch=[13] alpha$"}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		gomega.Expect(markerLines(body, marker)).To(gomega.Equal([]string{marker + " batch=1 alpha", marker + " batch=3 alpha"}), body)

		ginkgo.By("pattern and tailLines")
		status, body = nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {unit}, "pattern": {marker}, "tailLines": {"1"}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		gomega.Expect(markerLines(body, marker)).To(gomega.Equal([]string{marker + " batch=3 beta"}), body)

		ginkgo.By("a sinceTime/untilTime window")
		status, body = nodeLogs(ctx, f.ClientSet, node, url.Values{"query": {unit},
			"sinceTime": {since.UTC().Format(time.RFC3339)}, "untilTime": {until.UTC().Format(time.RFC3339)}})
		gomega.Expect(status).To(gomega.Equal(200), body)
		gomega.Expect(markerLines(body, marker)).To(gomega.Equal([]string{marker + " batch=2 alpha", marker + " batch=2 beta"}), body)
	})

	ginkgo.It("refuses hostile queries with 400 and runs nothing", func(ctx context.Context) {
		// Each would write a marker file if any shell ever saw it.
		marker := "kubenext-pwned-" + rand.String(6)
		hostile := []struct {
			what  string
			query url.Values
			says  string
		}{
			{"path traversal", url.Values{"query": {"../../etc/shadow"}}, "path escapes from parent"},
			{"absolute path out of /var/log", url.Values{"query": {"/../../etc/shadow"}}, "path escapes from parent"},
			{"shell ; in a unit name", url.Values{"query": {"kubelet;touch${IFS}" + marker}}, "unsupported characters"},
			{"command substitution in a unit name", url.Values{"query": {"$(touch${IFS}" + marker + ")"}}, "unsupported characters"},
			{"backquotes in a unit name", url.Values{"query": {"kubelet`touch${IFS}" + marker + "`"}}, "unsupported characters"},
			{"pipe in a unit name", url.Values{"query": {"kubelet|touch${IFS}" + marker}}, "unsupported characters"},
			{"negative tailLines", url.Values{"query": {"kubelet"}, "tailLines": {"-1"}}, "must be between 0 and 100000"},
			{"tailLines above the limit", url.Values{"query": {"kubelet"}, "tailLines": {"100001"}}, "must be between 0 and 100000"},
			{"tailLines not a number", url.Values{"query": {"kubelet"}, "tailLines": {"ten"}}, "tailLines"},
			{"bad regexp", url.Values{"query": {"kubelet"}, "pattern": {"(unclosed"}}, "error parsing regexp"},
			{"five services", url.Values{"query": {"kubelet", "containerd", "systemd-journald", "dbus", "ssh"}}, "must have at most 4 items"},
			{"bad sinceTime", url.Values{"query": {"kubelet"}, "sinceTime": {"yesterday"}}, "invalid time format"},
		}
		for _, h := range hostile {
			status, body := nodeLogs(ctx, f.ClientSet, node, h.query)
			gomega.Expect(status).To(gomega.Equal(400), "%s (%v): %s", h.what, h.query, body)
			gomega.Expect(body).To(gomega.ContainSubstring(h.says), "%s: the refusal names the problem", h.what)
		}
		// The kubelet's working directory is /; look there and in /var/log.
		out := nodeExec(ctx, node, "find", "/", "/var/log", "-maxdepth", "1", "-name", marker)
		gomega.Expect(strings.TrimSpace(out)).To(gomega.BeEmpty(), "a hostile query ran a command")
	})

	ginkgo.It("answers 403 to a user without nodes/proxy", func(ctx context.Context) {
		user := "e2e-nodelogs-" + rand.String(5)
		// The user may read nodes, so only nodes/proxy is missing.
		role, err := f.ClientSet.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list"}}},
		}, metav1.CreateOptions{})
		framework.ExpectNoError(err)
		ginkgo.DeferCleanup(framework.IgnoreNotFound(f.ClientSet.RbacV1().ClusterRoles().Delete), role.Name, metav1.DeleteOptions{})
		binding, err := f.ClientSet.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}, metav1.CreateOptions{})
		framework.ExpectNoError(err)
		ginkgo.DeferCleanup(framework.IgnoreNotFound(f.ClientSet.RbacV1().ClusterRoleBindings().Delete), binding.Name, metav1.DeleteOptions{})

		cfg := rest.CopyConfig(f.ClientConfig())
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		client, err := kubernetes.NewForConfig(cfg)
		framework.ExpectNoError(err)
		// RBAC bindings take effect asynchronously: reading the node
		// proves this one has, so the 403 below is about nodes/proxy.
		gomega.Eventually(ctx, func(ctx context.Context) error {
			_, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			return err
		}).WithTimeout(30 * time.Second).Should(gomega.Succeed())
		status, body := nodeLogs(ctx, client, node, url.Values{"query": {"kubelet"}, "tailLines": {"1"}})
		gomega.Expect(status).To(gomega.Equal(403), body)
		gomega.Expect(body).To(gomega.ContainSubstring("nodes/proxy"))
		_, err = client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/logs/").Param("query", "kubelet").DoRaw(ctx)
		gomega.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrueBecause("got %v", err))
	})
})
